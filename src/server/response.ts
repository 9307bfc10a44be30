/**
 * The response state machine shared by HTTP/1.1 and HTTP/2: validation, Content-Length
 * bookkeeping, bodies that must stay empty, write promises. Subclasses only move bytes.
 */
import type { FieldsInit } from '../interface/fields.ts';
import type { Chunk, Response, ResponseState, ResponseWriter, StartOptions, TrailingResponseWriter } from '../interface/exchange.ts';
import { NgiError } from '../interface/errors.ts';
import { checkFieldName, checkFinalStatus, dropField, normalizeFields, statusForbidsBody } from '../core/outgoing-fields.ts';
import type { WebSocketFeatureImpl } from './websocket-feature.ts';
import { nextDrain, noop, rejected, RESOLVED } from './promises.ts';

export interface HeadOptions {
  /** The response is complete with the head (no body follows). */
  endStream: boolean;
  /** Trailer fields follow the body; their names when the application declared them. */
  trailers: boolean | readonly string[];
}

export abstract class ResponseBase implements Response, ResponseWriter, TrailingResponseWriter {
  state: ResponseState = 'pending';
  status = 0;
  /** Body bytes handed to the transport, for the access log. */
  bytesWritten = 0;
  #declaredLength: number | undefined;
  #bodyAllowed = true;
  #trailers = false;
  #drain: Promise<void> | undefined;

  /** HEAD responses carry no content (RFC 9110 §9.3.2). */
  protected abstract readonly isHeadRequest: boolean;
  /** False once the peer is gone: nothing more can be sent. */
  protected abstract get transportOpen(): boolean;
  protected abstract sendHead(status: number, flat: string[], options: HeadOptions): void;
  /** Returns false when the transport's buffer is full. */
  protected abstract writeBody(chunk: Chunk): boolean;
  protected abstract endBody(chunk: Chunk | undefined): void;
  protected abstract endWithTrailers(flat: string[]): void;
  /** The node Writable the body goes to (its 'drain' and 'close' events pace writes). */
  protected abstract readonly sink: NodeJS.EventEmitter;
  /** Resets the stream (HTTP/2) or closes the connection (HTTP/1.1). */
  abstract abort(): void;
  /** Whether trailers can be carried on this exchange (features.responseTrailers). */
  protected abstract readonly trailersSupported: boolean;

  /**
   * Set on WebSocket handshakes. Only accept() may answer them with success: a 2xx sent as a
   * "denial" would open the tunnel on HTTP/2 (RFC 8441 §5, RFC 9113 §8.5) with nobody framing it.
   */
  websocket: WebSocketFeatureImpl | undefined;

  /**
   * The handler has settled: an accepted WebSocket is closed (1000, or 1011 when the handler
   * failed); otherwise the protocol releases what is left of the request.
   */
  afterHandler(failed: boolean): void {
    if (this.websocket?.socket) this.websocket.handlerSettled(failed);
    else this.releaseRequest();
  }

  /** Deals with a request body the handler left unread (per protocol). */
  protected releaseRequest(): void {}

  #checkDenial(status: number): void {
    if (this.websocket !== undefined && status < 300) {
      throw new NgiError('INVALID_STATUS', `a WebSocket handshake is denied with a non-2xx status (got ${status}); accept it with features.websocket.accept()`);
    }
  }

  /** A handshake (101, or 200 on an RFC 8441 stream) answered by the glue: the exchange is now a WebSocket. */
  markSwitched(status: number): void {
    this.state = 'ended';
    this.status = status;
  }

  /** What sendEarlyHints() rejects with once the peer is gone. */
  protected readonly earlyHintsGoneMessage: string = 'early hints: the stream was reset';
  /** Writes a 103 head with these (validated) fields. */
  protected abstract writeEarlyHints(flat: string[]): void;

  /** 103 Early Hints (RFC 8297): only before the response, as many as the application likes. */
  sendEarlyHints(fields: FieldsInit): Promise<void> {
    if (this.state !== 'pending') return Promise.reject(new NgiError('RESPONSE_STARTED', 'early hints must come before the response'));
    let flat: string[];
    try {
      flat = normalizeFields(fields).flat;
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.transportOpen) return Promise.reject(new NgiError('STREAM_CLOSED', this.earlyHintsGoneMessage));
    this.writeEarlyHints(flat);
    return Promise.resolve();
  }

  /**
   * start() has sent the head: a transport that holds a head back to write it with the body
   * (send()) must let it go now, since a streamed body may not follow for a while.
   */
  protected headStarted(): void {}

  /** Resolves on the sink's next 'drain', rejects if it closes first. */
  protected waitForDrain(): Promise<void> {
    return nextDrain(this.sink, this.sink, () => new NgiError('STREAM_CLOSED', 'write(): the client reset the stream or closed the connection'));
  }

  send(status: number, headers?: FieldsInit, body?: Chunk | null): void {
    if (this.state !== 'pending') throw new NgiError('RESPONSE_STARTED', 'send(): the response has already started');
    checkFinalStatus(status);
    this.#checkDenial(status);
    const { flat, contentLength } = normalizeFields(headers);
    const bodyAllowed = !statusForbidsBody(status);
    let payload: Chunk | undefined = body ?? undefined;
    let length = 0;
    if (!bodyAllowed) {
      payload = undefined;
      // RFC 9110 §8.6: no Content-Length in 1xx and 204 responses.
      if (status === 204 && contentLength !== undefined) dropField(flat, 'content-length');
    } else {
      length = payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
      if (contentLength === undefined) {
        // A HEAD answer without a body does not claim a length of 0 (RFC 9110 §9.3.2): the
        // application may declare the length GET would have.
        if (!(this.isHeadRequest && payload === undefined)) flat.push('content-length', String(length));
      } else if (contentLength !== length && !(this.isHeadRequest && payload === undefined)) {
        throw new NgiError('CONTENT_LENGTH_MISMATCH', `send(): content-length ${contentLength} but the body has ${length} bytes`);
      }
      if (this.isHeadRequest || length === 0) payload = undefined;
    }
    this.state = 'ended';
    if (!this.transportOpen) return;
    this.status = status;
    this.sendHead(status, flat, { endStream: payload === undefined, trailers: false });
    if (payload !== undefined) {
      this.bytesWritten = length;
      this.endBody(payload);
    }
  }

  start(status: number, headers?: FieldsInit): ResponseWriter;
  start(status: number, headers: FieldsInit | undefined, options: StartOptions & { trailers: true | readonly string[] }): TrailingResponseWriter;
  start(status: number, headers?: FieldsInit, options?: StartOptions): ResponseWriter | TrailingResponseWriter;
  start(status: number, headers?: FieldsInit, options?: StartOptions): ResponseWriter | TrailingResponseWriter {
    if (this.state !== 'pending') throw new NgiError('RESPONSE_STARTED', 'start(): the response has already started');
    checkFinalStatus(status);
    this.#checkDenial(status);
    const trailers = options?.trailers ?? false;
    if (trailers !== false && !this.trailersSupported) {
      throw new NgiError('FEATURE_UNAVAILABLE', 'start(): trailers are not available on this exchange (check features.responseTrailers)');
    }
    const { flat, contentLength } = normalizeFields(headers);
    this.#bodyAllowed = !statusForbidsBody(status) && !this.isHeadRequest;
    this.#trailers = trailers !== false && !this.isHeadRequest && !statusForbidsBody(status);
    this.#declaredLength = this.#bodyAllowed ? contentLength : undefined;
    if (status === 204 && contentLength !== undefined) dropField(flat, 'content-length');
    if (this.#trailers && Array.isArray(trailers) && trailers.length > 0) {
      // RFC 9110 §6.6.2: announce the trailer fields that will follow. The names are checked
      // like any field name: they go into the head as they are.
      flat.push('trailer', (trailers as readonly string[]).map(checkFieldName).join(', '));
    }
    this.state = 'streaming';
    if (this.transportOpen) {
      this.status = status;
      this.sendHead(status, flat, {
        endStream: !this.#bodyAllowed && !this.#trailers,
        trailers: this.#trailers ? trailers : false,
      });
      this.headStarted();
    }
    if (!this.#bodyAllowed && !this.#trailers) this.state = 'ended';
    return this;
  }

  write(chunk: Chunk): Promise<void> {
    if (this.state !== 'streaming') {
      if (this.state === 'ended' && !this.#bodyAllowed) return RESOLVED; // HEAD/204/304: dropped
      return rejected(this.state === 'pending'
        ? new NgiError('RESPONSE_NOT_STARTED', 'write(): call start() before writing')
        : new NgiError('RESPONSE_ENDED', 'write(): the response has ended'));
    }
    if (!this.#bodyAllowed) return RESOLVED;
    if (!this.transportOpen) return rejected(new NgiError('STREAM_CLOSED', 'write(): the client has gone'));
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (size === 0) return RESOLVED;
    if (this.#declaredLength !== undefined && this.bytesWritten + size > this.#declaredLength) {
      return rejected(new NgiError('CONTENT_LENGTH_MISMATCH', `write(): more bytes than the declared content-length ${this.#declaredLength}`));
    }
    this.bytesWritten += size;
    if (this.writeBody(chunk)) return RESOLVED;
    if (this.#drain === undefined) {
      this.#drain = this.waitForDrain().finally(() => {
        this.#drain = undefined;
      });
      this.#drain.catch(noop);
    }
    return this.#drain;
  }

  end(arg?: Chunk | FieldsInit): Promise<void> {
    if (this.state === 'ended' && !this.#bodyAllowed && !this.#trailers) return RESOLVED;
    if (this.state !== 'streaming') {
      return rejected(this.state === 'pending'
        ? new NgiError('RESPONSE_NOT_STARTED', 'end(): call start() first')
        : new NgiError('RESPONSE_ENDED', 'end(): the response has already ended'));
    }
    if (this.#trailers) {
      let flat: string[];
      try {
        flat = normalizeFields(arg as FieldsInit | undefined).flat;
      } catch (error) {
        return rejected(error);
      }
      this.state = 'ended';
      if (this.#declaredLength !== undefined && this.bytesWritten !== this.#declaredLength) {
        this.abort();
        return rejected(new NgiError('CONTENT_LENGTH_MISMATCH', `end(): ${this.bytesWritten} body bytes but content-length ${this.#declaredLength}`));
      }
      if (!this.transportOpen) return rejected(new NgiError('STREAM_CLOSED', 'end(): the client has gone'));
      this.endWithTrailers(flat);
      return RESOLVED;
    }
    const chunk = arg as Chunk | undefined;
    const size = chunk === undefined ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    const total = this.bytesWritten + (this.#bodyAllowed ? size : 0);
    this.state = 'ended';
    if (this.#declaredLength !== undefined && total !== this.#declaredLength) {
      // The message cannot be completed validly: the peer must see it fail, not truncate.
      this.abort();
      return rejected(new NgiError('CONTENT_LENGTH_MISMATCH', `end(): ${total} body bytes but content-length ${this.#declaredLength}`));
    }
    if (!this.transportOpen) return rejected(new NgiError('STREAM_CLOSED', 'end(): the client has gone'));
    this.bytesWritten = total;
    this.endBody(this.#bodyAllowed && size > 0 ? chunk : undefined);
    return RESOLVED;
  }
}
