/**
 * A raw TCP client for HTTP/1.x tests that need bytes no well-behaved client sends
 * (pipelining, malformed requests, Expect handshakes, slow header sections), and a small
 * parser for the responses that come back.
 */
import net from 'node:net';
import { Waiters } from './waiters.ts';

export interface RawEvent {
  /** ms since connect. */
  readonly at: number;
  readonly chunk: Buffer;
}

export class RawClient {
  readonly socket: net.Socket;
  readonly events: RawEvent[] = [];
  readonly openedAt = performance.now();
  #data = Buffer.alloc(0);
  #closed = false;
  #closedAt: number | undefined;
  readonly #waiters = new Waiters();
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.events.push({ at: performance.now() - this.openedAt, chunk });
      this.#data = Buffer.concat([this.#data, chunk]);
      this.#wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#closed = true;
        this.#closedAt = performance.now() - this.openedAt;
        this.#wake();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  #wake(): void {
    this.#waiters.wake();
  }

  /** Everything received so far. */
  get data(): Buffer {
    return this.#data;
  }

  get text(): string {
    return this.#data.toString('latin1');
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** ms since connect at which the peer closed, if it did. */
  get closedAt(): number | undefined {
    return this.#closedAt;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves when `ready(received)` is true; rejects after `timeoutMs` or if the socket closes first. */
  async until(ready: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
    await this.#waiters.until(
      () => ready(this.text),
      () => (this.#closed ? new Error(`connection closed before the expected bytes; got ${JSON.stringify(this.text)}`) : undefined),
      () => new Error(`timed out after ${timeoutMs} ms; got ${JSON.stringify(this.text)}`),
      timeoutMs,
    );
    return this.text;
  }

  /** Waits for `count` complete responses (see parseResponses). */
  async responses(count: number, timeoutMs = 5000, options: ParseOptions = {}): Promise<RawResponse[]> {
    const parse = (): RawResponse[] => parseResponses(this.#data, { ...options, closed: this.#closed });
    await this.until(() => parse().filter((r) => r.complete).length >= count, timeoutMs);
    return parse().slice(0, count);
  }

  /** Resolves when the peer closes; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms; got ${JSON.stringify(this.text)}`)), timeoutMs);
      void this.closed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface RawResponse {
  readonly version: string;
  readonly status: number;
  /** Field lines with lowercase names, in order. */
  readonly headers: [string, string][];
  readonly body: Buffer;
  /** Trailer field lines of a chunked body. */
  readonly trailers: [string, string][];
  readonly chunked: boolean;
  /** The body was framed to its end (a close-delimited body: once the connection closed). */
  readonly complete: boolean;
  get(name: string): string | undefined;
}

export interface ParseOptions {
  /** Responses to HEAD requests, by index among the final responses: they have no body. */
  headIndexes?: readonly number[];
  /** The connection has closed: a body delimited by the close is complete. */
  closed?: boolean;
}

function fieldLines(block: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    out.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return out;
}

function makeResponse(version: string, status: number, headers: [string, string][], body: Buffer, trailers: [string, string][], chunked: boolean, complete: boolean): RawResponse {
  return {
    version, status, headers, body, trailers, chunked, complete,
    get(name: string) {
      const values = headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
      return values.length ? values.join(', ') : undefined;
    },
  };
}

/**
 * Splits received bytes into HTTP/1.x responses, 1xx included. Bodies are framed by
 * Content-Length or chunked coding; 1xx/204/304 and HEAD responses have none. A body
 * delimited by the connection's close takes the rest, complete once `closed` is set.
 */
export function parseResponses(data: Buffer, options: ParseOptions = {}): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  let finals = 0;
  while (at < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd < 0) break;
    const head = data.subarray(at, headEnd).toString('latin1');
    const firstLineEnd = head.indexOf('\r\n');
    const statusLine = firstLineEnd < 0 ? head : head.slice(0, firstLineEnd);
    const m = /^(HTTP\/[\d.]+) (\d{3})/.exec(statusLine);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const status = Number(m[2]);
    const headers = firstLineEnd < 0 ? [] : fieldLines(head.slice(firstLineEnd + 2));
    let pos = headEnd + 4;
    const get = (n: string): string | undefined => headers.find(([k]) => k === n)?.[1];
    const isHead = status >= 200 && (options.headIndexes ?? []).includes(finals);
    if (status >= 200) finals++;
    if (status < 200 || status === 204 || status === 304 || isHead) {
      out.push(makeResponse(m[1]!, status, headers, Buffer.alloc(0), [], false, true));
      at = pos;
      continue;
    }
    const te = get('transfer-encoding');
    const cl = get('content-length');
    if (te !== undefined && /chunked/i.test(te)) {
      const parts: Buffer[] = [];
      let complete = false;
      let trailers: [string, string][] = [];
      for (;;) {
        const lineEnd = data.indexOf('\r\n', pos, 'latin1');
        if (lineEnd < 0) break;
        const size = parseInt(data.subarray(pos, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size');
        if (size === 0) {
          const end = data.indexOf('\r\n\r\n', lineEnd, 'latin1');
          const endNoTrailers = data.subarray(lineEnd, lineEnd + 4).toString('latin1') === '\r\n\r\n';
          if (endNoTrailers) {
            pos = lineEnd + 4;
            complete = true;
          } else if (end >= 0) {
            trailers = fieldLines(data.subarray(lineEnd + 2, end).toString('latin1'));
            pos = end + 4;
            complete = true;
          }
          break;
        }
        if (lineEnd + 2 + size + 2 > data.length) break;
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        pos = lineEnd + 2 + size + 2;
      }
      out.push(makeResponse(m[1]!, status, headers, Buffer.concat(parts), trailers, true, complete));
      if (!complete) break;
      at = pos;
    } else if (cl !== undefined) {
      const n = Number(cl);
      const complete = pos + n <= data.length;
      out.push(makeResponse(m[1]!, status, headers, data.subarray(pos, Math.min(pos + n, data.length)), [], false, complete));
      if (!complete) break;
      at = pos + n;
    } else {
      out.push(makeResponse(m[1]!, status, headers, data.subarray(pos), [], false, options.closed === true));
      break;
    }
  }
  return out;
}

/** Runs fn with a fresh raw connection to `port` and always destroys it. */
export async function withRawClient<T>(port: number, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect(port);
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
}

/** Status codes of every response head (1xx included) in what was received. */
export function statusLines(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/g)].map((m) => Number(m[1]));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolvers (Promise.withResolvers is Node 22+). */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Rejects if `promise` does not settle within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
