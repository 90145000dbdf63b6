// packetdrill's `%{ }%` blocks as upstream scripts use them: `assert` statements over tcp_info
// fields (`assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd`). packetdrill runs them in Python; synack
// evaluates this common form itself with a small expression language (integers, tcpi_* names and
// TCP_CA_* constants, + - * / // %, comparisons, and/or/not, parentheses), never eval. Any other
// statement, or a field synack does not model, makes the block unsupported with the reason.

import type { TcpInfo } from '../tcp/info.js';

/** Thrown for a block synack cannot evaluate; the runner reports the script as unsupported. */
export class PythonUnsupported extends Error {}

/** Values of names: a number, or undefined when the name is not modelled. */
export type Lookup = (name: string) => number | undefined;

export interface AssertFailure {
  /** The assertion as written. */
  readonly text: string;
  /** The message expression's value (or its text when it cannot be evaluated). */
  readonly message: string;
}

/** tcp_info's tcpi_ca_state values (linux/tcp.h, enum tcp_ca_state). */
const CONSTANTS: Readonly<Record<string, number>> = {
  TCP_CA_Open: 0,
  TCP_CA_Disorder: 1,
  TCP_CA_CWR: 2,
  TCP_CA_Recovery: 3,
  TCP_CA_Loss: 4,
  TCP_INFINITE_SSTHRESH: 0x7fffffff,
  True: 1,
  False: 0,
};

type Tok = { k: 'num'; v: number } | { k: 'name'; v: string } | { k: 'op'; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(0[xX][0-9a-fA-F]+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\/\/|==|!=|<=|>=|[-+*/%<>(),]))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (m === null) throw new PythonUnsupported(`cannot read \`${src.slice(i).trim()}\``);
    if (m[1] !== undefined) out.push({ k: 'num', v: Number(m[1]) }); // Number() reads 0x too
    else if (m[2] !== undefined) out.push({ k: 'name', v: m[2] });
    else out.push({ k: 'op', v: m[3]! });
    i = re.lastIndex;
  }
  return out;
}

/** A recursive-descent evaluator over one statement's tokens. */
class Expr {
  #i = 0;
  constructor(
    private readonly toks: readonly Tok[],
    private readonly lookup: Lookup,
  ) {}

  get done(): boolean {
    return this.#i >= this.toks.length;
  }
  #peek(): Tok | undefined {
    return this.toks[this.#i];
  }
  #isOp(v: string): boolean {
    const t = this.#peek();
    return t !== undefined && (t.k === 'op' || t.k === 'name') && t.v === v;
  }
  eat(v: string): boolean {
    if (!this.#isOp(v)) return false;
    this.#i++;
    return true;
  }

  expr(): number {
    let v = this.#and();
    while (this.eat('or')) v = this.#and() || v ? 1 : 0;
    return v;
  }
  #and(): number {
    let v = this.#not();
    while (this.eat('and')) {
      const r = this.#not();
      v = v && r ? 1 : 0;
    }
    return v;
  }
  #not(): number {
    if (this.eat('not')) return this.#not() ? 0 : 1;
    return this.#cmp();
  }
  #cmp(): number {
    let left = this.#sum();
    let result = 1;
    let any = false;
    for (;;) {
      const t = this.#peek();
      if (t === undefined || t.k !== 'op' || !['==', '!=', '<', '<=', '>', '>='].includes(t.v)) break;
      this.#i++;
      const right = this.#sum();
      const ok = t.v === '==' ? left === right : t.v === '!=' ? left !== right : t.v === '<' ? left < right : t.v === '<=' ? left <= right : t.v === '>' ? left > right : left >= right;
      result = result && ok ? 1 : 0;
      any = true;
      left = right;
    }
    return any ? result : left;
  }
  #sum(): number {
    let v = this.#term();
    for (;;) {
      if (this.eat('+')) v += this.#term();
      else if (this.eat('-')) v -= this.#term();
      else return v;
    }
  }
  #term(): number {
    let v = this.#unary();
    for (;;) {
      if (this.eat('*')) v *= this.#unary();
      else if (this.eat('//')) v = Math.floor(v / this.#nonzero(this.#unary()));
      else if (this.eat('/')) v = v / this.#nonzero(this.#unary());
      else if (this.eat('%')) {
        const d = this.#nonzero(this.#unary());
        v = v - d * Math.floor(v / d);
      } else return v;
    }
  }
  #nonzero(d: number): number {
    if (d === 0) throw new PythonUnsupported('division by zero');
    return d;
  }
  #unary(): number {
    if (this.eat('-')) return -this.#unary();
    if (this.eat('+')) return this.#unary();
    const t = this.#peek();
    if (t === undefined) throw new PythonUnsupported('expression ends early');
    this.#i++;
    if (t.k === 'num') return t.v;
    if (t.k === 'op' && t.v === '(') {
      const v = this.expr();
      if (!this.eat(')')) throw new PythonUnsupported('missing )');
      return v;
    }
    if (t.k === 'name') {
      const c = CONSTANTS[t.v];
      if (c !== undefined) return c;
      if (this.#isOp('(')) throw new PythonUnsupported(`function calls (${t.v}(...)) are not evaluated`);
      const v = this.lookup(t.v);
      if (v === undefined) throw new PythonUnsupported(`${t.v} is not modelled by synack`);
      return v;
    }
    throw new PythonUnsupported(`unexpected \`${t.v}\``);
  }
}

/** Split `text` at the first `sep` outside parentheses and quotes (-1: none). */
function topLevel(text: string, sep: string): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === sep && depth === 0) return i;
  }
  return -1;
}

/** Evaluate one whole expression; what is left over is an error. */
function evaluate(text: string, lookup: Lookup): number {
  const e = new Expr(tokenize(text), lookup);
  const v = e.expr();
  if (!e.done) throw new PythonUnsupported(`cannot read \`${text.trim()}\``);
  return v;
}

/**
 * Evaluate a `%{ }%` block: statements are `assert EXPR[, MESSAGE]` and `NAME = EXPR`, one per line
 * or separated by `;`, with `\` continuations and `#` comments. Returns the first failing
 * assertion, or null when all hold. Throws PythonUnsupported.
 */
export function runPythonBlock(code: string, lookup: Lookup): AssertFailure | null {
  const vars = new Map<string, number>();
  const look: Lookup = (name) => vars.get(name) ?? lookup(name);
  const statements = code
    .replace(/\\\n/g, ' ')
    .split('\n')
    .flatMap((l) => l.replace(/#.*$/, '').split(';'))
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const st of statements) {
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.+)$/.exec(st);
    if (assign !== null) {
      vars.set(assign[1]!, evaluate(assign[2]!, look));
      continue;
    }
    const m = /^assert\s+(.*)$/.exec(st);
    if (m === null) throw new PythonUnsupported(`only assert statements and assignments are evaluated, not \`${st}\``);
    const comma = topLevel(m[1]!, ',');
    const cond = comma < 0 ? m[1]! : m[1]!.slice(0, comma);
    if (evaluate(cond, look)) continue;
    // The message is for people; show its value when it is a plain expression.
    let message = '';
    if (comma >= 0) {
      const msg = m[1]!.slice(comma + 1).trim();
      try {
        message = String(evaluate(msg, look));
      } catch {
        message = msg;
      }
    }
    return { text: st, message };
  }
  return null;
}

/** tcpi_ca_state's numbers (enum tcp_ca_state). */
const CA_STATES: Readonly<Record<TcpInfo['caState'], number>> = { open: 0, disorder: 1, recovery: 3, loss: 4 };

/** Linux's TCP_INFINITE_SSTHRESH, what tcpi_snd_ssthresh reads before the first loss. */
const INFINITE_SSTHRESH = 0x7fffffff;

/**
 * The tcp_info fields synack models, from a connection's stats (packets where Linux counts
 * packets, microseconds where it counts time), the recovery state among them (tcpi_ca_state,
 * tcpi_sacked, tcpi_lost, tcpi_retrans, tcpi_reordering, tcpi_probes, tcpi_backoff). Others are
 * not modelled: undefined.
 */
export function tcpInfoLookup(st: TcpInfo): Lookup {
  const mss = Math.max(1, st.sndMss);
  const fields: Record<string, number> = {
    tcpi_snd_cwnd: Math.floor(st.cwnd / mss),
    tcpi_snd_ssthresh: st.ssthresh === Infinity ? INFINITE_SSTHRESH : Math.floor(st.ssthresh / mss),
    tcpi_snd_mss: st.sndMss,
    tcpi_advmss: st.rcvMss,
    tcpi_unacked: Math.ceil(st.unacked / mss),
    tcpi_rtt: Math.round(st.rtt * 1000),
    tcpi_rttvar: Math.round(st.rttvar * 1000),
    tcpi_rto: Math.round(st.rto * 1000),
    tcpi_total_retrans: st.retransSegs,
    tcpi_bytes_acked: st.bytesAcked,
    tcpi_bytes_received: st.bytesReceived,
    tcpi_segs_out: st.segsOut,
    tcpi_segs_in: st.segsIn,
    tcpi_ca_state: CA_STATES[st.caState],
    tcpi_sacked: st.sackedSegs,
    tcpi_lost: st.lostSegs,
    tcpi_retrans: st.retransOut,
    tcpi_reordering: st.reordering,
    tcpi_probes: st.probes,
    tcpi_backoff: st.backoff,
  };
  return (name) => fields[name];
}
