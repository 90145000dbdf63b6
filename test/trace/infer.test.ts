// State inference from captures built with the wire builders: textbook close, server close,
// simultaneous close and open, refused, spoofed RSTs, retransmissions, several connections, IPv6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpPacketsFromPcap, inferConnections, type InferredConnection } from '../../src/trace/infer.js';
import { renderLadder } from '../../src/trace/ladder.js';
import { Capture, CLI, SRV, C_ISN, S_ISN, clientClosesFirst } from './capture.js';

function infer(cap: Capture): InferredConnection[] {
  const r = tcpPacketsFromPcap(cap.bytes());
  assert.ok(r.ok, 'the pcap parses');
  return inferConnections(r.value.packets);
}
function only(cap: Capture): InferredConnection {
  const cs = infer(cap);
  assert.equal(cs.length, 1);
  return cs[0]!;
}

test('client closes first: client ends in TIME-WAIT, server goes CLOSE-WAIT, LAST-ACK, CLOSED', () => {
  const c = only(clientClosesFirst());
  assert.equal(c.client, '198.18.0.1:40000');
  assert.equal(c.server, '198.18.0.2:8080');
  assert.deepEqual(c.clientStates, ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
  assert.deepEqual(c.serverStates, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  assert.equal(c.sawOpen, true);
  assert.equal(c.segments, 11);
  assert.equal(c.clientBytes, 18);
  assert.equal(c.serverBytes, 120);
  assert.equal(c.retransmissions, 0);
  // Times are relative to the first packet; the SYN carries its options in tcpdump form.
  const syn = c.events.find((e) => e.type === 'segment');
  assert.ok(syn?.type === 'segment');
  assert.equal(syn.t, 0);
  assert.equal(syn.options, 'mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7');
  const states = c.events.filter((e) => e.type === 'state').map((e) => (e.type === 'state' ? `${e.host === c.client ? 'C' : 'S'}:${e.to}@${e.t.toFixed(1)}` : ''));
  assert.deepEqual(states, [
    'C:SYN-SENT@0.0', 'S:SYN-RECEIVED@0.0', 'C:ESTABLISHED@0.2', 'S:ESTABLISHED@0.3',
    'C:FIN-WAIT-1@1.0', 'S:CLOSE-WAIT@1.0', 'C:FIN-WAIT-2@1.1', 'S:LAST-ACK@2.0', 'C:TIME-WAIT@2.0', 'S:CLOSED@2.1',
  ]);
});

test('the inferred events draw a ladder with relative numbers and no ack on the SYN', () => {
  const c = only(clientClosesFirst());
  const out = renderLadder(c.events, { left: c.client, right: c.server, showTime: false });
  assert.match(out, /SYN seq=0 len=0 win=64240\s/);
  assert.match(out, /SYN-ACK seq=0 ack=1 len=0/);
  assert.match(out, /PSH-ACK seq=1 ack=19 len=120/);
  assert.match(out, /\[TIME-WAIT\]/);
});

test('server closes first: the server waits in TIME-WAIT, the client passes CLOSE-WAIT and LAST-ACK', () => {
  const cap = new Capture()
    .tcp(0, CLI, SRV, 'SYN', C_ISN, 0)
    .tcp(1, SRV, CLI, 'SYN,ACK', S_ISN, C_ISN + 1)
    .tcp(2, CLI, SRV, 'ACK', C_ISN + 1, S_ISN + 1)
    .tcp(3, SRV, CLI, 'FIN,ACK', S_ISN + 1, C_ISN + 1)
    .tcp(4, CLI, SRV, 'ACK', C_ISN + 1, S_ISN + 2)
    .tcp(5, CLI, SRV, 'FIN,ACK', C_ISN + 1, S_ISN + 2)
    .tcp(6, SRV, CLI, 'ACK', S_ISN + 2, C_ISN + 2);
  const c = only(cap);
  assert.deepEqual(c.clientStates, ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  assert.deepEqual(c.serverStates, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
});

test('a FIN that also acknowledges our FIN passes FIN-WAIT-2 on the way to TIME-WAIT (three-segment close)', () => {
  const cap = new Capture()
    .tcp(0, CLI, SRV, 'SYN', C_ISN, 0)
    .tcp(1, SRV, CLI, 'SYN,ACK', S_ISN, C_ISN + 1)
    .tcp(2, CLI, SRV, 'ACK', C_ISN + 1, S_ISN + 1)
    .tcp(3, CLI, SRV, 'FIN,ACK', C_ISN + 1, S_ISN + 1)
    .tcp(4, SRV, CLI, 'FIN,ACK', S_ISN + 1, C_ISN + 2)
    .tcp(5, CLI, SRV, 'ACK', C_ISN + 2, S_ISN + 2);
  const c = only(cap);
  assert.deepEqual(c.clientStates, ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
  assert.deepEqual(c.serverStates, ['LISTEN', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
});

test('simultaneous close: both sides go FIN-WAIT-1, CLOSING, TIME-WAIT', () => {
  const cap = new Capture()
    .tcp(0, CLI, SRV, 'SYN', C_ISN, 0)
    .tcp(1, SRV, CLI, 'SYN,ACK', S_ISN, C_ISN + 1)
    .tcp(2, CLI, SRV, 'ACK', C_ISN + 1, S_ISN + 1)
    .tcp(3, CLI, SRV, 'FIN,ACK', C_ISN + 1, S_ISN + 1)
    .tcp(3, SRV, CLI, 'FIN,ACK', S_ISN + 1, C_ISN + 1)
    .tcp(4, CLI, SRV, 'ACK', C_ISN + 2, S_ISN + 2)
    .tcp(4, SRV, CLI, 'ACK', S_ISN + 2, C_ISN + 2);
  const c = only(cap);
  const tail = ['ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT'];
  assert.deepEqual(c.clientStates.slice(2), tail);
  assert.deepEqual(c.serverStates.slice(2), tail);
});

test('simultaneous open: both sides start CLOSED and pass SYN-SENT and SYN-RECEIVED', () => {
  const cap = new Capture()
    .tcp(0, CLI, SRV, 'SYN', C_ISN, 0)
    .tcp(0, SRV, CLI, 'SYN', S_ISN, 0)
    .tcp(1, CLI, SRV, 'SYN,ACK', C_ISN, S_ISN + 1)
    .tcp(1, SRV, CLI, 'SYN,ACK', S_ISN, C_ISN + 1);
  const c = only(cap);
  const path = ['CLOSED', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED'];
  assert.deepEqual(c.clientStates, path);
  assert.deepEqual(c.serverStates, path);
});

test('refused: a RST answering the SYN closes the client; nothing was listening', () => {
  const cap = new Capture().tcp(0, CLI, SRV, 'SYN', C_ISN, 0).tcp(0.1, SRV, CLI, 'RST,ACK', 0, C_ISN + 1);
  const c = only(cap);
  assert.deepEqual(c.clientStates, ['CLOSED', 'SYN-SENT', 'CLOSED']);
  assert.deepEqual(c.serverStates, ['CLOSED']);
});

test('a RST outside the receive window is ignored; one at RCV.NXT closes the connection', () => {
  const attacker = { ip: SRV.ip, port: SRV.port };
  const cap = new Capture()
    .tcp(0, CLI, SRV, 'SYN', C_ISN, 0)
    .tcp(1, SRV, CLI, 'SYN,ACK', S_ISN, C_ISN + 1, 0, { window: 1000 })
    .tcp(2, CLI, SRV, 'ACK', C_ISN + 1, S_ISN + 1, 0, { window: 1000 })
    .tcp(3, attacker, CLI, 'RST', S_ISN + 500000, 0)
    .tcp(4, attacker, CLI, 'RST', S_ISN + 1, 0);
  const c = only(cap);
  assert.deepEqual(c.clientStates, ['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'CLOSED']);
  const closed = c.events.filter((e) => e.type === 'state' && e.to === 'CLOSED').map((e) => (e.type === 'state' ? `${e.host}@${e.t}` : ''));
  // The guess at t=3 is drawn as a segment but changes no one's state.
  assert.deepEqual(closed, ['198.18.0.2:8080@4', '198.18.0.1:40000@4']);
  assert.equal(c.events.filter((e) => e.type === 'segment' && e.flags === 'RST').length, 2);
});

test('retransmitted SYN and data are marked and counted', () => {
  const cap = new Capture()
    .tcp(0, CLI, SRV, 'SYN', C_ISN, 0)
    .tcp(1000, CLI, SRV, 'SYN', C_ISN, 0)
    .tcp(1001, SRV, CLI, 'SYN,ACK', S_ISN, C_ISN + 1)
    .tcp(1002, CLI, SRV, 'ACK', C_ISN + 1, S_ISN + 1)
    .tcp(1003, CLI, SRV, 'PSH,ACK', C_ISN + 1, S_ISN + 1, 100)
    .tcp(1203, CLI, SRV, 'PSH,ACK', C_ISN + 1, S_ISN + 1, 100)
    .tcp(1204, SRV, CLI, 'ACK', S_ISN + 1, C_ISN + 101);
  const c = only(cap);
  assert.equal(c.retransmissions, 2);
  const marked = c.events.filter((e) => e.type === 'segment' && e.retransmit === true).map((e) => e.t);
  assert.deepEqual(marked, [1000, 1203]);
  assert.deepEqual(c.clientStates, ['CLOSED', 'SYN-SENT', 'ESTABLISHED']);
  assert.equal(c.clientBytes, 200);
});

test('connections are told apart by 4-tuple and by a new ISN on a reused port; UDP is skipped', () => {
  const other = { ip: CLI.ip, port: 40001 };
  const cap = new Capture();
  clientClosesFirst(cap);
  cap.udp(2.5, CLI, SRV);
  clientClosesFirst(cap, other, SRV, 77, 88);
  clientClosesFirst(cap, CLI, SRV, C_ISN + 100000, S_ISN + 5);
  const r = tcpPacketsFromPcap(cap.bytes());
  assert.ok(r.ok);
  assert.equal(r.value.skipped, 1);
  const cs = inferConnections(r.value.packets);
  assert.equal(cs.length, 3);
  assert.deepEqual(cs.map((c) => [c.id, c.client, c.segments]), [
    [1, '198.18.0.1:40000', 11],
    [2, '198.18.0.1:40001', 11],
    [3, '198.18.0.1:40000', 11],
  ]);
  for (const c of cs) assert.equal(c.clientStates.at(-1), 'TIME-WAIT');
});

test('IPv6 endpoints are written [addr]:port', () => {
  const c = only(clientClosesFirst(new Capture(), { ip: '2001:db8::1', port: 5555 }, { ip: '2001:db8::2', port: 80 }));
  assert.equal(c.client, '[2001:db8::1]:5555');
  assert.equal(c.server, '[2001:db8::2]:80');
  assert.equal(c.serverStates.at(-1), 'CLOSED');
});

test('a capture that starts mid-connection assumes ESTABLISHED and still follows the close', () => {
  const cap = new Capture()
    .tcp(0, CLI, SRV, 'PSH,ACK', C_ISN + 1, S_ISN + 1, 10)
    .tcp(1, SRV, CLI, 'FIN,ACK', S_ISN + 1, C_ISN + 11)
    .tcp(2, CLI, SRV, 'FIN,ACK', C_ISN + 11, S_ISN + 2)
    .tcp(3, SRV, CLI, 'ACK', S_ISN + 2, C_ISN + 12);
  const c = only(cap);
  assert.equal(c.sawOpen, false);
  assert.deepEqual(c.clientStates, ['ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
  assert.deepEqual(c.serverStates, ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
  const out = renderLadder(c.events, { left: c.client, right: c.server });
  assert.match(out, /PSH-ACK seq=0 ack=0 len=10/);
});

test('garbage and truncated files give a typed error, never a throw', () => {
  const r = tcpPacketsFromPcap(new Uint8Array([1, 2, 3]));
  assert.equal(r.ok, false);
  const bytes = clientClosesFirst().bytes();
  const cut = tcpPacketsFromPcap(bytes.subarray(0, bytes.length - 5));
  assert.ok(cut.ok);
  assert.equal(cut.value.truncated, true);
  assert.equal(cut.value.packets.length, 10);
});
