/**
 * Writes a server's WebSocket frames (RFC 6455 §5.2): unmasked (§5.1), never fragmented, no
 * extension. A frame of up to COALESCE_LIMIT bytes is one buffer, head and payload, so one
 * write() (ws writes the head and the payload as two buffers through writev); a larger payload
 * is written as it is after its head, not copied.
 */
import type { Writable } from 'node:stream';
import { isValidCloseCode } from './close-codes.ts';

/** Copying this many bytes costs less than the writev that would avoid the copy. */
const COALESCE_LIMIT = 16 * 1024;

type FastBuffer = Buffer & { utf8Write(text: string, offset: number, length: number): number };

/** The head's length for a payload of `length` bytes: 7, 7+16 or 7+64 bits of length (§5.2). */
function headLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

function writeHead(out: Buffer, opcode: number, length: number): number {
  out[0] = 0x80 | opcode; // FIN: every frame this server sends is a whole message
  if (length < 126) {
    out[1] = length;
    return 2;
  }
  if (length < 65536) {
    out[1] = 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    return 4;
  }
  out[1] = 127;
  out.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  out.writeUInt32BE(length >>> 0, 6);
  return 10;
}

/**
 * Writes one whole frame to `out`. `done` runs when the transport has taken the last byte (or
 * failed). Returns what write() returned: false when the transport's buffer is full.
 */
export function writeFrame(out: Writable, opcode: number, data: string | ArrayBufferView | ArrayBuffer, done?: (error?: Error | null) => void): boolean {
  let payload: string | Uint8Array;
  if (typeof data === 'string' || data instanceof Uint8Array) payload = data;
  // Any other view (DataView, Uint16Array, …) or an ArrayBuffer: its bytes, not its elements
  // (set() would copy element by element and leave the rest of the frame uninitialized).
  else if (ArrayBuffer.isView(data)) payload = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  else payload = Buffer.from(data);
  if (typeof payload === 'string') {
    const length = Buffer.byteLength(payload);
    if (length <= COALESCE_LIMIT) {
      const frame = Buffer.allocUnsafe(headLength(length) + length) as FastBuffer;
      const at = writeHead(frame, opcode, length);
      if (length > 0) frame.utf8Write(payload, at, length);
      return out.write(frame, done);
    }
    payload = Buffer.from(payload, 'utf8');
  }
  const length = payload.byteLength;
  const head = Buffer.allocUnsafe(headLength(length) + (length <= COALESCE_LIMIT ? length : 0));
  const at = writeHead(head, opcode, length);
  if (length <= COALESCE_LIMIT) {
    if (length > 0) head.set(payload, at);
    return out.write(head, done);
  }
  // Two writes in one cork: one writev for both, and the payload is not copied.
  out.cork();
  out.write(head);
  const accepted = out.write(payload, done);
  out.uncork();
  return accepted;
}

/**
 * A Close frame's payload (§5.5.1): the code and the reason, or nothing for "no code" (1005 is
 * reported, never sent). Throws RangeError for a code §7.4 does not allow or a reason over 123
 * bytes (the 125 of a control frame less the code).
 */
export function closePayload(code: number | undefined, reason: string): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) throw new RangeError(`invalid close code ${String(code)}`);
  const length = Buffer.byteLength(reason);
  if (length > 123) throw new RangeError(`the close reason is ${length} bytes, at most 123 are allowed`);
  const payload = Buffer.allocUnsafe(2 + length);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return payload;
}
