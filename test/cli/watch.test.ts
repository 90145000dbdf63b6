// --watch for the TUN commands: the flag's forms, and the watch server streaming a real synack
// stack's segments (tapped from its link) and state changes to a page over Server-Sent Events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { takeWatchFlag, startWatch, DEFAULT_WATCH_PORT, WATCH_PEER } from '../../src/cli/watch.js';
import { watchedPair } from '../helpers/watch.js';
import { UsageError } from '../../src/cli/io.js';
import { CommandError } from '../../src/cli/tun-common.js';

test('--watch takes an optional port and leaves the other arguments alone', () => {
  assert.deepEqual(takeWatchFlag(['http://x/', '--watch'], 'get'), { argv: ['http://x/'], port: DEFAULT_WATCH_PORT });
  assert.deepEqual(takeWatchFlag(['--watch', '9000', 'http://x/'], 'get'), { argv: ['http://x/'], port: 9000 });
  assert.deepEqual(takeWatchFlag(['--watch=9001', '-v'], 'get'), { argv: ['-v'], port: 9001 });
  assert.deepEqual(takeWatchFlag(['--tun', 'a', '--', '--watch'], 'nc'), { argv: ['--tun', 'a', '--', '--watch'], port: null });
  assert.throws(() => takeWatchFlag(['--watch=0'], 'nc'), UsageError);
  assert.throws(() => takeWatchFlag(['--watch=http'], 'nc'), /--watch wants a port/);
});

/** Reads Server-Sent Events from `url` until `enough` says so; returns the data objects. */
function readEvents(url: string, enough: (evs: Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const evs: Record<string, unknown>[] = [];
    const req = http.get(url, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream');
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data !== undefined) evs.push(JSON.parse(data.slice(6)) as Record<string, unknown>);
        }
        if (enough(evs)) {
          req.destroy();
          resolve(evs);
        }
      });
    });
    req.on('error', (e) => (evs.length > 0 ? resolve(evs) : reject(e)));
  });
}

test('the watch server streams the tapped stack: its SYN, the peer SYN-ACK, and its state changes', async () => {
  const watch = await startWatch(0, 'synack');
  try {
    const { clock, watched, peer } = watchedPair(watch);
    peer.tcpListen({ port: 80 }, () => undefined);
    const conn = watched.tcpConnect({ address: '198.18.0.1', port: 80 });
    clock.runUntil(100);
    assert.equal(conn.state, 'ESTABLISHED');
    // A page that opens after the handshake still gets it (the server keeps recent events).
    const evs = await readEvents(`http://127.0.0.1:${watch.port}/events`, (e) => e.filter((x) => x['type'] === 'segment').length >= 3);
    const segs = evs.filter((e) => e['type'] === 'segment');
    assert.deepEqual(
      segs.slice(0, 3).map((e) => [e['from'], e['to'], e['flags']]),
      [
        ['synack', WATCH_PEER, 'SYN'],
        [WATCH_PEER, 'synack', 'SYN,ACK'],
        ['synack', WATCH_PEER, 'ACK'],
      ],
    );
    const syn = segs[0]!;
    assert.equal(syn['seq'], conn.info().iss >>> 0);
    assert.equal(segs[1]!['ack'], (conn.info().iss + 1) >>> 0, 'the SYN-ACK acknowledges ISS + 1');
    assert.match(String(syn['conn']), /^198\.18\.0\.2:\d+>198\.18\.0\.1:80$/);
    const states = evs.filter((e) => e['type'] === 'state' && e['host'] === 'synack').map((e) => e['to']);
    assert.deepEqual(states, ['SYN-SENT', 'ESTABLISHED']);
    conn.abort();
    watched.close();
    peer.close();
  } finally {
    await watch.close();
  }
});

test('a taken port is a clear CommandError, not a crash', async () => {
  const first = await startWatch(0, 'synack');
  try {
    await assert.rejects(startWatch(first.port, 'synack'), (e: unknown) => e instanceof CommandError && /port \d+ on 127\.0\.0\.1 is in use/.test(e.message));
  } finally {
    await first.close();
  }
});
