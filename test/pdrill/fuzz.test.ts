// Property tests: the packetdrill parser never throws, whatever the input (random text, random
// tokens, and realistic scripts with bytes flipped, deleted or duplicated), and always reports
// positions inside the input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScript } from '../../src/pdrill/parse.js';

const SEED_SCRIPT = `--tolerance_usecs=10000
\`sysctl -q x=1\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 1 ecr 2,sack 1:2 3:4>
+0...0.200 accept(3, ..., ...) = 4
+0 connect(4, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
+0 poll([{fd=4, events=POLLOUT, revents=POLLOUT}], 1, 0) = 1
* > P. 1:2001(2000) ack 1
0.1~0.2 > F. 1:1(0) ack 1
+0.1~+0.2 > - 1:1(0)
+0 writev(4, [{..., 10}, {..., 20}], 2) = 30
+0 %{ assert tcpi_rto == 1 }%
/* done */ +0 close(4) = 0 // bye
`;

const TOKENS = ['0', '+', '.1', '*', '~', '...', '<', '>', 'S', 'S.', '.', '-', 'F.', '0:0(0)', '1:1001(1000)', 'ack', 'win', '1', '257', 'urg',
  '<mss 1460,nop,wscale 7>', '<...>', 'socket(', ')', '(', '= 3', '= -1', 'EAGAIN', '[1]', '{fd=4}', ',', '|', '"s"', '`x`', '%{ y }%', '\n', ' ',
  '//c\n', '/*', '*/', '--mss=1', 'TS val 1 ecr 2', 'sack 1:2', '0x1f', '99999999999999999999', '\u00e9', '\0'];

function check(src: string): void {
  const r = parseScript(src);
  assert.equal(typeof r.ok, 'boolean');
  assert.equal(r.ok, r.errors.length === 0);
  const lines = src.split('\n').length;
  for (const e of r.errors) {
    assert.ok(e.line >= 1 && e.line <= lines, `error line ${e.line} outside 1..${lines}`);
    assert.ok(e.col >= 1, 'columns are 1-based');
    assert.ok(e.message.length > 0);
  }
}

test('the seed script itself parses cleanly', () => {
  const r = parseScript(SEED_SCRIPT);
  assert.deepEqual(r.errors, []);
  assert.equal(r.script.events.length, 17);
});

test('parser never throws on random strings', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), check), { numRuns: 2000, seed: 42 });
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: 500, seed: 7 });
});

test('parser never throws on random token soup', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }), (toks) => check(toks.join(' '))),
    { numRuns: 3000, seed: 1234 },
  );
});

test('parser never throws on mutated realistic scripts', () => {
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), ch: fc.constantFrom('<', '>', '(', ')', '[', '{', '.', '0', '~', '*', '`', '"', ' ', '\n', 'x', '%') }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ op: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  );
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), (muts) => {
      let s = SEED_SCRIPT;
      for (const m of muts) {
        const at = m.at % (s.length + 1);
        if (m.op === 'flip') s = s.slice(0, at) + m.ch + s.slice(at + 1);
        else if (m.op === 'delete') s = s.slice(0, at) + s.slice(at + m.len);
        else s = s.slice(0, at) + s.slice(at, at + m.len) + s.slice(at);
      }
      check(s);
    }),
    { numRuns: 3000, seed: 99 },
  );
});

test('deeply nested expressions give an error, not a stack overflow', () => {
  const r = parseScript(`0 f(${'['.repeat(5000)}1${']'.repeat(5000)}) = 0\n`);
  assert.equal(r.ok, false);
  assert.equal(r.errors[0]?.message, 'expression nested too deeply');
});
