// Address text forms (RFC 4291 parsing, RFC 5952 output), CIDR parsing and prefix matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIp, formatIp, ipEquals, parseCidr, inPrefix } from '../../src/wire/address.js';

test('IPv4 dotted quads parse and format; junk is rejected', () => {
  assert.deepEqual(parseIp('198.18.0.1'), Uint8Array.of(198, 18, 0, 1));
  assert.equal(formatIp(Uint8Array.of(198, 18, 255, 254)), '198.18.255.254');
  for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '', 'a.b.c.d', '1.2.3.-4']) assert.equal(parseIp(bad), null, bad);
});

test('IPv6 is formatted in RFC 5952 canonical form', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of equal runs (5952 4.2.3)
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero word is not compressed (4.2.2)
    ['2001:DB8::AbC', '2001:db8::abc'], // lower case (4.3)
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:198.18.0.1', '::ffff:198.18.0.1'],
    ['2001:db8::1:0:0:0:1', '2001:db8:0:1::1'], // the longest run wins
  ];
  for (const [inp, want] of cases) assert.equal(formatIp(parseIp(inp)!), want, inp);
  for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7']) assert.equal(parseIp(bad), null, bad);
});

test('any 16 bytes survive format then parse (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (b, sparse) => {
      if (sparse) for (let i = 0; i < 16; i++) if (b[i]! & 1) b[i] = 0; // lots of zero runs
      assert.deepEqual(parseIp(formatIp(b)), b);
    }),
    { numRuns: 3000 },
  );
});

test('CIDR parsing and prefix membership', () => {
  const net = parseCidr('198.18.0.0/15')!;
  assert.equal(net.prefix, 15);
  assert.ok(inPrefix(parseIp('198.19.255.1')!, net.addr, net.prefix));
  assert.ok(!inPrefix(parseIp('198.20.0.1')!, net.addr, net.prefix));
  const n6 = parseCidr('2001:db8::/32')!;
  assert.ok(inPrefix(parseIp('2001:db8:ffff::1')!, n6.addr, 32));
  assert.ok(!inPrefix(parseIp('2001:db9::1')!, n6.addr, 32));
  assert.ok(!inPrefix(parseIp('198.18.0.1')!, n6.addr, 0), 'families never match');
  assert.equal(parseCidr('198.18.0.1')!.prefix, 32);
  assert.equal(parseCidr('198.18.0.0/33'), null);
  assert.equal(parseCidr('2001:db8::/129'), null);
  assert.ok(ipEquals(parseIp('2001:db8::1')!, parseIp('2001:DB8:0::1')!));
  assert.ok(!ipEquals(parseIp('198.18.0.1')!, parseIp('::ffff:198.18.0.1')!));
});
