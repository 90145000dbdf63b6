// The stack's small parts: demux keys, the port table, RFC 6056 ephemeral ports, the keyed hash
// and the browser-safe emitter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tupleKey, addrKey, networkOf } from '../../src/stack/route.js';
import { PortTable } from '../../src/stack/port-table.js';
import { EphemeralPorts } from '../../src/stack/ports.js';
import { keyedHash32 } from '../../src/stack/hash.js';
import { Emitter } from '../../src/stack/emitter.js';
import { seededRandom } from '../../src/util/random.js';
import { parseIp, formatIp } from '../../src/wire/address.js';

const ip = (s: string): Uint8Array => parseIp(s)!;

test('tuple keys are distinct per 4-tuple and direction, compact, and family-separated', () => {
  const a = ip('198.18.0.1');
  const b = ip('198.18.0.2');
  const keys = new Set<string>();
  for (let p = 0; p < 2000; p++) {
    keys.add(tupleKey(a, 40000 + p, b, 80));
    keys.add(tupleKey(b, 80, a, 40000 + p));
    keys.add(tupleKey(ip('2001:db8::1'), 40000 + p, ip('2001:db8::2'), 80));
  }
  assert.equal(keys.size, 6000);
  assert.equal(tupleKey(a, 1, b, 2).length, 6);
  assert.equal(tupleKey(ip('::1'), 1, ip('::2'), 2).length, 18);
  assert.equal(tupleKey(a, 65535, b, 0), tupleKey(ip('198.18.0.1'), 65535, ip('198.18.0.2'), 0));
  assert.equal(addrKey(a).length, 2);
  assert.equal(formatIp(networkOf(ip('198.18.3.77'), 22)), '198.18.0.0');
});

test('PortTable: exact address beats any-IPv4 beats any; overlapping binds conflict', () => {
  const t = new PortTable<string>();
  t.add(80, { addr: null, anyFamily: 0, value: 'any' });
  assert.equal(t.lookup(ip('198.18.0.1'), 80), 'any');
  assert.equal(t.lookup(ip('2001:db8::1'), 80), 'any');
  assert.equal(t.conflicts(80, ip('198.18.0.1'), 0), true);
  const u = new PortTable<string>();
  u.add(80, { addr: null, anyFamily: 4, value: 'v4any' });
  u.add(80, { addr: ip('2001:db8::1'), anyFamily: 0, value: 'v6' });
  u.add(80, { addr: ip('198.18.0.1'), anyFamily: 0, value: 'exact' }); // (added directly; the stack would refuse)
  assert.equal(u.lookup(ip('198.18.0.1'), 80), 'exact');
  assert.equal(u.lookup(ip('198.18.0.9'), 80), 'v4any');
  assert.equal(u.lookup(ip('2001:db8::1'), 80), 'v6');
  assert.equal(u.lookup(ip('2001:db8::2'), 80), undefined);
  assert.equal(u.conflicts(80, ip('2001:db8::2'), 0), false);
  assert.equal(u.conflicts(80, null, 0), true);
  u.remove(80, 'exact');
  assert.equal(u.lookup(ip('198.18.0.1'), 80), 'v4any');
  assert.equal(u.size, 2);
});

test('ephemeral ports: in range, reproducible from the seed, different per destination, skip used ones', () => {
  const local = ip('198.18.0.1');
  const pick = (seed: number, remote: string, port: number): number[] => {
    const e = new EphemeralPorts(seededRandom(seed));
    return Array.from({ length: 5 }, () => e.pick(local, ip(remote), port, () => true));
  };
  const x = pick(1, '198.18.0.2', 80);
  assert.deepEqual(x, pick(1, '198.18.0.2', 80));
  assert.notDeepEqual(x, pick(2, '198.18.0.2', 80));
  assert.notDeepEqual(x, pick(1, '198.18.0.3', 80));
  for (const p of x) assert.ok(p >= 49152 && p <= 65535);
  // Algorithm 3 walks consecutively from the per-destination offset.
  assert.equal(x[1], x[0] === 65535 ? 49152 : x[0]! + 1);
  const small = new EphemeralPorts(seededRandom(3), { min: 1000, max: 1003 });
  const used = new Set<number>();
  for (let i = 0; i < 4; i++) used.add(small.pick(local, ip('198.18.0.2'), 80, (p) => !used.has(p)));
  assert.deepEqual([...used].sort(), [1000, 1001, 1002, 1003]);
  assert.equal(small.pick(local, ip('198.18.0.2'), 80, (p) => !used.has(p)), 0);
});

test('keyedHash32 depends on key and every input byte', () => {
  const d = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
  const h = keyedHash32(1, 2, d);
  assert.equal(h, keyedHash32(1, 2, d.slice()));
  assert.notEqual(h, keyedHash32(1, 3, d));
  for (let i = 0; i < d.length; i++) {
    const e = d.slice();
    e[i]! ^= 1;
    assert.notEqual(keyedHash32(1, 2, e), h, `byte ${i}`);
  }
  assert.notEqual(keyedHash32(1, 2, d, 6), h);
});

test('Emitter: on/once/off, listener counts, removal during emit', () => {
  const e = new Emitter<{ x: (n: number) => void }>();
  const log: string[] = [];
  const a = (n: number): void => {
    log.push(`a${n}`);
    e.off('x', b);
  };
  const b = (n: number): void => {
    log.push(`b${n}`);
  };
  e.on('x', a).on('x', b).once('x', (n) => log.push(`once${n}`));
  assert.equal(e.listenerCount('x'), 3);
  assert.equal(e.emit('x', 1), true);
  e.emit('x', 2);
  assert.deepEqual(log, ['a1', 'b1', 'once1', 'a2']);
  e.removeAllListeners();
  assert.equal(e.emit('x', 3), false);
});
