/**
 * The exchange: one request stream (an HTTP/1.x request or an HTTP/2 stream) and
 * everything the application may do with it. See spec/core.md and spec/http.md.
 */
import type { ConnectionInfo, Protocol } from './connection.ts';
import type { Features } from './features.ts';
import type { Fields, FieldsInit } from './fields.ts';

/** Bytes an application may send: strings are encoded as UTF-8. */
export type Chunk = string | Uint8Array;

export interface ReadOptions {
  /**
   * The most bytes to buffer. Beyond it the read rejects with NGI_ERR_BODY_TOO_LARGE
   * (HTTP status 413). Default: the server's `limits.maxBufferedBody` (1 MiB).
   */
  limit?: number;
}

/**
 * The request body as a byte stream with backpressure: bytes are taken from the peer only
 * as the application reads (HTTP/2: the flow-control window advances as chunks are consumed;
 * HTTP/1.1: the socket is paused). It can be consumed once, by iteration or by one helper.
 */
export interface RequestBody extends AsyncIterable<Uint8Array> {
  /** The declared Content-Length, or undefined when the length is not known up front. */
  readonly length: number | undefined;
  /** Reads the whole body into memory, up to `limit`. */
  bytes(options?: ReadOptions): Promise<Uint8Array>;
  /** Reads the whole body and decodes it as UTF-8. */
  text(options?: ReadOptions): Promise<string>;
  /** Reads the whole body and parses it as JSON; NGI_ERR_INVALID_JSON (400) when it is not. */
  json(options?: ReadOptions): Promise<unknown>;
  /**
   * Trailer fields, resolved once the body has been read to its end (empty when the
   * request had none); rejected with the error that ended reading early
   * (NGI_ERR_STREAM_CLOSED, NGI_ERR_BODY_TOO_LARGE), or with NGI_ERR_STREAM_CLOSED when the
   * exchange ends before the body was read to its end.
   */
  readonly trailers: Promise<Fields>;
}

export interface Request {
  /** As sent, e.g. `GET`. Method names are case-sensitive (RFC 9110 §9.1). */
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** Host and optional port: HTTP/2 `:authority`, else the Host header; '' if neither. */
  readonly authority: string;
  /** The path as sent, percent-encoding intact, without the query; `*` for OPTIONS *. */
  readonly path: string;
  /** The query as sent, without the leading `?`; '' when there is none. */
  readonly query: string;
  /** Lowercase names, arrival order, pseudo-header fields excluded. */
  readonly headers: Fields;
  readonly body: RequestBody;
}

export interface StartOptions {
  /**
   * Announce trailer fields, sent by `end(trailers)`: `true`, or their names, which the
   * server also sends in a `Trailer` field (RFC 9110 §6.6.2). Requires
   * `features.responseTrailers` (the start throws NGI_ERR_FEATURE_UNAVAILABLE otherwise).
   */
  trailers?: boolean | readonly string[];
}

/** A started response body. Each write resolves when the bytes have been taken. */
export interface ResponseWriter {
  /**
   * Queues bytes. Resolves at once while the transport's buffer has room, else when it
   * drains: awaiting every write bounds the memory a response can use. Rejects with
   * NGI_ERR_STREAM_CLOSED once the peer has gone.
   */
  write(chunk: Chunk): Promise<void>;
  /** Writes the last bytes (if any) and ends the response. */
  end(chunk?: Chunk): Promise<void>;
}

/** A response body whose end carries trailer fields (`start(..., { trailers: true })`). */
export interface TrailingResponseWriter {
  write(chunk: Chunk): Promise<void>;
  /** Ends the body and sends the trailer fields (an empty section when omitted). */
  end(trailers?: FieldsInit): Promise<void>;
}

export type ResponseState = 'pending' | 'streaming' | 'ended';

export interface Response {
  /** `pending` until send() or start(); `streaming` while a body is open; then `ended`. */
  readonly state: ResponseState;
  /**
   * Sends a whole response in one call. The server adds Content-Length. HEAD requests and
   * 1xx/204/304 statuses carry no body (a body given for them is dropped).
   * Throws (and sends nothing) on an invalid status or field.
   */
  send(status: number, headers?: FieldsInit, body?: Chunk | null): void;
  /**
   * Starts a streamed response: the head is queued now, the body follows through the
   * writer. With a Content-Length header the body must have exactly that length;
   * without one the server frames it (chunked on HTTP/1.1, DATA frames on HTTP/2).
   */
  start(status: number, headers?: FieldsInit): ResponseWriter;
  start(status: number, headers: FieldsInit | undefined, options: StartOptions & { trailers: true | readonly string[] }): TrailingResponseWriter;
  start(status: number, headers?: FieldsInit, options?: StartOptions): ResponseWriter | TrailingResponseWriter;
}

/** One request stream, given to the application. */
export interface Exchange<State = unknown> {
  readonly protocol: Protocol;
  readonly request: Request;
  readonly response: Response;
  readonly connection: ConnectionInfo;
  /** Optional capabilities of this exchange; absent members are not available here. */
  readonly features: Features;
  /**
   * Aborted when the exchange is cancelled before the response has ended: the client
   * reset the stream, the connection was lost, or the server gave up on it (timeout,
   * forced shutdown). Its `reason` is an NgiError.
   */
  readonly signal: AbortSignal;
  /** The value the application's startup hook returned (undefined without one). */
  readonly state: State;
}
