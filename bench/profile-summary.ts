// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time, optionally per segment.
//
// Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top N] [--per COUNT] [--exclude SUBSTR] [--json]
//   dir     picks the newest .cpuprofile in it
//   --per   divide self time by COUNT (e.g. the segments the run carried) to show ns per segment
//   --exclude SUBSTR  leave out functions whose label contains SUBSTR (repeatable), e.g. node:internal
//           for tsx's module loading at start-up; they leave the total too

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTimeRow {
  /** "name file:line" (1-based line). */
  fn: string;
  selfMs: number;
  /** Share of all sampled time (idle excluded), 0..100. */
  percent: number;
}

function label(cf: CallFrame, root: string): string {
  const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
  if (cf.url === '') return name;
  let file = cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url;
  if (file.startsWith(root)) file = relative(root, file);
  // tsx emits each module on few lines, so a line number of 1 says nothing: show the file only.
  return cf.lineNumber > 0 ? `${name} ${file}:${cf.lineNumber + 1}` : `${name} ${file}`;
}

/**
 * Self time per function: each sample's time delta is charged to the node it landed in; nodes of the
 * same function (same name, file, line) are merged. `(idle)` is left out of the total.
 */
export function selfTimes(p: CpuProfile, root = process.cwd(), exclude: readonly string[] = []): { rows: SelfTimeRow[]; totalMs: number } {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const selfUs = new Map<string, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // timeDeltas[i] is the gap before sample i; charge the gap after a sample to it (V8's convention in DevTools).
    for (let i = 0; i < samples.length; i++) {
      const node = byId.get(samples[i]!);
      if (node === undefined) continue;
      const dt = i + 1 < deltas.length ? deltas[i + 1]! : 0;
      const key = label(node.callFrame, root);
      selfUs.set(key, (selfUs.get(key) ?? 0) + Math.max(0, dt));
    }
  } else {
    // No per-sample timing: spread the profile's duration over hit counts.
    const hits = p.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
    const usPerHit = (p.endTime - p.startTime) / hits;
    for (const n of p.nodes) {
      const key = label(n.callFrame, root);
      selfUs.set(key, (selfUs.get(key) ?? 0) + (n.hitCount ?? 0) * usPerHit);
    }
  }
  selfUs.delete('(idle)');
  for (const key of [...selfUs.keys()]) if (exclude.some((x) => key.includes(x))) selfUs.delete(key);
  let total = 0;
  for (const v of selfUs.values()) total += v;
  const rows = [...selfUs.entries()]
    .map(([fn, us]) => ({ fn, selfMs: us / 1000, percent: total > 0 ? (100 * us) / total : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { rows, totalMs: total / 1000 };
}

function newestProfile(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files[0] === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  return files[0];
}

function main(argv: string[]): number {
  let path: string | undefined;
  let top = 25;
  let per = 0;
  let json = false;
  const exclude: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--top') top = Number(argv[++i]);
    else if (a === '--per') per = Number(argv[++i]);
    else if (a === '--json') json = true;
    else if (a === '--exclude') exclude.push(argv[++i] ?? '');
    else if (a.startsWith('--')) {
      process.stderr.write(`unknown flag ${a}\n`);
      return 2;
    } else path = a;
  }
  if (path === undefined || !(top > 0) || !(per >= 0)) {
    process.stderr.write('usage: profile-summary.ts <file.cpuprofile | dir> [--top N] [--per COUNT] [--exclude SUBSTR] [--json]\n');
    return 2;
  }
  const file = statSync(path).isDirectory() ? newestProfile(path) : path;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { rows, totalMs } = selfTimes(profile, process.cwd(), exclude.filter((x) => x !== ''));
  const shown = rows.slice(0, top);
  if (json) {
    for (const r of shown) process.stdout.write(JSON.stringify(per > 0 ? { ...r, nsPer: (r.selfMs * 1e6) / per } : r) + '\n');
    return 0;
  }
  process.stdout.write(`${file}: ${totalMs.toFixed(1)} ms sampled (idle${exclude.length ? `, ${exclude.join(', ')}` : ''} excluded)${per > 0 ? `, per ${per} units` : ''}\n`);
  const head = `${'self ms'.padStart(9)}  ${'%'.padStart(5)}${per > 0 ? `  ${'ns/unit'.padStart(8)}` : ''}  function`;
  process.stdout.write(head + '\n');
  for (const r of shown) {
    const perCol = per > 0 ? `  ${((r.selfMs * 1e6) / per).toFixed(1).padStart(8)}` : '';
    process.stdout.write(`${r.selfMs.toFixed(1).padStart(9)}  ${r.percent.toFixed(1).padStart(5)}${perCol}  ${r.fn}\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
