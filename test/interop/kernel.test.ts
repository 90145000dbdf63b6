// The kernel looking at synack through a TUN device: ping gets echo replies (IPv4 and IPv6), curl to a
// closed port is refused at once by RST, and a tshark capture of an nc transfer has no malformed
// packet or bad checksum, the handshake and FIN/ACK close in order, and synack (the active closer)
// in TIME-WAIT as src/trace/infer.ts reads it. With offloads (SYNACK_TUN_OFFLOAD, see helpers.ts)
// the capture holds partial checksums (CHECKSUM_PARTIAL: the device finishes them), which the test
// checks for itself, and synack's data leaves in TSO super-packets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsHarness } from '../helpers/netns.js';
import { tcpPacketsFromPcap, inferConnections } from '../../src/trace/infer.js';
import { TcpFlag } from '../../src/wire/tcp.js';
import { readPcap } from '../../src/wire/pcap.js';
import { foldChecksum, onesSum, pseudoHeaderSum, read16 } from '../../src/wire/bytes.js';
import { MiB, OFFLOAD, V4, V6, interopSkip, randomFile, scratch, sha256File, spawnIn, synack, tunHost, waitListening, within } from './helpers.js';

const skip = interopSkip('ping', 'curl');
const captureSkip = interopSkip('tshark', 'socat', 'ss');

describe('the kernel reaches synack over TUN', { skip: skip ?? false }, () => {
  test('kernel ping (IPv4 and IPv6) to the stack gets replies; curl to a closed port is refused at once', async () => {
    const h = new NetnsHarness();
    const tmp = scratch();
    try {
      const host = await tunHost(h);
      const serve = synack(host.ns, ['serve', tmp.dir, '--port', '8080', ...host.flags]);
      await serve.waitFor('listening on port 8080');
      for (const [flag, addr] of [['-4', V4.stack], ['-6', V6.stack]] as const) {
        const ping = await host.ns.exec('ping', [flag, '-c', '3', '-i', '0.2', '-W', '2', addr], { timeoutMs: 15_000 });
        assert.equal(ping.code, 0, `ping ${addr}: ${ping.stdout}${ping.stderr}`);
        assert.match(ping.stdout, /3 packets transmitted, 3 received/);
      }
      const t0 = performance.now();
      const curl = await host.ns.exec('curl', ['-sS', '--max-time', '10', `http://${V4.stack}:8099/`], { timeoutMs: 15_000 });
      const ms = performance.now() - t0;
      assert.equal(curl.code, 7, `curl should fail to connect (exit 7): ${curl.stderr}`);
      assert.match(curl.stderr, /Couldn't connect|Connection refused/);
      assert.ok(ms < 2000, `refusal took ${ms.toFixed(0)} ms: an RST, not a timeout`);
      // The listening port still answers over IPv6 too (HEAD on the directory).
      const ok = await host.ns.exec('curl', ['-sS', '-I', '--max-time', '10', `http://[${V6.stack}]:8080/`], { timeoutMs: 15_000 });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^HTTP\/1\.1 200 OK/);
    } finally {
      await h.cleanup();
      tmp.remove();
    }
  });
});

describe('tshark captures a synack transfer on the TUN device', { skip: captureSkip ?? false }, () => {
  test('no malformed packet or bad checksum; SYN, SYN-ACK, ACK ... FIN, FIN, ACK; synack ends in TIME-WAIT', async () => {
    const h = new NetnsHarness();
    const tmp = scratch();
    try {
      const host = await tunHost(h);
      const size = 4 * MiB;
      const src = join(tmp.dir, 'src');
      const hash = randomFile(src, size);
      const got = join(tmp.dir, 'got');
      const pcap = join(tmp.dir, 'cap.pcap');
      const tshark = spawnIn(host.ns, 'tshark', ['-i', host.dev, '-F', 'pcap', '-w', pcap, '-f', 'tcp port 7000']);
      await tshark.waitFor('Capturing on', 20_000);
      const socat = spawnIn(host.ns, 'socat', ['-u', 'TCP-LISTEN:7000,reuseaddr', `OPEN:${got},creat,trunc`]);
      await waitListening(host.ns, 7000);
      const nc = synack(host.ns, ['nc', V4.kernel, '7000', ...host.flags], { stdin: src });
      const [ncCode, socatCode] = await within(Promise.all([nc.exited, socat.exited]), 60_000, 'nc -> socat');
      assert.equal(ncCode, 0, nc.stderr());
      assert.equal(socatCode, 0, socat.stderr());
      assert.equal(await sha256File(got), hash);

      // Wait (bounded) for tshark to have written the last ACK, then stop it.
      const lastAckSeen = (): boolean => {
        if (!existsSync(pcap)) return false;
        const r = tcpPacketsFromPcap(readFileSync(pcap));
        if (!r.ok) return false;
        const c = inferConnections(r.value.packets)[0];
        return c !== undefined && c.serverStates.at(-1) === 'CLOSED';
      };
      for (let i = 0; i < 100 && !lastAckSeen(); i++) await new Promise((r) => setTimeout(r, 50));
      tshark.proc.kill('SIGINT');
      await within(tshark.exited, 10_000, 'tshark stop');

      // tshark with checksum validation on: every IPv4 header and TCP checksum is good, nothing malformed.
      // The payload is random bytes: decode port 7000 as plain data, not as the protocol registered there.
      const fields = (filter: string): string[] => {
        const r = spawnSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-d', 'tcp.port==7000,data', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.split('\n').filter((l) => l !== '');
      };
      const all = fields('tcp');
      assert.ok(all.length > size / 65536, `captured ${all.length} TCP packets`);
      // With offloads both sides' TCP checksums may be partial by design (the device finishes them;
      // the capture sees packets before that): checked below instead of by tshark.
      const bad = fields(`_ws.malformed || (_ws.expert.severity == "Error"${OFFLOAD ? ' && tcp.checksum.status != 0' : ''})`);
      const explain = (frames: string[]): string =>
        frames.slice(0, 3).map((n) => spawnSync('tshark', ['-r', pcap, '-Y', `frame.number == ${n}`, '-O', 'tcp', '-o', 'tcp.check_checksum:TRUE'], { encoding: 'utf8' }).stdout).join('\n');
      assert.deepEqual(bad, [], `no malformed packet or expert error:\n${explain(bad)}`);
      if (!OFFLOAD) {
        assert.equal(fields('tcp.checksum.status == 1 && ip.checksum.status == 1').length, all.length, 'every IP and TCP checksum is good');
      } else {
        assert.equal(fields('ip.checksum.status == 1').length, all.length, 'every IP header checksum is good');
        // A TCP checksum is good, or CHECKSUM_PARTIAL: the folded pseudo-header sum over the segment.
        const cap = readPcap(readFileSync(pcap));
        assert.ok(cap.ok);
        let partial = 0;
        let supers = 0;
        for (const { data } of cap.value.packets) {
          if (data[0] !== 0x45 || data[9] !== 6) continue;
          const tcpLen = read16(data, 2) - 20;
          const pseudo = pseudoHeaderSum(data.subarray(12, 16), data.subarray(16, 20), 6, tcpLen);
          if (foldChecksum(onesSum(data, 20, 20 + tcpLen, pseudo)) !== 0) {
            assert.equal(read16(data, 36), ~foldChecksum(pseudo) & 0xffff, `partial checksum of a ${tcpLen}-byte segment`);
            partial++;
          }
          if (data[15] === 2 && read16(data, 2) > 1500) supers++;
        }
        assert.ok(partial > 0, 'partial checksums seen');
        assert.ok(supers > 0, "TSO: some of synack's packets are super-packets larger than the MTU");
      }

      const r = tcpPacketsFromPcap(readFileSync(pcap));
      assert.ok(r.ok);
      const pkts = r.value.packets;
      const conns = inferConnections(pkts);
      assert.equal(conns.length, 1);
      const c = conns[0]!;
      assert.match(c.client, new RegExp(`^${V4.stack.replace(/\./g, '\\.')}:\\d+$`));
      assert.equal(c.server, `${V4.kernel}:7000`);
      assert.ok(c.clientBytes >= size, `synack sent all ${size} bytes (${c.clientBytes} with ${c.retransmissions} retransmissions)`);

      // Handshake first, in order.
      const S = TcpFlag.SYN;
      const A = TcpFlag.ACK;
      const F = TcpFlag.FIN;
      const mask = S | A | F | TcpFlag.RST;
      assert.deepEqual(pkts.slice(0, 3).map((p) => [p.src === c.client, p.flags & mask]), [[true, S], [false, S | A], [true, A]]);
      // Close: synack's FIN first, then the kernel's FIN, and synack's ACK last; no RST anywhere.
      assert.ok(pkts.every((p) => (p.flags & TcpFlag.RST) === 0), 'no RST');
      const fins = pkts.map((p, i) => [i, p] as const).filter(([, p]) => (p.flags & F) !== 0);
      const firstClientFin = fins.find(([, p]) => p.src === c.client);
      const firstServerFin = fins.find(([, p]) => p.src === c.server);
      assert.ok(firstClientFin !== undefined && firstServerFin !== undefined, 'both sides sent FIN');
      assert.ok(firstClientFin[0] < firstServerFin[0], 'synack (stdin EOF) closed first');
      const last = pkts.at(-1)!;
      assert.equal(last.src, c.client);
      assert.equal(last.flags & mask, A, 'the last segment is synack ACKing the kernel FIN');

      // The inferred states: synack the active closer in TIME-WAIT, the kernel through LAST-ACK to CLOSED.
      assert.deepEqual(c.clientStates.slice(0, 4), ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1']);
      assert.equal(c.clientStates.at(-1), 'TIME-WAIT');
      assert.deepEqual(c.serverStates, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
      console.log(`# capture: ${pkts.length} segments, client states ${c.clientStates.join(' > ')}`);
    } finally {
      await h.cleanup();
      tmp.remove();
    }
  });
});
