/**
 * What the responses of both HTTP/2 glues (node:http2 in http2.ts, NGI's own framing in
 * http2-ngi.ts) share: the request body's source half (limits, pulled reading, 100-continue,
 * trailers) and the bookkeeping when the stream closes (request timer, in-flight count, idle
 * timer, the exchange). Each glue only moves bytes.
 */
import { FlatFields } from '../core/fields.ts';
import type { ConnectionState } from './connection.ts';
import type { ExchangeImpl } from './exchange.ts';
import type { BodySource } from './request-body.ts';
import { ResponseBase } from './response.ts';
import type { SessionIdleTimer } from './session-idle.ts';

export abstract class Http2ResponseBase extends ResponseBase implements BodySource {
  protected readonly isHeadRequest: boolean;
  protected readonly trailersSupported = true;
  readonly maxBodySize: number;
  readonly maxBufferedBody: number;
  /** Pulled, not flowing: bytes read are stream credit, so they follow the application (BodyReader). */
  get flowing(): boolean {
    return false;
  }
  readonly #expectContinue: boolean;
  /** The request's trailer section, once it has arrived (lowercase names, HTTP/2). */
  protected rawTrailers: string[] | undefined;
  #exchange: ExchangeImpl | undefined;
  #connection: ConnectionState | undefined;
  #idle: SessionIdleTimer | undefined;
  /** The request timeout's timer, while the request body may still arrive. */
  requestTimer: NodeJS.Timeout | undefined;

  constructor(isHead: boolean, limits?: { maxBodySize: number; maxBufferedBody: number }, expectContinue = false) {
    super();
    this.isHeadRequest = isHead;
    this.maxBodySize = limits?.maxBodySize ?? 0;
    this.maxBufferedBody = limits?.maxBufferedBody ?? 0;
    this.#expectContinue = expectContinue;
  }

  /**
   * Ties the response to its exchange and counts it on its connection until the stream
   * closes; `idle` is started when the count falls to 0 (undefined: the session says itself).
   */
  attach(exchange: ExchangeImpl, connection: ConnectionState, idle: SessionIdleTimer | undefined): void {
    this.#exchange = exchange;
    this.#connection = connection;
    this.#idle = idle;
    connection.inFlight++;
  }

  /** The stream has closed: the request timer stops, the connection may be idle, the exchange learns. */
  protected streamClosed(): void {
    if (this.requestTimer !== undefined) clearTimeout(this.requestTimer);
    const connection = this.#connection;
    if (connection !== undefined && --connection.inFlight === 0) this.#idle?.start();
    this.#exchange?.transportClosed();
  }

  /** RFC 9110 §10.1.1: 100 (Continue) once the application reads. */
  onFirstRead(): void {
    if (this.#expectContinue) this.sendContinue();
  }

  abstract sendContinue(): void;

  trailers(): FlatFields {
    return this.rawTrailers ? FlatFields.fromHttp2(this.rawTrailers) : FlatFields.empty;
  }

  protected override releaseRequest(): void {
    this.finishUnreadRequest();
  }

  /** RFC 9113 §8.1: a complete response before the request body ended asks the client to stop. */
  abstract finishUnreadRequest(): void;
}
