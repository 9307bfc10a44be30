/**
 * The request body over a node Readable (an http.IncomingMessage or an Http2Stream).
 * Backpressure comes from reading on demand: while the application does not pull, the
 * Readable stays paused, so HTTP/1.1 stops reading the socket and HTTP/2 sends no
 * WINDOW_UPDATE for the stream (Node returns window only as JavaScript consumes data).
 */
import type { Readable } from 'node:stream';
import type { Fields } from '../interface/fields.ts';
import type { ReadOptions, RequestBody } from '../interface/exchange.ts';
import type { FlowControlFeature } from '../interface/features.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { NgiError } from '../interface/errors.ts';
import { FlatFields } from '../core/fields.ts';

export interface BodySource {
  /** Called once, when the application first reads (answers `Expect: 100-continue`). */
  onFirstRead(): void;
  /** The trailer section, valid once the Readable has ended. */
  trailers(): FlatFields;
  /** A body over this size is refused with NGI_ERR_BODY_TOO_LARGE. */
  readonly maxBodySize: number;
  /**
   * Read in flowing mode (HTTP/1.x), or pull with read() so that bytes read, which HTTP/2
   * returns to the client as stream credit, follow the application (see BodyReader).
   */
  readonly flowing: boolean;
  readonly maxBufferedBody: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false });
// The reader's hooks into its body: symbol-keyed, so that the object applications see as
// request.body and features.flowControl has no such methods by name.
const kThrottleDue = Symbol('ngi.body.throttleDue');
const kReaderEnded = Symbol('ngi.body.readerEnded');
const kReaderFailed = Symbol('ngi.body.readerFailed');
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The async iterator over one request body (see NodeRequestBody[Symbol.asyncIterator]). It
 * reads in one of two ways, chosen by the protocol (BodySource.flowing):
 *
 * - Flowing ('data' events, as a raw `req.on('data')` handler), pausing the Readable only when
 *   the application falls a highWaterMark behind. For HTTP/1.x: pulling with read() on
 *   'readable' made node stop and restart the socket for every full-size chunk (a 64 KiB chunk
 *   fills the 64 KiB highWaterMark, push() returns false, node calls readStop(); read() then
 *   empties the buffer and _read() calls readStart()): 1 MiB uploads measured 0.60x of
 *   node:http on Node 24. The extra highWaterMark read ahead is nothing beside what TCP
 *   buffers in the kernel anyway.
 * - Pulled (read() on 'readable') for HTTP/2, where bytes read are stream credit returned to
 *   the client (WINDOW_UPDATE): the client may then run ahead of the application by the stream
 *   window plus node's buffer, no more (spec/http.md §2). HTTP/2 DATA frames (16 KiB) do not
 *   fill a highWaterMark one by one, so pulling costs no stop/start per chunk there.
 */
class BodyReader implements AsyncIterator<Uint8Array> {
  readonly #body: NodeRequestBody;
  readonly #readable: Readable;
  readonly #max: number;
  readonly #flowing: boolean;
  /** Flowing mode: chunks received and not yet handed to the application. */
  readonly #queue: Buffer[] = [];
  #queuedBytes = 0;
  readonly #pauseAt: number;
  #paused = false;
  #received = 0;
  /** Bytes of the last chunk, owed to the upload rate limit before the next read. */
  #owed = 0;
  #finished = false;
  #wake: (() => void) | undefined;
  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    if (this.#wake !== undefined) this.#signal();
    else if (!this.#paused && this.#queuedBytes >= this.#pauseAt) {
      this.#paused = true;
      this.#readable.pause();
    }
  };
  /** 'readable', 'end', 'error', 'close': next() reads what happened from the Readable itself. */
  readonly #onEvent = (): void => this.#signal();

  constructor(body: NodeRequestBody, readable: Readable, max: number, flowing: boolean) {
    this.#body = body;
    this.#readable = readable;
    this.#max = max;
    this.#flowing = flowing;
    this.#pauseAt = readable.readableHighWaterMark;
    readable.on('end', this.#onEvent);
    readable.on('error', this.#onEvent);
    readable.on('close', this.#onEvent);
    // Last: either listener starts the Readable (a 'data' listener switches it to flowing).
    if (flowing) readable.on('data', this.#onData);
    else readable.on('readable', this.#onEvent);
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The next chunk received, or null when none is there yet. */
  #take(): Buffer | null {
    if (!this.#flowing) return this.#readable.read() as Buffer | null;
    const chunk = this.#queue.shift();
    if (chunk === undefined) return null;
    this.#queuedBytes -= chunk.length;
    if (this.#paused && this.#queuedBytes < this.#pauseAt) {
      this.#paused = false;
      this.#readable.resume();
    }
    return chunk;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#finished) return DONE;
    if (this.#owed > 0) {
      const owed = this.#owed;
      this.#owed = 0;
      const due = this.#body[kThrottleDue](owed);
      if (due !== undefined) await due;
    }
    const readable = this.#readable;
    for (;;) {
      const chunk = this.#take();
      if (chunk !== null) {
        this.#received += chunk.length;
        if (this.#received > this.#max) {
          throw this.#fail(new NgiError('BODY_TOO_LARGE', `request body exceeds the server limit of ${this.#max} bytes`));
        }
        this.#owed = chunk.length;
        return { done: false, value: chunk };
      }
      if (readable.readableEnded) {
        this.#stop();
        this.#body[kReaderEnded]();
        return DONE;
      }
      if (readable.destroyed || readable.errored) {
        throw this.#fail(new NgiError('STREAM_CLOSED', 'the request body was cut off: the client reset the stream or closed the connection', { cause: readable.errored ?? undefined }));
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Leaving a loop early leaves the Readable to the server, which drains or resets it. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.#stop();
    return Promise.resolve(DONE);
  }

  #fail(failure: NgiError): NgiError {
    this.#stop();
    this.#body[kReaderFailed](failure);
    return failure;
  }

  #stop(): void {
    if (this.#finished) return;
    this.#finished = true;
    const readable = this.#readable;
    readable.off('end', this.#onEvent);
    readable.off('error', this.#onEvent);
    readable.off('close', this.#onEvent);
    if (this.#flowing) {
      readable.off('data', this.#onData);
      // Out of flowing mode: what is left is the server's to discard or refuse
      // (releaseRequest), not read on by a Readable that flows with nobody listening.
      if (!readable.readableEnded) readable.pause();
      this.#queue.length = 0;
      this.#queuedBytes = 0;
    } else {
      readable.off('readable', this.#onEvent);
    }
  }
}

export class NodeRequestBody implements RequestBody, FlowControlFeature {
  readonly length: number | undefined;
  readonly #readable: Readable;
  readonly #source: BodySource;
  /** True when the request carries no body at all (e.g. END_STREAM on HEADERS). */
  readonly #empty: boolean;
  #consumed = false;
  #ended = false;
  #trailers: Promise<Fields> | undefined;
  #settleTrailers: ((error?: Error) => void) | undefined;
  /** Why reading stopped early, if it did. */
  #failure: Error | undefined;
  /** Upload rate limit, bytes per second, and the bytes counted since it was set. */
  #rate: number | null = null;
  #rateSince = 0;
  #rateBytes = 0;

  constructor(readable: Readable, length: number | undefined, empty: boolean, source: BodySource) {
    this.#readable = readable;
    this.length = length;
    this.#empty = empty;
    this.#source = source;
  }

  /** Whether the body has been read to its end (by the application or because it was empty). */
  get finished(): boolean {
    return this.#ended || this.#empty;
  }

  get trailers(): Promise<Fields> {
    if (this.#trailers === undefined) {
      if (this.#failure !== undefined) {
        this.#trailers = Promise.reject(this.#failure);
        this.#trailers.catch(() => {});
      } else if (this.finished) {
        this.#trailers = Promise.resolve(this.#empty ? FlatFields.empty : this.#source.trailers());
      } else {
        this.#trailers = new Promise<Fields>((resolve, reject) => {
          this.#settleTrailers = (error) => (error ? reject(error) : resolve(this.#source.trailers()));
        });
        // A rejection nobody awaits must not crash the process.
        this.#trailers.catch(() => {});
      }
    }
    return this.#trailers;
  }

  /**
   * One reader per body, with one listener set (node's readable.iterator() wrapped in an async
   * generator cost two promise chains per chunk). Nothing is read before the application starts
   * iterating, and a reader that falls behind holds the client back (see BodyReader).
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#consumed) {
      return { next: () => Promise.reject(new NgiError('BODY_CONSUMED', 'the request body can be read only once')) };
    }
    this.#consumed = true;
    if (this.#empty) return { next: () => Promise.resolve(DONE) };
    this.#source.onFirstRead();
    return new BodyReader(this, this.#readable, this.#source.maxBodySize, this.#source.flowing);
  }

  /** The reader got a chunk: the upload rate limit, if any, is applied before the next. */
  [kThrottleDue](bytes: number): Promise<void> | undefined {
    if (this.#rate === null) return undefined;
    return this.#throttle(bytes);
  }

  /** The reader reached the end of the body. */
  [kReaderEnded](): void {
    this.#ended = true;
    const settle = this.#settleTrailers;
    this.#settleTrailers = undefined;
    settle?.();
  }

  /** The reader failed: trailers waiting for the end fail with it. */
  [kReaderFailed](failure: Error): void {
    this.#fail(failure);
  }

  /**
   * Limits the upload by reading no faster than `bytesPerSecond`. While the reader sleeps the
   * stream is not read: HTTP/2 sends no WINDOW_UPDATE, HTTP/1.1 stops reading the socket, so
   * the client is held back by the protocol, not by buffering here.
   */
  setUploadRate(bytesPerSecond: number | null): void {
    if (bytesPerSecond !== null && !(bytesPerSecond > 0 && Number.isFinite(bytesPerSecond))) {
      throw new NgiError('INVALID_OPTION', `setUploadRate(): expected a positive number of bytes per second or null, got ${String(bytesPerSecond)}`);
    }
    this.#rate = bytesPerSecond;
    this.#rateSince = performance.now();
    this.#rateBytes = 0;
  }

  async #throttle(bytes: number): Promise<void> {
    this.#rateBytes += bytes;
    const due = this.#rateSince + (this.#rateBytes / this.#rate!) * 1000;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
  }

  #fail(failure: Error): void {
    this.#failure ??= failure;
    const settle = this.#settleTrailers;
    this.#settleTrailers = undefined;
    settle?.(failure);
  }

  /**
   * The exchange is over. A trailers promise still waiting for a body nobody will read any
   * more is rejected rather than left pending forever.
   */
  abandon(): void {
    if (!this.finished) this.#fail(new NgiError('STREAM_CLOSED', 'the exchange ended before the request body was read to its end'));
  }

  async bytes(options?: ReadOptions): Promise<Uint8Array> {
    const limit = options?.limit ?? this.#source.maxBufferedBody;
    if (this.length !== undefined && this.length > limit) {
      throw new NgiError('BODY_TOO_LARGE', `request body of ${this.length} bytes exceeds the limit of ${limit}`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this) {
      total += chunk.length;
      if (total > limit) throw new NgiError('BODY_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);
      chunks.push(chunk);
    }
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks, total);
  }

  async text(options?: ReadOptions): Promise<string> {
    return decoder.decode(await this.bytes(options));
  }

  async json(options?: ReadOptions): Promise<unknown> {
    const text = await this.text(options);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new NgiError('INVALID_JSON', `request body is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }
}
