/**
 * Response heads of NGI's HTTP/1.x engine (RFC 9112 §4, §6, §7) and the writes that put a
 * head and a small body on the socket as one buffer, one write.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Chunk } from '../interface/exchange.ts';

const STATUS_LINES = new Map<number, string>();

/** `HTTP/1.1 200 OK\r\n`: a server answers with the highest version it conforms to (RFC 9112 §2.3), for HTTP/1.0 requests too. */
export function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

let cachedDate = '';
function clearDate(): void {
  cachedDate = '';
}

/** The Date field line (RFC 9110 §6.6.1), formatted once a second (as node:http does). */
export function dateLine(): string {
  if (cachedDate === '') {
    const now = new Date();
    cachedDate = `date: ${now.toUTCString()}\r\n`;
    setTimeout(clearDate, 1000 - now.getMilliseconds()).unref();
  }
  return cachedDate;
}

/** Field lines of a flat [name, value, ...] list (names lowercase, values checked by normalizeFields: Latin-1 only). */
export function fieldLines(flat: readonly string[]): string {
  let lines = '';
  for (let i = 0; i < flat.length; i += 2) lines += `${flat[i]}: ${flat[i + 1]}\r\n`;
  return lines;
}

/** The 101 that accepts a WebSocket handshake (RFC 6455 §4.2.2), with the application's extra fields. */
export function websocketAcceptHead(status: number, accept: string, flat: readonly string[]): string {
  return `HTTP/1.1 ${status} Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n${fieldLines(flat)}\r\n`;
}

/** Copying a body smaller than this next to its head costs less than a second write. */
const COALESCE_LIMIT = 16 * 1024;

type FastBuffer = Buffer & { latin1Write(text: string, offset: number): number; utf8Write(text: string, offset: number): number };

/** Bytes of a body chunk (a string goes out as UTF-8). */
export function chunkLength(chunk: Chunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
}

/**
 * Writes `head` (Latin-1), `body` (`bodyLength` bytes) and `tail` (Latin-1) to the socket: one
 * buffer when the body is small, else three writes in one corked batch (the body passed by
 * reference). Returns what the last write returned (false: the socket's buffer is full).
 */
export function writeMessage(socket: Socket, head: string, body: Chunk, bodyLength: number, tail: string): boolean {
  if (head.length === 0 && tail.length === 0) return socket.write(body);
  const isString = typeof body === 'string';
  if (bodyLength <= COALESCE_LIMIT) {
    const out = Buffer.allocUnsafe(head.length + bodyLength + tail.length) as FastBuffer;
    out.latin1Write(head, 0);
    if (isString) out.utf8Write(body, head.length);
    else out.set(body, head.length);
    if (tail.length > 0) out.latin1Write(tail, head.length + bodyLength);
    return socket.write(out);
  }
  socket.cork();
  if (head.length > 0) socket.write(head, 'latin1');
  let ok = socket.write(body);
  if (tail.length > 0) ok = socket.write(tail, 'latin1');
  socket.uncork();
  return ok;
}
