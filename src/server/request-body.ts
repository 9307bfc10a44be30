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
  readonly maxBufferedBody: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

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

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#consumed) throw new NgiError('BODY_CONSUMED', 'the request body can be read only once');
    this.#consumed = true;
    if (this.#empty) return;
    this.#source.onFirstRead();
    const max = this.#source.maxBodySize;
    let received = 0;
    try {
      // destroyOnReturn: false, so an application that stops early leaves the stream to the
      // server (which resets it or drains it when the exchange ends) instead of killing it.
      for await (const chunk of this.#readable.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > max) {
          throw new NgiError('BODY_TOO_LARGE', `request body exceeds the server limit of ${max} bytes`);
        }
        yield chunk;
        if (this.#rate !== null) await this.#throttle(chunk.length);
      }
    } catch (error) {
      const failure = error instanceof NgiError ? error : new NgiError('STREAM_CLOSED', 'the request body was cut off: the client reset the stream or closed the connection', { cause: error });
      this.#fail(failure);
      throw failure;
    }
    this.#ended = true;
    const settle = this.#settleTrailers;
    this.#settleTrailers = undefined;
    settle?.();
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
