// The runner really checks: every passing conformance script is mutated line by line (expected
// flags, seq, ack, window, options, timing of `>` lines; results, errno names, written-back values
// and blocking end times of system calls) and each mutation must make the run fail with a message
// that names the mutated line (`path:LINE:`). Hand-picked cases check the exact wording too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScript, formatFailure } from '../../src/pdrill/runner.js';
import { loadSuite, profilesOf, KNOWN_FAILURES } from './suite.js';

interface Mutation {
  kind: 'flags' | 'seq' | 'ack' | 'window' | 'options' | 'timing' | 'result' | 'errno' | 'outvalue' | 'blocking-end';
  line: number;
  text: string;
}

const OUT = /^(\S+)(\s+)>(\s*)([FSRPUEW.]+|-)(\s+)(\d+):(\d+)\((\d+)\)(.*)$/;
const bump = (n: string, by = 1): string => String((Number(n) + by) >>> 0);

/** Mutations of one `>` line (null-free list). */
function mutateOutbound(line: string): { kind: Mutation['kind']; text: string }[] {
  const m = OUT.exec(line);
  if (m === null) return [];
  const [, time, s1, s2, flags, s3, start, end, len, rest] = m as unknown as string[];
  const out: { kind: Mutation['kind']; text: string }[] = [];
  const head = (t: string, f: string, seq: string): string => `${t}${s1}>${s2}${f}${s3}${seq}`;
  const seqText = `${start}:${end}(${len})`;
  // flags: drop the ACK dot, or add one (or PSH when it already has ACK only).
  const f2 = flags!.includes('.') ? (flags === '.' ? 'P.' : flags!.replace('.', '')) : `${flags}.`;
  out.push({ kind: 'flags', text: `${head(time!, f2 === '' ? '-' : f2, seqText)}${rest}` });
  if (!flags!.includes('S')) {
    out.push({ kind: 'seq', text: `${head(time!, flags!, `${bump(start!)}:${bump(end!)}(${len})`)}${rest}` });
  }
  const ack = / ack (\d+)/.exec(rest!);
  if (ack !== null) out.push({ kind: 'ack', text: `${head(time!, flags!, seqText)}${rest!.replace(/ ack (\d+)/, ` ack ${bump(ack[1]!)}`)}` });
  const win = / win (\d+)/.exec(rest!);
  if (win !== null) out.push({ kind: 'window', text: `${head(time!, flags!, seqText)}${rest!.replace(/ win (\d+)/, ` win ${bump(win[1]!)}`)}` });
  const opt = /<([^>]*)>/.exec(rest!);
  if (opt !== null && opt[1] !== '...') {
    let o = opt[1]!;
    if (/mss \d+/.test(o)) o = o.replace(/mss (\d+)/, (_x, n: string) => `mss ${bump(n, -4)}`);
    else if (/sack \d+:\d+/.test(o)) o = o.replace(/sack (\d+):(\d+)/, (_x, a: string, b: string) => `sack ${a}:${bump(b, 1000)}`);
    else if (/ecr \d+/.test(o)) o = o.replace(/ecr (\d+)/, (_x, n: string) => `ecr ${bump(n, 7)}`);
    else o = `${o},nop`;
    out.push({ kind: 'options', text: `${head(time!, flags!, seqText)}${rest!.replace(/<[^>]*>/, `<${o}>`)}` });
  }
  // timing: 50 ms later than written (the default tolerance is 4 ms); ranges and `*` are skipped.
  if (/^\+?[0-9.]+$/.test(time!)) {
    const rel = time!.startsWith('+');
    const t = Number(time!.replace('+', '')) + 0.05;
    out.push({ kind: 'timing', text: `${head(`${rel ? '+' : ''}${t.toFixed(3)}`, flags!, seqText)}${rest}` });
  }
  return out;
}

const CALL = /^(\S+)(\s+)([a-z_0-9]+)\((.*)\)\s*=\s*(-?\d+|[A-Z_|]+)(\s+[A-Z]+)?(.*)$/;
const ERRNO_SWAP: Record<string, string> = { EAGAIN: 'EINPROGRESS', EINPROGRESS: 'EAGAIN', ECONNRESET: 'EPIPE', EPIPE: 'ECONNRESET', ETIMEDOUT: 'ECONNRESET', ECONNREFUSED: 'ETIMEDOUT', ENOTCONN: 'EINVAL', EINVAL: 'ENOTCONN', EBADF: 'EINVAL', EALREADY: 'EISCONN', EISCONN: 'EALREADY', ENOPROTOOPT: 'EINVAL' };

const FD_CALLS = new Set(['socket', 'accept', 'accept4']);

function mutateCall(line: string): { kind: Mutation['kind']; text: string }[] {
  const m = CALL.exec(line);
  if (m === null) return [];
  const [, time, sp, name, args, result, errno, tail] = m as unknown as string[];
  const out: { kind: Mutation['kind']; text: string }[] = [];
  const call = (t: string, a: string, r: string, e: string | undefined): string => `${t}${sp}${name}(${a}) = ${r}${e ?? ''}${tail}`;
  if (/^-?\d+$/.test(result!) && FD_CALLS.has(name!) && result !== '-1') {
    // A new descriptor takes the script's number (packetdrill's fd mapping), so a different free
    // number is no error; a failure instead of a descriptor is.
    out.push({ kind: 'result', text: call(time!, args!, '-1', ' EINVAL') });
  } else if (/^-?\d+$/.test(result!)) {
    out.push({ kind: 'result', text: call(time!, args!, result === '-1' ? '0' : bump(result!), result === '-1' ? undefined : errno) });
  } else {
    out.push({ kind: 'result', text: call(time!, args!, '-1', ' EINVAL') });
  }
  if (errno !== undefined) {
    const e = errno.trim();
    out.push({ kind: 'errno', text: call(time!, args!, result!, ` ${ERRNO_SWAP[e] ?? 'EINVAL'}`) });
  }
  // Values the call writes back: poll revents, getsockopt [N], ioctl [N].
  if (name === 'poll' && /revents=/.test(args!)) {
    const a2 = args!.replace(/revents=([A-Z|0-9]+)/, (_x, v: string) => (v === '0' ? 'revents=POLLPRI' : `revents=${v}|POLLPRI`));
    out.push({ kind: 'outvalue', text: call(time!, a2, result!, errno) });
  }
  if ((name === 'getsockopt' || name === 'ioctl') && /\[(\d+)\]/.test(args!.split(',').slice(3).join(',') || args!.split(',').slice(2).join(','))) {
    const parts = args!.split(',');
    const idx = name === 'getsockopt' ? 3 : 2;
    const target = parts[idx];
    if (target !== undefined && /\[(\d+)\]/.test(target)) {
      parts[idx] = target.replace(/\[(\d+)\]/, (_x, n: string) => `[${bump(n)}]`);
      out.push({ kind: 'outvalue', text: call(time!, parts.join(','), result!, errno) });
    }
  }
  const blocking = /^(\+?[0-9.]+)\.\.\.([0-9.]+)$/.exec(time!);
  if (blocking !== null) {
    out.push({ kind: 'blocking-end', text: call(`${blocking[1]}...${(Number(blocking[2]) + 0.05).toFixed(3)}`, args!, result!, errno) });
  }
  return out;
}

function mutations(text: string): Mutation[] {
  const lines = text.split('\n');
  const out: Mutation[] = [];
  lines.forEach((l, i) => {
    for (const m of [...mutateOutbound(l), ...mutateCall(l)]) {
      const copy = lines.slice();
      copy[i] = m.text;
      out.push({ kind: m.kind, line: i + 1, text: copy.join('\n') });
    }
  });
  return out;
}

const suite = loadSuite().filter((s) => KNOWN_FAILURES[s.name] === undefined);

test('every mutation of every passing script fails at the mutated line', () => {
  const byKind = new Map<string, number>();
  const escaped: string[] = [];
  let total = 0;
  for (const s of suite) {
    const linux = profilesOf(s)[0]!;
    const base = runScript(s.text, { path: s.path, linux });
    assert.ok(base.ok, formatFailure(base));
    for (const m of mutations(s.text)) {
      total++;
      byKind.set(m.kind, (byKind.get(m.kind) ?? 0) + 1);
      const r = runScript(m.text, { path: s.path, linux });
      const msg = formatFailure(r);
      // Expecting success from an option synack does not model stops the script there as unsupported.
      if (r.unsupported !== null && r.unsupported.startsWith(`line ${m.line}: `)) continue;
      if (r.ok || r.failure?.line !== m.line || !msg.startsWith(`${s.path}:${m.line}: `)) {
        escaped.push(`${s.name}:${m.line} ${m.kind}: ${r.ok ? 'passed' : msg.split('\n')[0]}\n    ${m.text.split('\n')[m.line - 1]}`);
      }
    }
  }
  // eslint-disable-next-line no-console
  console.log(`mutations: ${total} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}); escaped ${escaped.length}`);
  assert.ok(total > 500, `only ${total} mutations`);
  for (const k of ['flags', 'seq', 'ack', 'window', 'options', 'timing', 'result', 'errno', 'outvalue', 'blocking-end']) {
    assert.ok((byKind.get(k) ?? 0) > 0, `no ${k} mutations`);
  }
  assert.deepEqual(escaped, []);
});

/** Run `script` with `from` replaced by `to` on one line; return the formatted failure. */
function mutate(name: string, from: string, to: string, linux = false): { line: number; out: string } {
  const s = loadSuite().find((x) => x.name === name)!;
  const lines = s.text.split('\n');
  const i = lines.findIndex((l) => l.includes(from));
  assert.ok(i >= 0, `${from} not in ${name}`);
  lines[i] = lines[i]!.replace(from, to);
  const r = runScript(lines.join('\n'), { path: s.path, linux });
  assert.equal(r.ok, false);
  assert.equal(r.failure?.line, i + 1, formatFailure(r));
  return { line: i + 1, out: formatFailure(r) };
}

test('failure messages read like packetdrill: path:line, the expectation, the script line and the actual packet', () => {
  const f = mutate('active-close.pkt', '> F. 1:1(0) ack 1', '> F. 1:1(0) ack 2');
  assert.equal(
    f.out,
    `test/conformance/active-close.pkt:${f.line}: error handling packet: bad outbound TCP ack: expected 2 actual 1\n` +
      'script packet: 0.200000 F. 1:1(0) ack 2\n' +
      'actual packet: 0.200000 F. 1:1(0) ack 1 win 2048\n',
  );
  const w = mutate('mss-our-cap.pkt', 'win 65535 <mss 1460>', 'win 65535 <mss 1400>');
  assert.match(w.out, /bad outbound TCP option mss: expected mss 1400 actual mss 1460/);
  const t = mutate('rto-backoff.pkt', '+.6 > P.', '+.5 > P.');
  assert.match(t.out, /timing error: expected outbound packet at 1\.300000 sec but happened at 1\.400000 sec; tolerance 0\.004000 sec/);
  const e = mutate('connect-refused.pkt', 'ECONNREFUSED (Connection refused)', 'ETIMEDOUT');
  assert.match(e.out, /runtime error in connect call: expected errno ETIMEDOUT \(Connection timed out\) but got ECONNREFUSED \(Connection refused\)/);
  const r = mutate('passive-open.pkt', 'accept(3, ..., ...) = 4', 'accept(3, ..., ...) = 3');
  assert.match(r.out, /runtime error in accept call: expected result 3 but got 4/, 'fd 3 is the listener: it cannot be mapped');
  const p = mutate('listener-poll.pkt', 'revents=POLLOUT}], 1, 0) = 1', 'revents=POLLIN|POLLOUT}], 1, 0) = 1');
  assert.match(p.out, /bad poll revents of fd 4: expected POLLIN\|POLLOUT but got POLLOUT/);
});

test('an extra packet the script does not expect fails at the next event; a missing one at its own line', () => {
  const s = loadSuite().find((x) => x.name === 'active-close.pkt')!;
  const dropped = s.text.replace('+0  > F. 1:1(0) ack 1\n', '');
  const r = runScript(dropped, { path: s.path });
  assert.equal(r.ok, false);
  assert.match(formatFailure(r), /unexpected outbound packet before this event\nactual packet: 0\.200000 F\. 1:1\(0\) ack 1/);
  const extra = `${s.text.trimEnd()}\n+0  > . 2:2(0) ack 2\n`;
  const r2 = runScript(extra, { path: s.path });
  assert.equal(r2.ok, false);
  assert.equal(r2.failure?.line, extra.trimEnd().split('\n').length);
  assert.match(r2.failure!.message, /expected outbound packet at .* but no packet was sent/);
});
