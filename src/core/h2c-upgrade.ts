/**
 * HTTP/2 by Upgrade on cleartext (RFC 7540 §3.2; RFC 9113 §3.1 deprecates it, curl and
 * nghttp still use it). node:http2 has no upgrade entry point, so the server answers 101,
 * then splices the upgraded request into the client's byte stream as if the client had sent
 * it as stream 1: right after the client's preface and first SETTINGS frame come a HEADERS
 * frame (HPACK literals, no compression state needed) and DATA frames carrying any body.
 * The HTTP2-Settings header is not replayed as a SETTINGS frame: nghttp2 would then see an
 * ACK it never asked for.
 */
import { HTTP2_PREFACE } from './preface.ts';
import { hasToken } from './fields.ts';

const FRAME_HEADER = 9;
const TYPE_DATA = 0x0;
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
/** SETTINGS_MAX_FRAME_SIZE's initial value (RFC 9113 §6.5.2): the largest frame we may send before the peer says more. */
const MAX_FRAME = 16_384;

/**
 * Fields an HTTP/1.1 request carries that have no place in HTTP/2 (RFC 9113 §8.2.2), plus
 * the upgrade's own fields and Host (which becomes :authority).
 */
const DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'expect']);

/** RFC 7541 §5.1: an integer with an N-bit prefix. */
function hpackInteger(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** RFC 7541 §6.2.2: literal header field without indexing, new name, no Huffman coding. */
function hpackLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), Buffer.from(hpackInteger(n.length, 7, 0)), n, Buffer.from(hpackInteger(v.length, 7, 0)), v]);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

export interface UpgradedRequest {
  method: string;
  /** The HTTP/1.1 request-target, origin-form. */
  path: string;
  authority: string;
  /** Lowercase names and values, alternating, as received. */
  fields: readonly string[];
  body: Buffer;
}

/** The frames that stand for the upgraded request as stream 1. */
export function stream1Frames(request: UpgradedRequest): Buffer {
  const block: Buffer[] = [
    hpackLiteral(':method', request.method),
    hpackLiteral(':scheme', 'http'),
    hpackLiteral(':authority', request.authority),
    hpackLiteral(':path', request.path),
  ];
  const { fields } = request;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    if (DROPPED.has(name)) continue;
    // RFC 9113 §8.2.2: TE may be sent only as "trailers".
    if (name === 'te') {
      if (hasToken(fields[i + 1], 'trailers')) block.push(hpackLiteral('te', 'trailers'));
      continue;
    }
    block.push(hpackLiteral(name, fields[i + 1]!));
  }
  const headerBlock = Buffer.concat(block);
  const hasBody = request.body.length > 0;
  const frames: Buffer[] = [];
  for (let offset = 0; offset < headerBlock.length || offset === 0; offset += MAX_FRAME) {
    const piece = headerBlock.subarray(offset, offset + MAX_FRAME);
    const last = offset + MAX_FRAME >= headerBlock.length;
    if (offset === 0) {
      frames.push(frame(TYPE_HEADERS, (last ? FLAG_END_HEADERS : 0) | (hasBody ? 0 : FLAG_END_STREAM), 1, piece));
    } else {
      frames.push(frame(TYPE_CONTINUATION, last ? FLAG_END_HEADERS : 0, 1, piece));
    }
  }
  for (let offset = 0; offset < request.body.length; offset += MAX_FRAME) {
    const piece = request.body.subarray(offset, offset + MAX_FRAME);
    frames.push(frame(TYPE_DATA, offset + MAX_FRAME >= request.body.length ? FLAG_END_STREAM : 0, 1, piece));
  }
  return Buffer.concat(frames);
}

export type SpliceResult =
  | { state: 'need-more' }
  | { state: 'invalid'; reason: string }
  | { state: 'ready'; bytes: Buffer };

/**
 * Given what the client sent after the 101 so far, returns the byte stream to hand to the
 * HTTP/2 server: preface, the client's SETTINGS frame, stream 1, then the rest unchanged.
 */
export function spliceStream1(received: Buffer, frames: Buffer): SpliceResult {
  const prefix = Math.min(received.length, HTTP2_PREFACE.length);
  if (!received.subarray(0, prefix).equals(HTTP2_PREFACE.subarray(0, prefix))) {
    return { state: 'invalid', reason: 'the client did not send the HTTP/2 connection preface after 101' };
  }
  const at = HTTP2_PREFACE.length;
  if (received.length < at + FRAME_HEADER) return { state: 'need-more' };
  if (received[at + 3] !== TYPE_SETTINGS) return { state: 'invalid', reason: 'the preface is not followed by a SETTINGS frame (RFC 9113 §3.4)' };
  const end = at + FRAME_HEADER + received.readUIntBE(at, 3);
  if (received.length < end) return { state: 'need-more' };
  return { state: 'ready', bytes: Buffer.concat([received.subarray(0, end), frames, received.subarray(end)]) };
}

/** The largest body the splice can carry: the peer's initial stream and connection windows (RFC 9113 §6.9.2). */
export const MAX_UPGRADE_BODY = 65_535;
