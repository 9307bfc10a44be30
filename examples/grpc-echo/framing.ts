/**
 * gRPC message framing ("Length-Prefixed-Message" in gRPC's PROTOCOL-HTTP2.md): every
 * message on a request or response body is
 *
 *   Compressed-Flag (1 byte: 0 or 1) | Message-Length (4 bytes, big-endian) | Message
 *
 * Bodies arrive as arbitrary chunks: a message may span many chunks, and a chunk may hold
 * several messages or end in the middle of a prefix. `Deframer` parses them incrementally.
 */

export const PREFIX_SIZE = 5;

export interface Frame {
  /** The Compressed-Flag: the message is compressed with the call's grpc-encoding. */
  readonly compressed: boolean;
  readonly message: Uint8Array;
}

/** A body that does not frame as gRPC messages. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  constructor(message: string, readonly kind: 'malformed' | 'too-large' | 'truncated') {
    super(message);
  }
}

/** One message with its 5-byte prefix, ready to write. */
export function encodeFrame(message: Uint8Array, compressed = false): Uint8Array {
  const out = new Uint8Array(PREFIX_SIZE + message.length);
  out[0] = compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, PREFIX_SIZE);
  return out;
}

/**
 * Turns body chunks into messages as soon as each is complete. A message's bytes are copied
 * once, when it is complete (a message inside one chunk is a view of that chunk, no copy).
 */
export class Deframer {
  readonly #maxMessageSize: number;
  /** Bytes of the prefix seen so far. */
  readonly #prefix = new Uint8Array(PREFIX_SIZE);
  #prefixBytes = 0;
  #compressed = false;
  /** Length of the message being collected, or -1 while its prefix is incomplete. */
  #length = -1;
  #parts: Uint8Array[] = [];
  #partsBytes = 0;

  constructor(maxMessageSize: number) {
    this.#maxMessageSize = maxMessageSize;
  }

  /** Whether the input so far ends on a message boundary. */
  get idle(): boolean {
    return this.#prefixBytes === 0 && this.#length === -1;
  }

  /** Feeds one chunk; returns the messages it completed, in order. */
  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#length === -1) {
        // Collect the 5-byte prefix, which may itself be split across chunks.
        const take = Math.min(PREFIX_SIZE - this.#prefixBytes, chunk.length - at);
        this.#prefix.set(chunk.subarray(at, at + take), this.#prefixBytes);
        this.#prefixBytes += take;
        at += take;
        if (this.#prefixBytes < PREFIX_SIZE) break;
        this.#prefixBytes = 0;
        const flag = this.#prefix[0]!;
        if (flag > 1) throw new FramingError(`invalid compressed flag ${flag}`, 'malformed');
        const length = new DataView(this.#prefix.buffer).getUint32(1);
        if (length > this.#maxMessageSize) {
          throw new FramingError(`message of ${length} bytes exceeds the limit of ${this.#maxMessageSize}`, 'too-large');
        }
        this.#compressed = flag === 1;
        this.#length = length;
        this.#parts = [];
        this.#partsBytes = 0;
      }
      const want = this.#length - this.#partsBytes;
      const take = Math.min(want, chunk.length - at);
      if (take > 0) this.#parts.push(chunk.subarray(at, at + take));
      this.#partsBytes += take;
      at += take;
      if (this.#partsBytes === this.#length) {
        out.push({ compressed: this.#compressed, message: concat(this.#parts, this.#length) });
        this.#length = -1;
        this.#parts = [];
        this.#partsBytes = 0;
      }
    }
    return out;
  }

  /** The body has ended: throws if it stopped inside a message. */
  end(): void {
    if (!this.idle) throw new FramingError('the body ended inside a message', 'truncated');
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The messages of a body, each yielded as soon as its last byte has arrived (not when the
 * body ends): the reader of a streaming call can answer message n before message n+1 is sent.
 */
export async function* readFrames(body: AsyncIterable<Uint8Array>, maxMessageSize: number): AsyncGenerator<Frame, void, undefined> {
  const deframer = new Deframer(maxMessageSize);
  for await (const chunk of body) yield* deframer.push(chunk);
  deframer.end();
}
