// The `synack/trace` entry point of package.json's exports map: a user draws a ladder and infers
// states without deep-importing dist/ (checks the compiled package, as an installed user gets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

test("'synack/trace' resolves to the compiled trace package with its renderers", async (t) => {
  if (!existsSync(new URL('../../dist/trace/index.js', import.meta.url))) {
    t.skip('dist/ is not built (npm install or npm run build compiles it)');
    return;
  }
  const trace = (await import('synack/trace')) as unknown as typeof import('../../src/trace/index.js');
  const events = [
    { type: 'segment', t: 0, from: 'a', to: 'b', flags: 'SYN', seq: 1000, ack: 0, len: 0, win: 65535, lost: false },
    { type: 'segment', t: 1, from: 'b', to: 'a', flags: 'SYN,ACK', seq: 5000, ack: 1001, len: 0, win: 65535, lost: false },
  ] as const;
  const ladder = trace.renderLadder(events, { left: 'a', right: 'b' });
  assert.match(ladder, /SYN-ACK seq=0 ack=1 len=0/);
  assert.match(trace.renderSvg(events, { left: 'a', right: 'b' }), /<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(typeof trace.inferConnections, 'function');
  assert.equal(typeof trace.tcpPacketsFromPcap, 'function');
});
