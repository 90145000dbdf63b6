// Parser for packetdrill scripts into the typed AST of ast.ts: header options, event times, TCP
// packet lines, system call lines and skipped shell/python events. Never throws on any input:
// problems come back as errors with line, column and a message, and parsing resumes at the next line.

import type {
  EventTime,
  Expr,
  IpInfo,
  ParseError,
  ParseResult,
  Pos,
  ScriptEvent,
  ScriptOption,
  ScriptTcpOption,
  SyscallEvent,
  TcpPacketSpec,
} from './ast.js';
import { lex, type Token } from './lexer.js';
import { TcpFlag } from '../wire/tcp.js';

/** Internal: aborts the current event; caught in parseScript, never escapes. */
class Fail {
  constructor(readonly error: ParseError | null) {}
}

const U16 = 0xffff;
const U32 = 0xffffffff;

/** Script flag letters and their header bits; the string order is packetdrill's print order. */
const FLAG_LETTERS: readonly (readonly [string, number])[] = [
  ['F', TcpFlag.FIN],
  ['S', TcpFlag.SYN],
  ['R', TcpFlag.RST],
  ['P', TcpFlag.PSH],
  ['.', TcpFlag.ACK],
  ['U', TcpFlag.URG],
  ['E', TcpFlag.ECE],
  ['W', TcpFlag.CWR],
];

/** TcpFlag bits as a packetdrill flag string ("S.", "FP.", "" for none). */
export function flagsToScript(bits: number): string {
  let s = '';
  for (const [letter, bit] of FLAG_LETTERS) if (bits & bit) s += letter;
  return s;
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of script';
  if (t.kind === 'shell') return '`shell command`';
  if (t.kind === 'python') return '%{ python block }%';
  const text = t.text.length > 24 ? `${t.text.slice(0, 24)}...` : t.text;
  return `'${text}'`;
}

/** Parse decimal seconds ("0", "1.25", "0.0005") into exact integer microseconds, or null. */
function secondsToUsecs(text: string): number | null {
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? '' : text.slice(dot + 1);
  const usecs = Number(whole) * 1_000_000 + Number((frac + '000000').slice(0, 6));
  return Number.isSafeInteger(usecs) ? usecs : null;
}

class Parser {
  private p = 0;
  readonly errors: ParseError[] = [];

  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  private get tok(): Token {
    return this.toks[this.p]!;
  }
  private peek(k: number): Token {
    return this.toks[Math.min(this.p + k, this.toks.length - 1)]!;
  }
  private advance(): Token {
    const t = this.tok;
    if (t.kind !== 'eof') this.p++;
    return t;
  }
  private isPunct(ch: string, t: Token = this.tok): boolean {
    return t.kind === 'punct' && t.text === ch;
  }
  private isWord(w: string, t: Token = this.tok): boolean {
    return t.kind === 'word' && t.text === w;
  }
  private fail(message: string, at: Pos = this.tok): never {
    // A 'bad' token was already reported by the lexer; do not report it twice.
    if (this.tok.kind === 'bad' && at === this.tok) throw new Fail(null);
    throw new Fail({ line: at.line, col: at.col, message });
  }
  private expectPunct(ch: string, context: string): Token {
    if (!this.isPunct(ch)) this.fail(`expected '${ch}' ${context} but found ${describe(this.tok)}`);
    return this.advance();
  }
  private expectInt(what: string, max: number): number {
    const t = this.tok;
    if (t.kind !== 'int' && t.kind !== 'hex') this.fail(`expected ${what} (a number) but found ${describe(t)}`);
    this.advance();
    const v = Number(t.text);
    if (!Number.isSafeInteger(v) || v > max) this.fail(`${what} out of range: ${t.text} (max ${max})`, t);
    return v;
  }

  parseScript(): { options: ScriptOption[]; events: ScriptEvent[] } {
    const options: ScriptOption[] = [];
    const events: ScriptEvent[] = [];
    while (this.tok.kind !== 'eof') {
      const t = this.tok;
      try {
        if (t.kind === 'option') {
          this.advance();
          if (events.length > 0) {
            this.errors.push({ line: t.line, col: t.col, message: `option --${t.value} must come before the first event` });
          } else {
            options.push({ name: t.value, value: t.optValue, line: t.line, col: t.col });
          }
          continue;
        }
        if (!t.bol) this.fail(`unexpected ${describe(t)} after the end of the event`);
        events.push(this.parseEvent());
      } catch (e) {
        if (!(e instanceof Fail)) throw e;
        if (e.error !== null) this.errors.push(e.error);
        this.recover(t);
      }
    }
    return { options, events };
  }

  /** Skip to the first token of a later line that can start an event. */
  private recover(from: Token): void {
    if (this.tok === from) this.advance();
    for (;;) {
      const t = this.tok;
      if (t.kind === 'eof') return;
      if (t.bol && t.line > from.line) {
        if (t.kind === 'int' || t.kind === 'float' || t.kind === 'shell' || t.kind === 'python' || t.kind === 'option') return;
        if (this.isPunct('+', t) || this.isPunct('*', t)) return;
      }
      this.advance();
    }
  }

  private parseEvent(): ScriptEvent {
    const first = this.tok;
    if (first.kind === 'shell' || first.kind === 'python') {
      this.advance();
      return { kind: 'skip', what: first.kind, time: null, text: first.value, line: first.line, col: first.col };
    }
    const time = this.parseEventTime();
    const t = this.tok;
    let ev: ScriptEvent;
    if (t.kind === 'shell' || t.kind === 'python') {
      this.advance();
      ev = { kind: 'skip', what: t.kind, time, text: t.value, line: first.line, col: first.col };
    } else if (this.isPunct('<') || this.isPunct('>')) {
      const packet = this.parsePacket();
      ev = { kind: 'packet', time, packet, line: first.line, col: first.col };
    } else if (t.kind === 'word' || t.kind === 'ellipsis') {
      ev = this.parseSyscall(time, first);
    } else {
      this.fail(`expected a packet ('<' or '>'), a system call or a \`command\` after the event time, but found ${describe(t)}`);
    }
    const outboundPacket = ev.kind === 'packet' && ev.packet.direction === 'outbound';
    if (time.kind === 'any' && !outboundPacket) {
      this.fail('event time <star> can only be used with outbound packets', first);
    }
    if ((time.kind === 'absolute-range' || time.kind === 'relative-range') && !outboundPacket) {
      this.fail('event time range can only be used with outbound packets', first);
    }
    return ev;
  }

  private parseTime(): number {
    const t = this.tok;
    if (t.kind !== 'int' && t.kind !== 'float') this.fail(`expected a time in seconds but found ${describe(t)}`);
    this.advance();
    const usecs = secondsToUsecs(t.text);
    if (usecs === null) this.fail(`time out of range: ${t.text}`, t);
    return usecs;
  }

  private parseEventTime(): EventTime {
    const start = this.tok;
    if (this.isPunct('*')) {
      this.advance();
      return { kind: 'any' };
    }
    if (this.isPunct('+')) {
      this.advance();
      const usecs = this.parseTime();
      if (!this.isPunct('~')) return { kind: 'relative', usecs };
      this.advance();
      this.expectPunct('+', "after '~' in a relative time range (write +a~+b)");
      const endUsecs = this.parseTime();
      if (endUsecs < usecs) this.fail('time range is backwards', start);
      return { kind: 'relative-range', usecs, endUsecs };
    }
    if (start.kind !== 'int' && start.kind !== 'float') {
      this.fail(`expected an event time (0.100, +0.1, * or a~b) but found ${describe(start)}`);
    }
    const usecs = this.parseTime();
    if (!this.isPunct('~')) return { kind: 'absolute', usecs };
    this.advance();
    const endUsecs = this.parseTime();
    if (endUsecs < usecs) this.fail('time range is backwards', start);
    return { kind: 'absolute-range', usecs, endUsecs };
  }

  // ---- packets ----

  private parseIpInfo(): IpInfo | null {
    const open = this.tok;
    if (!this.isPunct('[') && !this.isPunct('(')) return null;
    const close = open.text === '[' ? ']' : ')';
    this.advance();
    let info: IpInfo = {};
    for (;;) {
      const w = this.tok;
      if (w.kind !== 'word') this.fail(`expected ect0, ect1, ce, noecn, ect01, tos, ttl or flowlabel but found ${describe(w)}`);
      this.advance();
      switch (w.text) {
        case 'ect0':
        case 'ect1':
        case 'ce':
        case 'noecn':
        case 'ect01':
          info = { ...info, ecn: w.text };
          break;
        case 'tos':
          info = { ...info, tos: this.expectInt('tos', 0xff) };
          break;
        case 'ttl':
          info = { ...info, ttl: this.expectInt('ttl', 0xff) };
          break;
        case 'flowlabel':
          info = { ...info, flowLabel: this.expectInt('flowlabel', 0xfffff) };
          break;
        default:
          this.fail(`unknown IP qualifier '${w.text}'`, w);
      }
      if (this.isPunct(',')) {
        this.advance();
        continue;
      }
      this.expectPunct(close, 'to close the IP qualifiers');
      return info;
    }
  }

  private parseFlags(): { flags: string; bits: number } {
    const t = this.tok;
    if (this.isPunct('.')) {
      this.advance();
      return { flags: '.', bits: TcpFlag.ACK };
    }
    if (this.isPunct('-')) {
      this.advance();
      return { flags: '', bits: 0 };
    }
    if (t.kind !== 'word') this.fail(`expected TCP flags (S . F P R U E W or -) but found ${describe(t)}`);
    this.advance();
    let letters = t.text;
    if (this.isPunct('.')) {
      this.advance();
      letters += '.';
    }
    let bits = 0;
    for (let k = 0; k < letters.length; k++) {
      const ch = letters[k]!;
      const entry = FLAG_LETTERS.find(([l]) => l === ch);
      if (entry === undefined) {
        if (t.text === 'udp' || t.text === 'icmp' || t.text === 'ipv4' || t.text === 'ipv6' || t.text === 'gre' || t.text === 'mpls') {
          this.fail(`${t.text} packets are not supported (only TCP)`, t);
        }
        this.fail(`unknown TCP flag '${ch}' in '${letters}' (flags are F S R P . U E W, or - for none)`, t);
      }
      if (bits & entry[1]) this.fail(`TCP flag '${ch}' repeated in '${letters}'`, t);
      bits |= entry[1];
    }
    return { flags: flagsToScript(bits), bits };
  }

  private parseTcpOption(): ScriptTcpOption {
    const w = this.tok;
    if (w.kind !== 'word') this.fail(`expected a TCP option (mss, nop, eol, wscale, sackOK, sack, TS) but found ${describe(w)}`);
    this.advance();
    switch (w.text) {
      case 'nop':
        return { kind: 'nop' };
      case 'eol':
        return { kind: 'eol' };
      case 'sackOK':
        return { kind: 'sackOK' };
      case 'mss':
        return { kind: 'mss', value: this.expectInt('mss value', U16) };
      case 'wscale':
        return { kind: 'wscale', value: this.expectInt('window scale shift count', 0xff) };
      case 'sack': {
        const blocks: { left: number; right: number }[] = [];
        do {
          const left = this.expectInt('TCP SACK left sequence number', U32);
          this.expectPunct(':', 'between SACK block edges');
          const right = this.expectInt('TCP SACK right sequence number', U32);
          blocks.push({ left, right });
        } while (this.tok.kind === 'int' || this.tok.kind === 'hex');
        if (blocks.length > 4) this.fail('TCP option list too long (more than 4 SACK blocks)', w);
        return { kind: 'sack', blocks };
      }
      case 'TS': {
        if (!this.isWord('val')) this.fail(`expected 'val' after TS but found ${describe(this.tok)}`);
        this.advance();
        const val = this.expectInt('ts val', U32);
        if (!this.isWord('ecr')) this.fail(`expected 'ecr' after the TS value but found ${describe(this.tok)}`);
        this.advance();
        const ecr = this.expectInt('ecr val', U32);
        return { kind: 'timestamp', val, ecr };
      }
      case 'FO':
      case 'FOEXP':
      case 'md5':
      case 'mpcapable':
      case 'dss':
        return this.fail(`TCP option '${w.text}' is not supported`, w);
      default:
        return this.fail(`unknown TCP option '${w.text}'`, w);
    }
  }

  private parsePacket(): TcpPacketSpec {
    const dirTok = this.advance();
    const direction = dirTok.text === '<' ? 'inbound' : 'outbound';
    const ip = this.parseIpInfo();
    let ports: { src: number; dst: number } | null = null;
    if ((this.tok.kind === 'int' || this.tok.kind === 'hex') && this.isPunct('>', this.peek(1))) {
      const src = this.expectInt('src port', U16);
      this.advance();
      ports = { src, dst: this.expectInt('dst port', U16) };
    }
    const { flags, bits } = this.parseFlags();
    const seqTok = this.tok;
    const seqStart = this.expectInt('TCP start sequence number', U32);
    this.expectPunct(':', 'in start:end(length)');
    const seqEnd = this.expectInt('TCP end sequence number', U32);
    this.expectPunct('(', 'in start:end(length)');
    const payloadLen = this.expectInt('TCP payload size', U16);
    this.expectPunct(')', 'in start:end(length)');
    if (seqEnd !== seqStart + payloadLen) this.fail('inconsistent TCP sequence numbers and payload size', seqTok);
    let ack: number | null = null;
    let window: number | null = null;
    let urgent: number | null = null;
    if (this.isWord('ack')) {
      this.advance();
      ack = this.expectInt('TCP ack sequence number', U32);
    }
    if (this.isWord('win')) {
      this.advance();
      window = this.expectInt('TCP window value', U16);
    }
    if (this.isWord('urg')) {
      this.advance();
      urgent = this.expectInt('urg_ptr value', U16);
    }
    let options: ScriptTcpOption[] | null = [];
    if (this.isPunct('<')) {
      const lt = this.advance();
      if (this.tok.kind === 'ellipsis') {
        this.advance();
        this.expectPunct('>', 'after <...');
        if (direction === 'inbound') this.fail('<...> for TCP options can only be used with outbound packets', lt);
        options = null;
      } else {
        for (;;) {
          options.push(this.parseTcpOption());
          if (this.isPunct(',')) {
            this.advance();
            continue;
          }
          this.expectPunct('>', 'to close the TCP option list');
          break;
        }
      }
    }
    if (this.isPunct('{')) this.fail('packet fuzzing {...} is not supported');
    if (direction === 'inbound' && window === null) this.fail('TCP window must be specified for inbound packets (win N)', dirTok);
    const last = this.toks[this.p - 1]!;
    return {
      direction,
      flags,
      flagBits: bits,
      seqStart,
      seqEnd,
      payloadLen,
      ack,
      window,
      urgent,
      options,
      ip,
      ports,
      text: this.src.slice(dirTok.start, last.end),
    };
  }

  // ---- system calls ----

  private parseSyscall(time: EventTime, first: Token): SyscallEvent {
    let endUsecs: number | null = null;
    if (this.tok.kind === 'ellipsis') {
      this.advance();
      endUsecs = this.parseTime();
      if (time.kind === 'relative' || time.kind === 'absolute') {
        if (endUsecs < time.usecs) this.fail('blocking system call ends before it starts', first);
      }
    }
    const nameTok = this.tok;
    if (nameTok.kind !== 'word') this.fail(`expected a system call name but found ${describe(nameTok)}`);
    this.advance();
    this.expectPunct('(', `after system call name '${nameTok.text}'`);
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.parseExpr());
        if (this.isPunct(',')) {
          this.advance();
          continue;
        }
        this.expectPunct(')', `to close the arguments of ${nameTok.text}()`);
        break;
      }
    } else {
      this.advance();
    }
    this.expectPunct('=', `and a result after ${nameTok.text}(...)`);
    const result = this.parseExpr();
    let errno: string | null = null;
    let note: string | null = null;
    if (this.tok.kind === 'word' && !this.tok.bol) {
      errno = this.advance().text;
    }
    if (this.isPunct('(') && !this.tok.bol) note = this.parseNote();
    const last = this.toks[this.p - 1]!;
    return {
      kind: 'syscall',
      time,
      endUsecs,
      name: nameTok.text,
      args,
      result,
      errno,
      note,
      text: this.src.slice(first.start, last.end),
      line: first.line,
      col: first.col,
    };
  }

  /** `(free text)` after a result: kept verbatim. */
  private parseNote(): string {
    const open = this.advance();
    let depth = 1;
    for (;;) {
      const t = this.tok;
      if (t.kind === 'eof') this.fail("unterminated '(' note after the system call result", open);
      this.advance();
      if (this.isPunct('(', t)) depth++;
      else if (this.isPunct(')', t) && --depth === 0) return this.src.slice(open.end, t.start).trim();
    }
  }

  private parseExpr(depth = 0): Expr {
    if (depth > 64) this.fail('expression nested too deeply');
    let left = this.parsePrimary(depth);
    while (this.isPunct('|')) {
      this.advance();
      const right = this.parsePrimary(depth);
      left = { kind: 'or', left, right };
    }
    return left;
  }

  private parseList(close: string, depth: number): Expr[] {
    const items: Expr[] = [];
    if (this.isPunct(close)) {
      this.advance();
      return items;
    }
    for (;;) {
      items.push(this.parseExpr(depth + 1));
      if (this.isPunct(',')) {
        this.advance();
        continue;
      }
      this.expectPunct(close, close === ']' ? 'to close the array' : close === '}' ? 'to close the struct' : 'to close the arguments');
      return items;
    }
  }

  private parsePrimary(depth: number): Expr {
    const t = this.tok;
    switch (t.kind) {
      case 'ellipsis':
        this.advance();
        return { kind: 'ellipsis' };
      case 'int':
      case 'hex': {
        this.advance();
        const value = Number(t.text);
        if (!Number.isSafeInteger(value)) this.fail(`integer out of range: ${t.text}`, t);
        return { kind: 'int', value, hex: t.kind === 'hex' };
      }
      case 'string': {
        let value = '';
        while (this.tok.kind === 'string') value += this.advance().value;
        let truncated = false;
        if (this.tok.kind === 'ellipsis') {
          this.advance();
          truncated = true;
        }
        return { kind: 'string', value, truncated };
      }
      case 'word': {
        this.advance();
        let args: Expr[] | null = null;
        if (this.isPunct('(')) {
          this.advance();
          args = this.parseList(')', depth);
        }
        if (this.isPunct('=')) {
          this.advance();
          return { kind: 'field', name: t.text, args, value: this.parseExpr(depth + 1) };
        }
        return args === null ? { kind: 'word', name: t.text } : { kind: 'call', name: t.text, args };
      }
      case 'punct':
        if (t.text === '-') {
          const n = this.peek(1);
          if (n.kind === 'int' || n.kind === 'hex') {
            this.advance();
            this.advance();
            const value = -Number(n.text);
            if (!Number.isSafeInteger(value)) this.fail(`integer out of range: -${n.text}`, n);
            return { kind: 'int', value, hex: n.kind === 'hex' };
          }
        }
        if (t.text === '[') {
          this.advance();
          return { kind: 'list', items: this.parseList(']', depth) };
        }
        if (t.text === '{') {
          this.advance();
          return { kind: 'struct', items: this.parseList('}', depth) };
        }
        break;
      default:
        break;
    }
    return this.fail(`expected an expression but found ${describe(t)}`);
  }
}

/** Parse a packetdrill script. Never throws; `ok` is false when any error was found. */
export function parseScript(src: string): ParseResult {
  let lexed;
  try {
    lexed = lex(src);
  } catch (e) {
    // Defensive: the lexer is written not to throw; keep the promise anyway.
    return { ok: false, script: { options: [], events: [] }, errors: [{ line: 1, col: 1, message: `internal lexer error: ${String(e)}` }] };
  }
  const parser = new Parser(src, lexed.tokens);
  let body: { options: ScriptOption[]; events: ScriptEvent[] };
  try {
    body = parser.parseScript();
  } catch (e) {
    return {
      ok: false,
      script: { options: [], events: [] },
      errors: [...lexed.errors, { line: 1, col: 1, message: `internal parser error: ${String(e)}` }],
    };
  }
  const errors = [...lexed.errors, ...parser.errors].sort((a, b) => a.line - b.line || a.col - b.col);
  if (errors.length === 0) return { ok: true, script: body, errors: [] };
  return { ok: false, script: body, errors };
}

/** `file:line:col: error: message`, as compilers print it. */
export function formatParseError(file: string, e: ParseError): string {
  return `${file}:${e.line}:${e.col}: error: ${e.message}`;
}
