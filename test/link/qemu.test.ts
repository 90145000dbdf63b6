// QEMU's socket framings without QEMU: -netdev stream (4-byte big-endian length, then the frame)
// split and coalesced across reads both ways, a length out of range disconnects, a stale socket file
// is replaced but no other file; -netdev dgram over UDP on 127.0.0.1, frames from strangers ignored.
// (test/interop/qemu.test.ts runs a real QEMU guest on these links.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenQemuStream, connectQemuStream, openQemuDgram } from '../../src/link/qemu.js';
import { createServer } from 'node:net';

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

function framed(...frames: Uint8Array[]): Buffer {
  return Buffer.concat(frames.flatMap((f) => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(f.length);
    return [h, Buffer.from(f)];
  }));
}

test('stream: frames split and coalesced across reads arrive whole; sends are length-prefixed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-qemu-'));
  const path = join(dir, 's');
  const link = await listenQemuStream(path);
  try {
    const got: number[][] = [];
    link.onReceive = (f) => void got.push([f.length, f[0]!, f[f.length - 1]!]);
    let connected = 0;
    link.onConnect = () => connected++;
    const peer: Socket = connect(path);
    await new Promise((r) => peer.once('connect', r));
    const a = new Uint8Array(60).fill(1);
    const b = new Uint8Array(1514).fill(2);
    const c = new Uint8Array(100).fill(3);
    const all = framed(a, b, c);
    peer.write(all.subarray(0, 70)); // a whole, b's header and start
    await tick();
    peer.write(all.subarray(70, 1000));
    await tick();
    peer.write(all.subarray(1000));
    await tick();
    assert.equal(connected, 1);
    assert.deepEqual(got, [[60, 1, 1], [1514, 2, 2], [100, 3, 3]]);
    const seen: Buffer[] = [];
    peer.on('data', (d: Buffer) => seen.push(d));
    link.send(new Uint8Array(64).fill(9));
    link.send(new Uint8Array(2000)); // over mtu + 14: dropped
    await tick();
    const out = Buffer.concat(seen);
    assert.equal(out.readUInt32BE(0), 64);
    assert.equal(out.length, 68);
    assert.deepEqual(link.stats(), { rxPackets: 3, rxBytes: 1674, txPackets: 1, txBytes: 64, dropped: 1, badFrames: 0 });
    // A length of 0 is not QEMU's framing: the peer is disconnected, the link keeps listening.
    const errors: string[] = [];
    link.onError = (e) => errors.push(e.message);
    peer.write(Buffer.alloc(4));
    await new Promise((r) => peer.once('close', r));
    assert.equal(link.stats().badFrames, 1);
    assert.match(errors[0] ?? '', /frame length 0/);
    const again = connect(path);
    await new Promise((r) => again.once('connect', r));
    await tick();
    assert.equal(connected, 2);
    again.destroy();
  } finally {
    link.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stream: a stale socket file is replaced, any other file is refused; connect: mode reports QEMU going away', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-qemu-'));
  try {
    const path = join(dir, 's');
    // A process killed while listening leaves its socket file behind.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(lstatSync(path).isSocket(), 'a stale socket file is there');
    const second = await listenQemuStream(path);
    second.close();
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    await assert.rejects(listenQemuStream(file), /not a socket/);
    await assert.rejects(connectQemuStream(join(dir, 'missing')), /cannot connect to QEMU/);

    const qemuSide = createServer();
    const qpath = join(dir, 'q');
    await new Promise<void>((r) => qemuSide.listen(qpath, r));
    const conns: Socket[] = [];
    qemuSide.on('connection', (s) => conns.push(s));
    const link = await connectQemuStream(qpath);
    const lost: string[] = [];
    link.onError = (e) => lost.push(e.message);
    await tick();
    conns[0]?.destroy();
    await tick(50);
    assert.match(lost[0] ?? '', /QEMU closed the connection/);
    link.close();
    qemuSide.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dgram: one frame per datagram with QEMU\'s port, strangers ignored', async () => {
  const qemu = createSocket('udp4');
  await new Promise<void>((r) => qemu.bind(0, '127.0.0.1', r));
  const qport = qemu.address().port;
  const link = await openQemuDgram(0, qport);
  const lport = Number(link.name.slice('udp:'.length));
  const stranger = createSocket('udp4');
  await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', r));
  try {
    const got: number[] = [];
    link.onReceive = (f) => void got.push(f.length);
    qemu.send(new Uint8Array(60), lport, '127.0.0.1');
    stranger.send(new Uint8Array(61), lport, '127.0.0.1');
    const echoed = new Promise<number>((r) => qemu.once('message', (m) => r(m.length)));
    await tick(50);
    link.send(new Uint8Array(99));
    assert.equal(await echoed, 99);
    assert.deepEqual(got, [60]);
    assert.equal(link.stats().dropped, 1);
  } finally {
    link.close();
    qemu.close();
    stranger.close();
  }
});
