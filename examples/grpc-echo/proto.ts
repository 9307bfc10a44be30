/**
 * The one protobuf message of the echo service, encoded by hand (no protobuf library):
 *
 *   syntax = "proto3";
 *   message Msg { string text = 1; int32 seq = 2; }
 *
 * Wire format (protobuf encoding guide): each field is a key, `(field_number << 3) | wire_type`
 * as a varint, then its value. `text` is length-delimited (wire type 2: a varint byte length,
 * then UTF-8); `seq` is a varint (wire type 0), negative int32 values sign-extended to 64 bits
 * (ten bytes). proto3 leaves fields at their default ('' and 0) out. A decoder skips fields
 * it does not know, and the last occurrence of a repeated scalar field wins.
 */

export interface Msg {
  text: string;
  seq: number;
}

/** A message that is not valid protobuf for Msg. */
export class ProtoError extends Error {
  override readonly name = 'ProtoError';
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const TAG_TEXT = (1 << 3) | WIRE_LEN; // 0x0a
const TAG_SEQ = (2 << 3) | WIRE_VARINT; // 0x10

const encoder = new TextEncoder();
// proto3 `string` fields must hold valid UTF-8 (decoding rejects anything else).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes a varint of this unsigned value takes (values below 2^53). */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes an unsigned varint (value below 2^53) at `at`; returns the next offset. */
function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** An int32 as the varint of its 64-bit two's complement: ten bytes when negative. */
function writeInt32(out: Uint8Array, at: number, value: number): number {
  if (value >= 0) return writeVarint(out, at, value);
  // Low 32 bits in two's complement, the high 32 bits all ones.
  let lo = value >>> 0;
  let hi = 0xffff_ffff;
  for (let i = 0; i < 9; i++) {
    out[at++] = (lo & 0x7f) | 0x80;
    lo = (lo >>> 7) | ((hi & 0x7f) << 25);
    hi >>>= 7;
  }
  out[at++] = lo & 0x01; // bit 63
  return at;
}

function int32Size(value: number): number {
  return value < 0 ? 10 : varintSize(value);
}

export function encodeMsg(msg: Msg): Uint8Array {
  const seq = msg.seq;
  if (!Number.isInteger(seq) || seq < -0x8000_0000 || seq > 0x7fff_ffff) throw new ProtoError(`seq must be an int32, got ${seq}`);
  const text = msg.text.length > 0 ? encoder.encode(msg.text) : undefined;
  let size = 0;
  if (text) size += 1 + varintSize(text.length) + text.length;
  if (seq !== 0) size += 1 + int32Size(seq);
  const out = new Uint8Array(size);
  let at = 0;
  if (text) {
    out[at++] = TAG_TEXT;
    at = writeVarint(out, at, text.length);
    out.set(text, at);
    at += text.length;
  }
  if (seq !== 0) {
    out[at++] = TAG_SEQ;
    at = writeInt32(out, at, seq);
  }
  return out;
}

/** A cursor over a message's bytes. */
class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  #byte(): number {
    const b = this.bytes[this.at++];
    if (b === undefined) throw new ProtoError('truncated varint');
    return b;
  }

  /**
   * A varint of up to ten bytes, as its low 32 bits (`lo`, unsigned) and the value as a
   * number when it is below 2^53 (`value`; NaN above, where only `lo` is meaningful).
   */
  varint(): { lo: number; value: number } {
    let lo = 0;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte();
      const bits = b & 0x7f;
      if (i < 5) lo = (lo | (bits << (7 * i))) >>> 0; // bits above 31 fall off
      value += bits * scale;
      scale *= 128;
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 0x01) throw new ProtoError('varint longer than 64 bits');
        return { lo, value: value <= Number.MAX_SAFE_INTEGER ? value : Number.NaN };
      }
    }
    throw new ProtoError('varint longer than ten bytes');
  }

  /** A length prefix and the bytes it covers. */
  lengthDelimited(): Uint8Array {
    const { value: length } = this.varint();
    if (!(length <= this.bytes.length - this.at)) throw new ProtoError('length-delimited field runs past the end of the message');
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  skip(bytes: number): void {
    if (this.bytes.length - this.at < bytes) throw new ProtoError('fixed-size field runs past the end of the message');
    this.at += bytes;
  }
}

export function decodeMsg(bytes: Uint8Array): Msg {
  const reader = new Reader(bytes);
  const msg: Msg = { text: '', seq: 0 };
  while (!reader.done) {
    const key = reader.varint().value;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (!(field >= 1 && field <= 0x1fff_ffff)) throw new ProtoError(`invalid field number ${field}`);
    if (field === 1 && wire === WIRE_LEN) {
      try {
        msg.text = decoder.decode(reader.lengthDelimited());
      } catch (error) {
        if (error instanceof ProtoError) throw error;
        throw new ProtoError('field text is not valid UTF-8');
      }
    } else if (field === 2 && wire === WIRE_VARINT) {
      msg.seq = reader.varint().lo | 0; // int32: the low 32 bits, as signed
    } else if (field === 1 || field === 2) {
      throw new ProtoError(`field ${field} has wire type ${wire}, expected ${field === 1 ? WIRE_LEN : WIRE_VARINT}`);
    } else {
      // Unknown fields are skipped (proto3 keeps them; this decoder has nowhere to put them).
      switch (wire) {
        case WIRE_VARINT: reader.varint(); break;
        case WIRE_I64: reader.skip(8); break;
        case WIRE_LEN: reader.lengthDelimited(); break;
        case WIRE_I32: reader.skip(4); break;
        default: throw new ProtoError(`unsupported wire type ${wire} (groups are not used by proto3)`);
      }
    }
  }
  return msg;
}
