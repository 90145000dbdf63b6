// Runs the whole conformance suite (test/conformance/*.pkt) through the packetdrill runner: with
// synack's defaults and with --linux where a script is profile-neutral. Every script must pass,
// except the named KNOWN FAILURES (core bugs), which must still fail at their line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScript, formatFailure } from '../../src/pdrill/runner.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { loadSuite, profilesOf, KNOWN_FAILURES } from './suite.js';

const suite = loadSuite();

test('the suite has at least 60 scripts, each naming the RFC section it checks and its profile', () => {
  assert.ok(suite.length >= 60, `only ${suite.length} scripts`);
  for (const s of suite) {
    const header = s.text.split('\n').filter((l) => l.startsWith('//')).join('\n');
    assert.match(header, /RFC \d+|POSIX|socket option interface|System-call edges/, `${s.name} names no RFC section`);
    assert.match(s.text, /^\/\/ profile: (neutral|default|linux)/m, `${s.name} has no profile line`);
  }
  for (const name of Object.keys(KNOWN_FAILURES)) assert.ok(suite.some((s) => s.name === name), `known failure ${name} is not in the suite`);
});

for (const s of suite) {
  for (const linux of profilesOf(s)) {
    const label = `${s.name}${linux ? ' --linux' : ''}`;
    const known = KNOWN_FAILURES[s.name];
    test(known ? `KNOWN FAILURE ${label}` : label, (t) => {
      const r = runScript(s.text, { path: s.path, linux });
      if (known !== undefined) {
        t.diagnostic(`known failure: ${known.reason}`);
        assert.equal(r.ok, false, `${s.name} passes now: remove it from KNOWN_FAILURES in test/pdrill/suite.ts`);
        assert.equal(r.failure?.line, known.line, formatFailure(r));
        // eslint-disable-next-line no-console
        console.log(`KNOWN FAILURE ${label}: ${formatFailure(r).trimEnd().replace(/\n/g, ' | ')}`);
        return;
      }
      assert.ok(r.ok, formatFailure(r));
      assert.ok(r.events > 0);
      assert.ok(r.packetsIn + r.packetsOut > 0 || /socket option|System-call/.test(s.text), `${s.name} exchanged no packets`);
    });
  }
}

test('known failures are listed by name with their reasons', () => {
  const lines = Object.entries(KNOWN_FAILURES).map(([n, k]) => `${n}:${k.line}: ${k.reason}`);
  // eslint-disable-next-line no-console
  console.log(`KNOWN FAILURES (${lines.length}):\n  ${lines.join('\n  ')}`);
  assert.ok(lines.every((l) => l.length > 40));
});

test('the suite does not depend on the ISNs and ports a seed happens to give', () => {
  const failed: string[] = [];
  for (const seed of [2, 12345]) {
    for (const s of suite) {
      if (KNOWN_FAILURES[s.name] !== undefined) continue;
      for (const linux of profilesOf(s)) {
        const r = runScript(s.text, { path: s.path, linux, seed });
        if (!r.ok) failed.push(`seed ${seed}: ${formatFailure(r)}`);
      }
    }
  }
  assert.deepEqual(failed, []);
});

test('synack pdrill --json over the suite files honours each profile line, and --default / --linux override it', async () => {
  let out = '';
  const io: CliIo = { out: (s) => void (out += s), err: () => {}, isTTY: false, env: {}, readFile: (p) => readFileSync(p), writeFile: () => {} };
  const known = suite.filter((s) => KNOWN_FAILURES[s.name] !== undefined).map((s) => s.name);
  const code = await main(['pdrill', '--json', ...suite.map((s) => s.path)], io);
  assert.equal(code, known.length > 0 ? 1 : 0);
  const doc = JSON.parse(out) as { total: number; failed: number; unsupported: number; scripts: { path: string; ok: boolean; linux: boolean }[] };
  assert.equal(doc.total, suite.length);
  assert.equal(doc.unsupported, 0);
  assert.deepEqual(doc.scripts.filter((s) => !s.ok).map((s) => basename(s.path)), known);
  assert.deepEqual(
    doc.scripts.filter((s) => s.linux).map((s) => basename(s.path)),
    suite.filter((s) => s.profile === 'linux').map((s) => s.name),
    'scripts marked "// profile: linux" run on the linux profile, the others on the default one',
  );
  out = '';
  await main(['pdrill', '--json', '--default', ...suite.map((s) => s.path)], io);
  const forcedDefault = JSON.parse(out) as { scripts: { path: string; ok: boolean; linux: boolean }[] };
  assert.ok(forcedDefault.scripts.every((s) => !s.linux), '--default runs every script on the default profile');
  assert.ok(
    forcedDefault.scripts.some((s) => !s.ok && basename(s.path) === 'syn-options-linux.pkt'),
    'so a script written for the linux profile fails there',
  );
  const linuxOut = (out = '', await main(['pdrill', '--json', '--linux', ...suite.filter((s) => s.profile !== 'default').map((s) => s.path)], io), JSON.parse(out) as { failed: number });
  assert.equal(linuxOut.failed, Object.keys(KNOWN_FAILURES).length);
});
