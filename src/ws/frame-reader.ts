/**
 * Reads a client's WebSocket frames (RFC 6455 §5), sans I/O: bytes in through push(),
 * messages and control frames out through a sink. The server side only: every frame must be
 * masked (§5.1), and no extension is negotiated, so RSV1-3 must be clear (§5.2).
 *
 * A frame whose payload is already in the chunk is unmasked in place and handed on as a view
 * of that chunk, no copy (ws does the same); a payload spread over chunks is copied out of
 * them into one growing buffer (ByteBuilder), so what a connection holds is at most twice the
 * bytes that arrived, never a length a head announced, however small the chunks.
 */
import { isUtf8 } from 'node:buffer';
import { endianness } from 'node:os';
import { isValidCloseCode, NO_STATUS } from './close-codes.ts';
import { WsFrameError } from './errors.ts';

export interface FrameSink {
  /** A whole message. Text has been checked to be UTF-8 (§8.1). */
  onMessage(data: Buffer, binary: boolean): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** A Close frame (§5.5.1): its code, 1005 when it had none, and its reason. Nothing is read after it. */
  onClose(code: number, reason: string): void;
}

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** Control frames carry at most 125 bytes (§5.5). */
const MAX_CONTROL_PAYLOAD = 125;
/** Payloads of at least this many bytes are unmasked a 32-bit word at a time. */
const WORD_UNMASK_FROM = 32;
/** Payloads of at least this many bytes are unmasked by WebAssembly SIMD, where the runtime has it. */
const SIMD_UNMASK_FROM = 1024;

/**
 * A WebAssembly module (one 64 KiB page of memory) whose `xor(len, mask)` XORs memory
 * [0, len), len a multiple of 16, with the little-endian word `mask` repeated, 64 bytes per
 * loop turn in four v128 operations. Source (WAT), assembled with wabt's wat2wasm:
 *
 *   (module (memory (export "memory") 1)
 *     (func (export "xor") (param $len i32) (param $mask i32)
 *       (local $i i32) (local $m v128) (local $end64 i32)
 *       (local.set $m (i32x4.splat (local.get $mask)))
 *       (local.set $end64 (i32.and (local.get $len) (i32.const -64)))
 *       (block $done64 (loop $next64
 *         (br_if $done64 (i32.ge_u (local.get $i) (local.get $end64)))
 *         (v128.store offset=0 (local.get $i) (v128.xor (v128.load offset=0 (local.get $i)) (local.get $m)))
 *         ... the same at offsets 16, 32 and 48 ...
 *         (local.set $i (i32.add (local.get $i) (i32.const 64))) (br $next64)))
 *       (block $done (loop $next
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
 *         (v128.store (local.get $i) (v128.xor (v128.load (local.get $i)) (local.get $m)))
 *         (local.set $i (i32.add (local.get $i) (i32.const 16))) (br $next)))))
 *
 * Why: the JavaScript word loop below takes 17-37 µs per 64 KiB (Node 24, Node 20; V8 does
 * not vectorize it), this 6-8 µs including the copy in and out of its memory, ws's native
 * bufferutil 4.5 µs (bench/README.md, session 8). A runtime without WebAssembly SIMD keeps
 * the word loop.
 */
const SIMD_UNMASK_WASM =
  'AGFzbQEAAAABBgFgAn9/AAMCAQAFAwEAAQcQAgZtZW1vcnkCAAN4b3IAAAqVAQGSAQMBfwF7AX8gAf0RIQMgAEFAcSEEAkADQCACIARPDQEgAiAC/QAEACAD/VH9CwQAIAIgAv0ABBAgA/1R/QsEECACIAL9AAQgIAP9Uf0LBCAgAiAC/QAEMCAD/VH9CwQwIAJBwABqIQIMAAsLAkADQCACIABPDQEgAiAC/QAEACAD/VH9CwQAIAJBEGohAgwACwsL';

/** The part of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; xor: (length: number, mask: number) => void } };
}

function loadSimd(): { memory: Uint8Array; xor: (length: number, mask: number) => void } | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmGlobal }).WebAssembly;
  if (wasm === undefined) return undefined;
  try {
    // Compiling fails where the runtime has no SIMD (the module uses v128).
    const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(SIMD_UNMASK_WASM, 'base64')));
    return { memory: new Uint8Array(exports.memory.buffer), xor: exports.xor };
  } catch {
    return undefined;
  }
}
const simd = loadSimd();
/** How unmask() handles payloads of SIMD_UNMASK_FROM bytes and more here: 'simd' wherever WebAssembly SIMD compiles. */
export const LARGE_UNMASK: 'simd' | 'words' = simd === undefined ? 'words' : 'simd';
const LITTLE_ENDIAN = endianness() === 'LE';
const EMPTY = Buffer.alloc(0);

/** The mask from byte `phase` on as one 32-bit word, laid out in memory as the bytes are (WebAssembly is little-endian). */
function maskWord(mask: Buffer, phase: number, littleEndian: boolean): number {
  const m0 = mask[phase & 3]!, m1 = mask[(phase + 1) & 3]!, m2 = mask[(phase + 2) & 3]!, m3 = mask[(phase + 3) & 3]!;
  return littleEndian ? m0 | (m1 << 8) | (m2 << 16) | (m3 << 24) : (m0 << 24) | (m1 << 16) | (m2 << 8) | m3;
}

/**
 * XORs `buf[start, end)` with the 4-byte mask, starting at mask byte `phase` (a payload that
 * arrives in pieces continues where the last piece stopped). Returns the next phase.
 */
export function unmask(buf: Buffer, start: number, end: number, mask: Buffer, phase: number): number {
  let i = start;
  if (end - start >= SIMD_UNMASK_FROM && simd !== undefined) {
    // Whole 16-byte blocks through WebAssembly SIMD, a page at a time; every block is a
    // multiple of 4 bytes, so the mask phase is the same at each block's start.
    const word = maskWord(mask, phase, true);
    const blocks = (end - i) & ~15;
    for (const stop = i + blocks; i < stop; ) {
      const n = Math.min(stop - i, simd.memory.length);
      simd.memory.set(buf.subarray(i, i + n), 0);
      simd.xor(n, word);
      buf.set(simd.memory.subarray(0, n), i);
      i += n;
    }
  } else if (end - start >= WORD_UNMASK_FROM) {
    // Byte by byte up to a 4-byte boundary of the underlying memory, then whole words.
    while (((buf.byteOffset + i) & 3) !== 0) buf[i++]! ^= mask[phase++ & 3]!;
    const words = (end - i) >>> 2;
    const word = maskWord(mask, phase, LITTLE_ENDIAN);
    const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= word;
    i += words << 2;
  }
  while (i < end) buf[i++]! ^= mask[phase++ & 3]!;
  return phase & 3;
}

/**
 * Bytes gathered from pieces: a payload spread over chunks, or the fragments of a message.
 * One buffer grown by doubling up to the most it can hold, so neither a payload sent a byte
 * per chunk nor a message of many tiny fragments costs an object per piece, and what it holds
 * is at most twice what arrived (never what a head announced).
 */
class ByteBuilder {
  #bytes: Buffer;
  length = 0;
  readonly #max: number;

  constructor(expected: number, max: number) {
    this.#max = max;
    this.#bytes = Buffer.allocUnsafe(Math.min(Math.max(expected, 1024), max));
  }

  append(part: Buffer): void {
    const needed = this.length + part.length;
    if (needed > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(this.#bytes.length * 2, this.#max)));
      this.#bytes.copy(grown, 0, 0, this.length);
      this.#bytes = grown;
    }
    part.copy(this.#bytes, this.length);
    this.length = needed;
  }

  /** Unmasks what was appended from `from` on; returns the next mask phase. */
  unmaskFrom(from: number, mask: Buffer, phase: number): number {
    return unmask(this.#bytes, from, this.length, mask, phase);
  }

  take(): Buffer {
    return this.#bytes.subarray(0, this.length);
  }
}

export class FrameReader {
  readonly #sink: FrameSink;
  readonly #maxMessageSize: number;
  /** Bytes received and not yet parsed: a partial frame head, or what arrived while paused. */
  #pending: Buffer | undefined;
  #paused = false;
  /** A Close frame was read, or the peer broke the protocol: nothing more is parsed. */
  #done = false;

  // The frame whose payload is being gathered across chunks, copied out of them as they come.
  #gathering: ByteBuilder | undefined;
  #payloadLength = 0;
  #maskPhase = 0;
  #mask: Buffer = EMPTY;
  #opcode = 0;
  #fin = false;

  // The message being assembled from fragments (§5.4).
  /** Its opcode (text or binary) while a fragmented message is open, else 0. */
  #fragmentedOpcode = 0;
  #fragments: ByteBuilder | undefined;
  /** Payload bytes of the current data message so far, for maxMessageSize. */
  #messageLength = 0;

  constructor(sink: FrameSink, maxMessageSize: number) {
    this.#sink = sink;
    this.#maxMessageSize = maxMessageSize;
  }

  /** True once a Close frame was read or an error thrown. */
  get done(): boolean {
    return this.#done;
  }

  /** Parses what it can of `chunk`. Throws a WsFrameError when the peer broke the protocol. */
  push(chunk: Buffer): void {
    if (this.#done) return;
    if (this.#pending !== undefined) {
      chunk = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    this.#parse(chunk);
  }

  /** Stops handing out frames: what arrives is kept until resume(). */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const pending = this.#pending;
    if (pending !== undefined && !this.#done) {
      this.#pending = undefined;
      this.#parse(pending);
    }
  }

  #fail(error: WsFrameError): never {
    this.#done = true;
    this.#pending = undefined;
    this.#gathering = undefined;
    this.#fragments = undefined;
    throw error;
  }

  #parse(buf: Buffer): void {
    let offset = 0;
    const length = buf.length;
    while (!this.#paused && !this.#done) {
      const gathering = this.#gathering;
      if (gathering !== undefined) {
        // The rest of a payload that started in an earlier chunk.
        const take = Math.min(this.#payloadLength - gathering.length, length - offset);
        const from = gathering.length;
        gathering.append(buf.subarray(offset, offset + take));
        this.#maskPhase = gathering.unmaskFrom(from, this.#mask, this.#maskPhase);
        offset += take;
        if (gathering.length < this.#payloadLength) break;
        this.#gathering = undefined;
        this.#mask = EMPTY;
        this.#frame(gathering.take());
        continue;
      }
      const available = length - offset;
      if (available < 2) break;
      const b0 = buf[offset]!;
      const b1 = buf[offset + 1]!;
      const short = b1 & 0x7f;
      const lengthEnd = short === 126 ? 4 : short === 127 ? 10 : 2;
      const headLength = lengthEnd + 4;
      // The two first bytes can already be refused, and so can the length once it is here;
      // the rest waits for the whole head.
      this.#checkFirstBytes(b0, b1, short);
      if (available < lengthEnd) break;
      let payloadLength = short;
      if (short === 126) payloadLength = buf.readUInt16BE(offset + 2);
      else if (short === 127) {
        const high = buf.readUInt32BE(offset + 2);
        // A length JavaScript cannot hold exactly (§5.2 allows 63 bits): ws refuses it the same way.
        if (high > 2 ** 21 - 1) this.#fail(new WsFrameError('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'payload length above 2^53 - 1'));
        payloadLength = high * 2 ** 32 + buf.readUInt32BE(offset + 6);
      }
      // RFC 6455 §10.4: a message over the limit is refused as soon as its length is read, not
      // once the mask key has come too (ws refuses it there). The length counts once, when the
      // whole head is here: a partial head is looked at again with the next chunk.
      const messageLength = this.#opcode < 0x8 ? this.#messageLength + payloadLength : this.#messageLength;
      if (messageLength > this.#maxMessageSize) {
        this.#fail(new WsFrameError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', `message larger than ${this.#maxMessageSize} bytes`));
      }
      if (available < headLength) break;
      this.#messageLength = messageLength;
      // A view while the payload is in this chunk; a field only when it spans chunks (a field
      // holding a view would keep the chunk alive after its frames were read).
      const mask = buf.subarray(offset + headLength - 4, offset + headLength);
      offset += headLength;
      if (length - offset >= payloadLength) {
        const payload = buf.subarray(offset, offset + payloadLength);
        unmask(payload, 0, payloadLength, mask, 0);
        offset += payloadLength;
        this.#frame(payload);
        continue;
      }
      // The payload continues in later chunks.
      this.#mask = Buffer.from(mask);
      const part = buf.subarray(offset, length);
      const gather = new ByteBuilder(part.length * 2, payloadLength);
      gather.append(part);
      this.#maskPhase = gather.unmaskFrom(0, this.#mask, 0);
      this.#gathering = gather;
      this.#payloadLength = payloadLength;
      offset = length;
      break;
    }
    if (offset < length && !this.#done) this.#pending = offset === 0 ? buf : buf.subarray(offset);
  }

  /** The checks of §5.2 that the first two bytes decide; sets #opcode and #fin. */
  #checkFirstBytes(b0: number, b1: number, short: number): void {
    if ((b0 & 0x30) !== 0) this.#fail(new WsFrameError('WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear'));
    if ((b0 & 0x40) !== 0) this.#fail(new WsFrameError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear'));
    const fin = (b0 & 0x80) !== 0;
    let opcode = b0 & 0x0f;
    if (opcode === OPCODE_CONTINUATION) {
      if (this.#fragmentedOpcode === 0) this.#fail(new WsFrameError('WS_ERR_INVALID_OPCODE', 'invalid opcode 0'));
      opcode = this.#fragmentedOpcode;
    } else if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
      // §5.4: the fragments of one message are not interleaved with another message.
      if (this.#fragmentedOpcode !== 0) this.#fail(new WsFrameError('WS_ERR_INVALID_OPCODE', `invalid opcode ${opcode}`));
      this.#messageLength = 0;
    } else if (opcode === OPCODE_CLOSE || opcode === OPCODE_PING || opcode === OPCODE_PONG) {
      // §5.5: control frames are never fragmented and carry at most 125 bytes; a Close
      // payload is empty or starts with a 2-byte code.
      if (!fin) this.#fail(new WsFrameError('WS_ERR_EXPECTED_FIN', 'FIN must be set'));
      if (short > MAX_CONTROL_PAYLOAD || (opcode === OPCODE_CLOSE && short === 1)) {
        this.#fail(new WsFrameError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `invalid payload length ${short}`));
      }
    } else {
      this.#fail(new WsFrameError('WS_ERR_INVALID_OPCODE', `invalid opcode ${opcode}`));
    }
    // §5.1: a server must close the connection on an unmasked client frame.
    if ((b1 & 0x80) === 0) this.#fail(new WsFrameError('WS_ERR_EXPECTED_MASK', 'MASK must be set'));
    this.#opcode = opcode;
    this.#fin = fin;
  }

  /** One whole, unmasked frame. */
  #frame(payload: Buffer): void {
    const opcode = this.#opcode;
    if (opcode >= OPCODE_CLOSE) {
      this.#control(opcode, payload);
      return;
    }
    if (!this.#fin) {
      if (this.#fragmentedOpcode === 0) {
        this.#fragmentedOpcode = opcode;
        this.#fragments = new ByteBuilder(payload.length * 2, this.#maxMessageSize);
      }
      if (payload.length > 0) this.#fragments!.append(payload);
      return;
    }
    let data = payload;
    if (this.#fragmentedOpcode !== 0) {
      this.#fragments!.append(payload);
      data = this.#fragments!.take();
      this.#fragments = undefined;
      this.#fragmentedOpcode = 0;
    }
    if (opcode === OPCODE_TEXT) {
      if (!isUtf8(data)) this.#fail(new WsFrameError('WS_ERR_INVALID_UTF8', 'invalid UTF-8 sequence'));
      this.#sink.onMessage(data, false);
    } else {
      this.#sink.onMessage(data, true);
    }
  }

  #control(opcode: number, payload: Buffer): void {
    if (opcode === OPCODE_PING) {
      this.#sink.onPing(payload);
      return;
    }
    if (opcode === OPCODE_PONG) {
      this.#sink.onPong(payload);
      return;
    }
    if (payload.length === 0) {
      this.#done = true;
      this.#sink.onClose(NO_STATUS, '');
      return;
    }
    const code = payload.readUInt16BE(0);
    if (!isValidCloseCode(code)) this.#fail(new WsFrameError('WS_ERR_INVALID_CLOSE_CODE', `invalid status code ${code}`));
    const reason = payload.subarray(2);
    if (!isUtf8(reason)) this.#fail(new WsFrameError('WS_ERR_INVALID_UTF8', 'invalid UTF-8 sequence'));
    this.#done = true;
    this.#sink.onClose(code, reason.toString('utf8'));
  }
}
