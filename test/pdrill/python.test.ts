// packetdrill's `%{ }%` assertions (src/pdrill/python.ts): the expression language, statements
// that make a block unsupported, and the runner failing a script at a false assertion's line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPythonBlock, PythonUnsupported } from '../../src/pdrill/python.js';
import { runScript, formatFailure } from '../../src/pdrill/runner.js';
import { PASSIVE_OPEN } from '../helpers/pdrill.js';

const fields: Record<string, number> = { tcpi_snd_cwnd: 10, tcpi_snd_ssthresh: 0x7fffffff, tcpi_rto: 1000000 };
const look = (n: string): number | undefined => fields[n];

test('assert forms upstream scripts use hold or fail as Python would decide them', () => {
  assert.equal(runPythonBlock('assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd', look), null);
  assert.equal(runPythonBlock('\nassert tcpi_rto == 1000000\n', look), null);
  assert.equal(runPythonBlock('assert tcpi_snd_ssthresh == TCP_INFINITE_SSTHRESH', look), null);
  assert.equal(runPythonBlock('X = 0x7fffffff; assert tcpi_snd_ssthresh == X', look), null);
  assert.equal(runPythonBlock('assert 8 <= tcpi_snd_cwnd <= 12 and not tcpi_snd_cwnd == 11', look), null);
  assert.equal(runPythonBlock('assert (tcpi_snd_cwnd * 3 + 1) // 2 == 15 and 7 % 3 == 1 and -1 < 0', look), null);
  assert.equal(runPythonBlock('assert tcpi_snd_cwnd == 9 or tcpi_snd_cwnd == 10  # a comment', look), null);
  assert.equal(runPythonBlock('assert tcpi_snd_cwnd == 10, \\\n  tcpi_snd_cwnd', look), null);
  assert.deepEqual(runPythonBlock('assert tcpi_snd_cwnd == 12, tcpi_snd_cwnd', look), { text: 'assert tcpi_snd_cwnd == 12, tcpi_snd_cwnd', message: '10' });
  assert.deepEqual(runPythonBlock("assert tcpi_snd_cwnd == 12, 'cwnd=%d' % tcpi_snd_cwnd", look), {
    text: "assert tcpi_snd_cwnd == 12, 'cwnd=%d' % tcpi_snd_cwnd",
    message: "'cwnd=%d' % tcpi_snd_cwnd",
  });
  assert.equal(runPythonBlock('assert TCP_CA_Recovery == 3 and TCP_CA_Loss == 4', look), null);
});

test('anything else makes the block unsupported, with the reason', () => {
  const why = (code: string): string => {
    try {
      runPythonBlock(code, look);
    } catch (e) {
      assert.ok(e instanceof PythonUnsupported);
      return e.message;
    }
    return 'evaluated';
  };
  assert.match(why('print("x")'), /only assert statements and assignments/);
  assert.match(why('import os'), /only assert statements/);
  assert.match(why('assert tcpi_reord_seen == 0'), /tcpi_reord_seen is not modelled/);
  assert.match(why('assert len(x) == 1'), /function calls/);
  assert.match(why('assert tcpi_snd_cwnd == 10 10'), /cannot read/);
  assert.match(why('assert 1 // 0'), /division by zero/);
  assert.match(why('assert tcpi_snd_cwnd.x == 1'), /cannot read/);
});

const PASSIVE = PASSIVE_OPEN;

test('the runner evaluates a block at its time against the connection and fails at its line', () => {
  const ok = runScript(`${PASSIVE}+0 %{ assert tcpi_snd_cwnd == 10; assert tcpi_snd_mss == 1000 }%\n`, { path: 'p.pkt' });
  assert.ok(ok.ok, formatFailure(ok));
  const bad = runScript(`${PASSIVE}+0 %{ assert tcpi_snd_cwnd == 20, tcpi_snd_cwnd }%\n`, { path: 'p.pkt' });
  assert.equal(bad.ok, false);
  assert.match(formatFailure(bad), /p\.pkt:8: assertion failed: assert tcpi_snd_cwnd == 20, tcpi_snd_cwnd \(value 10\)/);
  const unmodelled = runScript(`${PASSIVE}+0 %{ assert tcpi_reord_seen == 0 }%\n`, { path: 'p.pkt' });
  assert.equal(unmodelled.failure, null);
  assert.match(unmodelled.unsupported ?? '', /python block: tcpi_reord_seen is not modelled by synack/);
  // The recovery state is modelled (test/conformance/tcp-info-recovery-linux.pkt follows it through a loss).
  const state = runScript(
    `${PASSIVE}+0 %{\nassert tcpi_ca_state == TCP_CA_Open\nassert tcpi_sacked == 0 and tcpi_lost == 0 and tcpi_retrans == 0\nassert tcpi_reordering == 3 and tcpi_probes == 0 and tcpi_backoff == 0\n}%\n`,
    { path: 'p.pkt' },
  );
  assert.ok(state.ok, formatFailure(state));
});
