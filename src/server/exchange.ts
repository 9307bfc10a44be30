/**
 * The exchange given to the application, and its lifecycle: run the handler, map its
 * failures onto the wire (500 before the response, reset after), and report completion.
 */
import type { Exchange } from '../interface/exchange.ts';
import type { Protocol } from '../interface/connection.ts';
import type { Features } from '../interface/features.ts';
import { NgiError } from '../interface/errors.ts';
import type { ConnectionState } from './connection.ts';
import type { ServerContext } from './context.ts';
import type { RequestImpl } from './request.ts';
import type { ResponseBase } from './response.ts';
import { kNext, kPrev, type RunningEntry } from './running.ts';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Content Too Large', 417: 'Expectation Failed',
  426: 'Upgrade Required', 500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable',
};

export class ExchangeImpl implements Exchange<unknown>, RunningEntry {
  readonly protocol: Protocol;
  readonly request: RequestImpl;
  readonly response: ResponseBase;
  readonly connection: ConnectionState;
  readonly features: Features;
  readonly state: unknown;
  /** When the exchange began, for the access log (0 when the log is off). */
  readonly startedAt: number;
  #controller: AbortController | undefined;
  #cancelReason: NgiError | undefined;
  /** Two parts must finish: the handler and the transport. */
  #pendingParts = 2;
  readonly #context: ServerContext;
  /** Links of the server's list of running exchanges (see running.ts). */
  [kPrev]: RunningEntry | undefined = undefined;
  [kNext]: RunningEntry | undefined = undefined;

  constructor(context: ServerContext, protocol: Protocol, connection: ConnectionState, request: RequestImpl, response: ResponseBase, features: Features) {
    this.#context = context;
    this.protocol = protocol;
    this.connection = connection;
    this.request = request;
    this.response = response;
    this.features = features;
    this.state = context.state;
    this.startedAt = context.options.accessLog ? performance.now() : 0;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cancelReason) this.#controller.abort(this.#cancelReason);
    }
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#cancelReason !== undefined;
  }

  /** The exchange is abandoned before its response ended (peer reset, timeout, shutdown). */
  cancel(reason: NgiError): void {
    if (this.#cancelReason !== undefined) return;
    this.#cancelReason = reason;
    this.#controller?.abort(reason);
  }

  /** Called by the protocol glue when the stream or response is closed. */
  transportClosed(): void {
    if (this.response.state !== 'ended' || this.response.status === 0) {
      this.cancel(new NgiError('STREAM_CLOSED', 'the client reset the stream or closed the connection'));
    }
    this.#partDone();
  }

  handlerSettled(failed = false): void {
    this.request.body.abandon();
    this.response.afterHandler(failed);
    this.#partDone();
  }

  #partDone(): void {
    if (--this.#pendingParts === 0) this.#context.exchangeFinished(this);
  }

  /**
   * Answers a request the server refuses before the application runs (413, 417, a bad
   * WebSocket handshake, ...): the exchange is started, answered and settled at once.
   */
  refuse(error: NgiError, headers?: Readonly<Record<string, string>>, status?: number): void {
    this.#context.exchangeStarted(this);
    this.sendError(error, headers, status);
    this.handlerSettled();
  }

  /** Answers an error before the response has started. */
  sendError(error: unknown, headers?: Readonly<Record<string, string>>, statusOverride?: number): void {
    const status = statusOverride ?? (error instanceof NgiError ? error.status : 500);
    const text = STATUS_TEXT[status] ?? 'Error';
    let body = text + '\n';
    if (this.#context.options.debug) {
      body += '\n' + (error instanceof Error ? (error.stack ?? error.message) : String(error)) + '\n';
    }
    try {
      this.response.send(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }, body);
    } catch {
      this.response.abort();
    }
  }
}

function describe(exchange: ExchangeImpl): string {
  const r = exchange.request;
  return `${r.method} ${r.target}`;
}

function handlerFailed(context: ServerContext, exchange: ExchangeImpl, error: unknown): void {
  const response = exchange.response;
  // A client that went away makes writes fail: that is the client's doing, not a bug. A
  // WebSocket peer that leaves does not cancel the exchange (spec/features.md §9.4), but a
  // send() it left pending fails the same way.
  const clientGone =
    error instanceof NgiError && error.code === 'NGI_ERR_STREAM_CLOSED' && (exchange.cancelled || response.websocket?.socket?.closing === true);
  const expected = error instanceof NgiError && error.status < 500;
  if (!clientGone && !expected) context.logError(`application error on ${describe(exchange)}`, error);
  if (response.state === 'pending') exchange.sendError(error);
  else if (response.state === 'streaming') response.abort();
  exchange.handlerSettled(true);
}

function handlerReturned(context: ServerContext, exchange: ExchangeImpl): void {
  const response = exchange.response;
  if (response.state === 'pending') {
    // A cancelled exchange has no one left to answer.
    if (exchange.cancelled) exchange.handlerSettled();
    else handlerFailed(context, exchange, new NgiError('NO_RESPONSE', 'the handler returned without starting a response'));
    return;
  }
  if (response.state === 'streaming') {
    if (!exchange.cancelled) context.logError(`application error on ${describe(exchange)}`, new NgiError('INCOMPLETE_RESPONSE', 'the handler returned with the response body still open; the stream is reset'));
    response.abort();
  }
  exchange.handlerSettled();
}

/** Runs the handler without an extra promise when it is synchronous. */
export function runExchange(context: ServerContext, exchange: ExchangeImpl): void {
  context.exchangeStarted(exchange);
  let result: void | Promise<void>;
  try {
    result = context.handler(exchange);
  } catch (error) {
    handlerFailed(context, exchange, error);
    return;
  }
  if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
    void settle(context, exchange, result as Promise<void>);
  } else {
    handlerReturned(context, exchange);
  }
}

/** Awaits an asynchronous handler (no closures per exchange, unlike then(ok, fail)). */
async function settle(context: ServerContext, exchange: ExchangeImpl, result: Promise<void>): Promise<void> {
  try {
    await result;
  } catch (error) {
    handlerFailed(context, exchange, error);
    return;
  }
  handlerReturned(context, exchange);
}
