// Tokenizer for packetdrill scripts: numbers, words, strings, punctuation, `...`, `--option` header
// lines, backtick shell commands and `%{ }%` python blocks; `//` and `/* */` comments are dropped.
// It never throws: unreadable input becomes 'bad' tokens plus errors with line and column.

import type { ParseError } from './ast.js';

export type TokenKind =
  | 'int' // 123
  | 'hex' // 0x1f
  | 'float' // 0.100
  | 'word' // socket, SOCK_STREAM, S, sackOK
  | 'string' // "text" (value is unescaped)
  | 'shell' // `cmd` (value is the command)
  | 'python' // %{ code }% (value is the code)
  | 'option' // --name=value at the start of a line (value: name; optValue: value or null)
  | 'ellipsis' // ...
  | 'punct' // one of < > ( ) [ ] { } , : = | + * ~ . - ; !
  | 'bad' // a character or construct that cannot start a token
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The source text of the token. */
  readonly text: string;
  /** Decoded content for string / shell / python / option tokens; else equal to text. */
  readonly value: string;
  /** For option tokens: the text after `=`, or null for a bare `--flag`. */
  readonly optValue: string | null;
  readonly line: number;
  readonly col: number;
  /** Offsets into the source: [start, end). */
  readonly start: number;
  readonly end: number;
  /** True when this is the first token on its source line. */
  readonly bol: boolean;
}

export interface LexResult {
  readonly tokens: Token[];
  readonly errors: ParseError[];
}

const PUNCT = '<>()[]{},:=|+*~.-;!';

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isWordChar(c: number): boolean {
  return isWordStart(c) || isDigit(c);
}

/** Split a script into tokens. The last token is always 'eof'. */
export function lex(src: string): LexResult {
  const tokens: Token[] = [];
  const errors: ParseError[] = [];
  const n = src.length;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let lastTokenLine = 0;

  const push = (kind: TokenKind, start: number, end: number, sLine: number, sCol: number, value?: string, optValue?: string | null): void => {
    const text = src.slice(start, end);
    tokens.push({
      kind,
      text,
      value: value ?? text,
      optValue: optValue ?? null,
      line: sLine,
      col: sCol,
      start,
      end,
      bol: sLine !== lastTokenLine,
    });
    lastTokenLine = line; // a multi-line token ends on the current line
  };
  /** Advance i to `to`, counting newlines. */
  const advanceTo = (to: number): void => {
    for (; i < to; i++) {
      if (src.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
  };

  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
      i++;
      continue;
    }
    const sLine = line;
    const sCol = i - lineStart + 1;
    const start = i;
    const c1 = i + 1 < n ? src.charCodeAt(i + 1) : -1;
    // Comments.
    if (c === 47 /* / */ && c1 === 47) {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      continue;
    }
    if (c === 47 && c1 === 42 /* * */) {
      const close = src.indexOf('*/', i + 2);
      if (close < 0) {
        errors.push({ line: sLine, col: sCol, message: 'unterminated /* comment' });
        advanceTo(n);
      } else {
        advanceTo(close + 2);
      }
      continue;
    }
    // `--name=value` header option: only as the first thing on a line.
    if (c === 45 && c1 === 45 && sLine !== lastTokenLine) {
      let j = i + 2;
      while (j < n && (isWordChar(src.charCodeAt(j)) || src.charCodeAt(j) === 45)) j++;
      const name = src.slice(i + 2, j);
      let value: string | null = null;
      let end = j;
      if (j < n && src.charCodeAt(j) === 61 /* = */) {
        let nl = src.indexOf('\n', j);
        if (nl < 0) nl = n;
        let raw = src.slice(j + 1, nl);
        const cmt = raw.indexOf('//');
        if (cmt >= 0 && !raw.trimStart().startsWith('"')) raw = raw.slice(0, cmt);
        const trimmed = raw.trim();
        value = trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
        end = j + 1 + raw.trimEnd().length;
      }
      if (name.length === 0) {
        errors.push({ line: sLine, col: sCol, message: 'option line "--" has no name' });
      }
      i = end;
      push('option', start, end, sLine, sCol, name, value);
      continue;
    }
    // Numbers: 12, 0x1f, 0.100, .1 (a dot must be followed by a digit, so `0...0.2` is 0, ..., 0.2).
    if (c === 46 && isDigit(c1)) {
      let j = i + 1;
      while (j < n && isDigit(src.charCodeAt(j))) j++;
      i = j;
      push('float', start, j, sLine, sCol);
      continue;
    }
    if (isDigit(c)) {
      if (c === 48 && (c1 === 120 || c1 === 88) && i + 2 < n && isHex(src.charCodeAt(i + 2))) {
        let j = i + 2;
        while (j < n && isHex(src.charCodeAt(j))) j++;
        i = j;
        push('hex', start, j, sLine, sCol);
        continue;
      }
      let j = i;
      while (j < n && isDigit(src.charCodeAt(j))) j++;
      let kind: TokenKind = 'int';
      if (j + 1 < n && src.charCodeAt(j) === 46 && isDigit(src.charCodeAt(j + 1))) {
        j++;
        while (j < n && isDigit(src.charCodeAt(j))) j++;
        kind = 'float';
      }
      i = j;
      push(kind, start, j, sLine, sCol);
      continue;
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordChar(src.charCodeAt(j))) j++;
      i = j;
      push('word', start, j, sLine, sCol);
      continue;
    }
    if (c === 34 /* " */) {
      let j = i + 1;
      let out = '';
      let closed = false;
      while (j < n) {
        const d = src.charCodeAt(j);
        if (d === 34) {
          closed = true;
          j++;
          break;
        }
        if (d === 10) break;
        if (d === 92 /* \ */ && j + 1 < n) {
          const e = src[j + 1]!;
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '0' ? '\0' : e;
          j += 2;
          continue;
        }
        out += src[j]!;
        j++;
      }
      if (!closed) {
        errors.push({ line: sLine, col: sCol, message: 'unterminated string' });
        i = j;
        push('bad', start, j, sLine, sCol);
        continue;
      }
      i = j;
      push('string', start, j, sLine, sCol, out);
      continue;
    }
    if (c === 96 /* ` */) {
      const close = src.indexOf('`', i + 1);
      if (close < 0) {
        errors.push({ line: sLine, col: sCol, message: 'unterminated `shell command`' });
        advanceTo(n);
        push('bad', start, n, sLine, sCol);
        continue;
      }
      const value = src.slice(i + 1, close);
      advanceTo(close + 1);
      push('shell', start, close + 1, sLine, sCol, value);
      continue;
    }
    if (c === 37 /* % */ && c1 === 123 /* { */) {
      const close = src.indexOf('}%', i + 2);
      if (close < 0) {
        errors.push({ line: sLine, col: sCol, message: 'unterminated %{ python block (missing }%)' });
        advanceTo(n);
        push('bad', start, n, sLine, sCol);
        continue;
      }
      const value = src.slice(i + 2, close);
      advanceTo(close + 2);
      push('python', start, close + 2, sLine, sCol, value);
      continue;
    }
    if (c === 46 && c1 === 46 && i + 2 < n && src.charCodeAt(i + 2) === 46) {
      i += 3;
      push('ellipsis', start, i, sLine, sCol);
      continue;
    }
    if (PUNCT.includes(src[i]!)) {
      i++;
      push('punct', start, i, sLine, sCol);
      continue;
    }
    // Anything else: one bad code point.
    const cp = src.codePointAt(i) ?? c;
    const width = cp > 0xffff ? 2 : 1;
    errors.push({ line: sLine, col: sCol, message: `unexpected character ${JSON.stringify(String.fromCodePoint(cp))}` });
    i += width;
    push('bad', start, i, sLine, sCol);
  }
  tokens.push({
    kind: 'eof',
    text: '',
    value: '',
    optValue: null,
    line,
    col: i - lineStart + 1,
    start: n,
    end: n,
    bol: true,
  });
  return { tokens, errors };
}
