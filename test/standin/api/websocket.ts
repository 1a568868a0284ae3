// The server side of RFC 6455 WebSockets, as much as the channel.k8s.io
// subprotocols need: the opening handshake, masked client frames (binary,
// text, fragmented), ping/pong and close. kube-apiserver serves pods/exec
// this way; the stand-in answers it without a WebSocket library.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. Pure. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(`${key}${GUID}`).digest('base64');
}

/** The subprotocol to answer: the client's first offer the server serves, as kube-apiserver picks. Pure. */
export function chooseProtocol(
  offered: string | undefined,
  served: readonly string[],
): string | undefined {
  const offers = (offered ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return offers.find((p) => served.includes(p));
}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * Reads whole frames from the front of `buf`: the frames and the bytes left
 * over (a frame not yet complete). Client frames must be masked (RFC 6455
 * 5.1); an unmasked one is an error. Pure.
 */
export function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    if ((b1 & 0x80) === 0) throw new Error('a client frame was not masked');
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      const big = buf.readBigUInt64BE(at + 2);
      if (big > BigInt(64 * 1024 * 1024)) throw new Error('a frame larger than 64 MiB');
      len = Number(big);
      head = 10;
    }
    if (buf.length - at < head + 4 + len) break;
    const mask = buf.subarray(at + head, at + head + 4);
    const payload = Buffer.from(buf.subarray(at + head + 4, at + head + 4 + len));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload });
    at += head + 4 + len;
  }
  return { frames, rest: buf.subarray(at) };
}

/** One unmasked server frame (FIN set). Pure. */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  let head: Buffer;
  if (len < 126) head = Buffer.from([0x80 | opcode, len]);
  else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export const OP = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface WebSocketConnection {
  protocol: string;
  /** Sends one binary message. */
  send(data: Buffer): void;
  /** Sends a close frame (1000) and ends the socket. Idempotent. */
  close(): void;
  /** Each whole message (binary or text) from the client. */
  onMessage(fn: (data: Buffer) => void): void;
  /** The client closed, or the connection dropped. */
  onClose(fn: () => void): void;
}

/** Whether a request asks to become a WebSocket. Pure. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/**
 * Completes the opening handshake with `protocol` and returns the
 * connection. The caller has checked the request (version 13, a key, the
 * subprotocol) and authorized it.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  protocol: string,
): WebSocketConnection {
  const key = String(req.headers['sec-websocket-key'] ?? '');
  socket.write(
    [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptKey(key)}`,
      `Sec-WebSocket-Protocol: ${protocol}`,
      '',
      '',
    ].join('\r\n'),
  );
  const messageFns: ((d: Buffer) => void)[] = [];
  const closeFns: (() => void)[] = [];
  let pending: Buffer = head;
  let fragments: Buffer[] = [];
  let closed = false;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    for (const f of closeFns) f();
  };
  const close = (): void => {
    if (!socket.writable) return finish();
    socket.end(encodeFrame(OP.close, Buffer.from([0x03, 0xe8])));
    finish();
  };
  const take = (chunk: Buffer): void => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let parsed: ReturnType<typeof parseFrames>;
    try {
      parsed = parseFrames(pending);
    } catch {
      socket.destroy();
      return finish();
    }
    pending = parsed.rest;
    for (const f of parsed.frames) {
      if (f.opcode === OP.ping) {
        if (socket.writable) socket.write(encodeFrame(OP.pong, f.payload));
      } else if (f.opcode === OP.close) {
        close();
      } else if (f.opcode === OP.pong) {
        // heartbeat answered
      } else {
        fragments.push(f.payload);
        if (f.fin) {
          const message = Buffer.concat(fragments);
          fragments = [];
          for (const fn of messageFns) fn(message);
        }
      }
    }
  };
  socket.on('data', take);
  socket.on('close', finish);
  socket.on('error', finish);
  if (head.length > 0) queueMicrotask(() => take(Buffer.alloc(0)));
  return {
    protocol,
    send(data) {
      if (!closed && socket.writable) socket.write(encodeFrame(OP.binary, data));
    },
    close,
    onMessage: (fn) => void messageFns.push(fn),
    onClose: (fn) => void closeFns.push(fn),
  };
}

/** Answers an upgrade request with an HTTP error instead (the handshake failed). */
export function refuseUpgrade(
  socket: Duplex,
  code: number,
  reasonPhrase: string,
  body: string,
): void {
  const bytes = Buffer.byteLength(body);
  socket.end(
    [
      `HTTP/1.1 ${code} ${reasonPhrase}`,
      'Content-Type: application/json',
      'Cache-Control: no-cache, private',
      `Content-Length: ${bytes}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
