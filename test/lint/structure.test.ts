// Structure rules the code keeps (docs/architecture.md): no import cycle inside src/tcp/ or
// src/stack/ (type-only imports count: a cycle of types is the same tangle), and no source file
// over 800 lines. Reads the source tree; no build needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');
const MAX_LINES = 800;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative modules a file imports or re-exports (`import ... from './x.js'`, `export ... from`), as absolute .ts paths. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms;
  for (const m of text.matchAll(re)) out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

/** One cycle in the graph restricted to `nodes`, as a list of files, or null. */
export function findCycle(graph: Map<string, string[]>, nodes: Set<string>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 1);
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      if (!nodes.has(m)) continue;
      const s = state.get(m);
      if (s === 1) return [...path.slice(path.indexOf(m)), m];
      if (s === undefined) {
        const c = visit(m);
        if (c !== null) return c;
      }
    }
    path.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of nodes) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c !== null) return c;
  }
  return null;
}

const files = walk(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));

for (const dir of ['tcp', 'stack']) {
  test(`no import cycle inside src/${dir}/`, () => {
    const nodes = new Set(files.filter((f) => f.startsWith(join(SRC, dir) + '/')));
    assert.ok(nodes.size > 5, `src/${dir}/ has its files`);
    const cycle = findCycle(graph, nodes);
    assert.equal(cycle, null, `import cycle: ${cycle?.map((f) => relative(ROOT, f)).join(' -> ')}`);
  });
}

test('the cycle check finds a cycle when there is one, type-only imports included', () => {
  const a = '/x/a.ts';
  const b = '/x/b.ts';
  const c = '/x/c.ts';
  assert.deepEqual(importsOf(a, "import type { B } from './b.js';\nexport { C } from './c.js';\nimport x from 'node:fs';"), [b, c]);
  const g = new Map([
    [a, [b]],
    [b, [c]],
    [c, [a]],
  ]);
  assert.deepEqual(findCycle(g, new Set([a, b, c])), [a, b, c, a]);
  assert.equal(findCycle(g, new Set([a, b])), null, 'edges leaving the set do not count');
});

test(`no source file over ${MAX_LINES} lines`, () => {
  const long = files
    .map((f) => ({ f: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((x) => x.lines > MAX_LINES);
  assert.deepEqual(long, []);
});

// Each tcp/ file takes the record it needs (docs/architecture.md, "Who takes which record"): a
// function that reads or writes one or two records takes those (SendSeq, Recovery, PendingOutput,
// Deadlines...) or a narrow Pick<Tcb, ...> view. Only the functions below coordinate the whole
// connection and take the whole Tcb (a parameter typed `Tcb` or `Readonly<Tcb>`); each file that
// has some says why at its top. A new one fails here: give it the records it touches, or, if it
// really coordinates the connection (segment arrival, assembling one segment, a state change), add
// it with that reason.
const WHOLE_TCB: Record<string, string[]> = {
  'src/tcp/connection.ts': ['constructor'],
  'src/tcp/info.ts': ['tcpInfo', 'tcbInfo'],
  'src/tcp/input.ts': ['segmentArrives', 'listen', 'synSent', 'synchronized', 'finWait2', 'acceptText', 'receiveFin'],
  'src/tcp/output.ts': ['dispatch', 'sendSyn', 'sendData', 'sendLossProbe', 'sackRecovery', 'rackRecovery', 'sendAt', 'sendSegment', 'segment', 'sendRst', 'sendProbe'],
  'src/tcp/timers.ts': ['onTimers', 'retransmissionTimeout', 'persist', 'keepalive'],
};

/**
 * Functions, methods and constructors with a parameter typed as the whole Tcb, by name (an arrow
 * function as `<arrow>@line`). Comments are blanked first so a `(c: Tcb)` in prose does not count.
 */
export function wholeTcbTakers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, ' '));
  const out: string[] = [];
  for (const m of code.matchAll(/\b\w+\??\s*:\s*(?:Readonly<\s*Tcb\s*>|Tcb)\s*(?=[,)=])/g)) {
    // Walk back to the parameter list's opening parenthesis; the name is the identifier before it.
    let depth = 0;
    let i = m.index - 1;
    for (; i >= 0; i--) {
      const ch = code[i];
      if (ch === ')' || ch === '>' || ch === ']' || ch === '}') depth++;
      else if (ch === '(' || ch === '<' || ch === '[' || ch === '{') {
        if (depth === 0) break;
        depth--;
      }
    }
    if (i < 0 || code[i] !== '(') continue; // not a parameter (a field, a variable)
    const name = /(\w+)\s*(?:<[^()]*>)?\s*$/.exec(code.slice(Math.max(0, i - 200), i))?.[1];
    out.push(name === undefined || name === 'function' ? `<arrow>@${code.slice(0, i).split('\n').length}` : name);
  }
  return out;
}

test('only the functions that coordinate the whole connection take the whole Tcb', () => {
  const found: Record<string, string[]> = {};
  for (const f of files) {
    const takers = wholeTcbTakers(readFileSync(f, 'utf8'));
    if (takers.length > 0) found[relative(ROOT, f)] = takers.sort();
  }
  const expected = Object.fromEntries(Object.entries(WHOLE_TCB).map(([f, names]) => [f, [...names].sort()]));
  assert.deepEqual(
    found,
    expected,
    'a function now takes (or no longer takes) the whole Tcb: give it the records it touches, or update WHOLE_TCB in test/lint/structure.test.ts with the reason at the top of its file',
  );
});

test('each file with functions that take the whole Tcb says why at its top', () => {
  for (const f of Object.keys(WHOLE_TCB)) {
    const header = /^(?:\/\/[^\n]*\n)+/.exec(readFileSync(join(ROOT, f), 'utf8'))?.[0] ?? '';
    assert.match(header, /whole Tcb/, `${f}: the comment at its top says which functions take the whole Tcb, and why`);
  }
});

test('the whole-Tcb check finds parameters typed Tcb, and only those', () => {
  const src = [
    'function a(c: Tcb, now: number): void {}',
    'function b(c: Pick<Tcb, "snd">): void {}',
    'export function d(\n  c: Readonly<Tcb>,\n  x: number,\n): void {}',
    'class K { readonly #t: Tcb; constructor(t: Tcb) {} m(o: { x: number }, tcb: Tcb) {} }',
    'const f = (c: Tcb) => c;',
    '// function e(c: Tcb) in a comment',
    'function g(c: TcbInfo, r: Recovery): void {}',
  ].join('\n');
  assert.deepEqual(wholeTcbTakers(src), ['a', 'd', 'constructor', 'm', '<arrow>@8']);
});
