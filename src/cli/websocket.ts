// The server side of the WebSocket protocol (RFC 6455) that `synack relay` needs, on node:http: the
// opening handshake (4.2.2), masked client frames (5.3), binary and text messages (5.6) with
// fragmentation (5.4), ping/pong (5.5.2-3) and the closing handshake (5.5.1, 7). Messages larger
// than `maxMessage` close the connection with 1009; protocol errors close it with 1002.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

export interface WsPeer {
  /** Send one binary message. Returns false (and sends nothing) once closed or when `bufferedAmount` is over the limit. */
  sendBinary(data: Uint8Array): boolean;
  sendText(text: string): void;
  /** Start the closing handshake with a status code and reason. */
  close(code?: number, reason?: string): void;
  /** Bytes written to the socket and not yet flushed. */
  readonly bufferedAmount: number;
  onBinary: ((data: Uint8Array) => void) | null;
  onText: ((text: string) => void) | null;
  onClose: ((code: number) => void) | null;
}

/**
 * Completes the handshake for an HTTP upgrade request and returns the peer, or answers 400 and
 * returns null when the request is not a WebSocket upgrade.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, opts: { maxMessage: number; maxBuffered: number }): WsPeer | null {
  const key = req.headers['sec-websocket-key'];
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (typeof key !== 'string' || upgrade !== 'websocket' || req.headers['sec-websocket-version'] !== '13') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return null;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  return new Peer(socket, opts.maxMessage, opts.maxBuffered);
}

class Peer implements WsPeer {
  onBinary: ((data: Uint8Array) => void) | null = null;
  onText: ((text: string) => void) | null = null;
  onClose: ((code: number) => void) | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private partsLen = 0;
  private partsOp = 0;
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly maxMessage: number,
    private readonly maxBuffered: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('close', () => this.finish(1006));
    socket.on('error', () => this.finish(1006));
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  sendBinary(data: Uint8Array): boolean {
    if (this.closed || this.socket.writableLength > this.maxBuffered) return false;
    this.frame(OP.BINARY, data);
    return true;
  }

  sendText(text: string): void {
    if (!this.closed) this.frame(OP.TEXT, Buffer.from(text, 'utf8'));
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.frame(OP.CLOSE, body);
    this.socket.end();
    this.finish(code);
  }

  private finish(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.(code);
  }

  /** Server frames are never masked (RFC 6455 5.1). */
  private frame(op: number, payload: Uint8Array): void {
    const n = payload.length;
    const head = Buffer.alloc(n < 126 ? 2 : n < 65536 ? 4 : 10);
    head[0] = 0x80 | op;
    if (n < 126) head[1] = n;
    else if (n < 65536) {
      head[1] = 126;
      head.writeUInt16BE(n, 2);
    } else {
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    this.socket.write(Buffer.concat([head, payload]));
  }

  private data(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (!this.closed) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const op = b[0]! & 0x0f;
      if ((b[0]! & 0x70) !== 0 || (b[1]! & 0x80) === 0) return this.close(1002, 'reserved bits or unmasked frame');
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(this.maxMessage)) return this.close(1009, 'message too big');
        len = Number(big);
        at = 10;
      }
      if (len > this.maxMessage) return this.close(1009, 'message too big');
      if (b.length < at + 4 + len) return;
      const mask = b.subarray(at, at + 4);
      const payload = Buffer.from(b.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < len; i++) payload[i]! ^= mask[i & 3]!;
      this.buf = b.subarray(at + 4 + len);
      this.message(fin, op, payload);
    }
  }

  private message(fin: boolean, op: number, payload: Buffer): void {
    if (op >= OP.CLOSE) {
      // Control frames: not fragmented, at most 125 bytes (RFC 6455 5.5).
      if (!fin || payload.length > 125) return this.close(1002, 'bad control frame');
      if (op === OP.PING) this.frame(OP.PONG, payload);
      else if (op === OP.CLOSE) this.close(payload.length >= 2 ? payload.readUInt16BE(0) : 1000);
      return;
    }
    if (op === OP.CONT) {
      if (this.partsOp === 0) return this.close(1002, 'continuation without a start');
    } else if (op === OP.TEXT || op === OP.BINARY) {
      if (this.partsOp !== 0) return this.close(1002, 'new message inside a fragmented one');
      this.partsOp = op;
    } else return this.close(1002, `opcode ${op}`);
    this.parts.push(payload);
    this.partsLen += payload.length;
    if (this.partsLen > this.maxMessage) return this.close(1009, 'message too big');
    if (!fin) return;
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const kind = this.partsOp;
    this.parts = [];
    this.partsLen = 0;
    this.partsOp = 0;
    if (kind === OP.BINARY) this.onBinary?.(new Uint8Array(whole.buffer, whole.byteOffset, whole.length));
    else this.onText?.(whole.toString('utf8'));
  }
}
