/**
 * The WebSocket an application gets: messages as an async iterable or through a callback
 * (receive()), a promise per send, close codes both ways. Framing is ws's (over any Duplex:
 * the socket after an HTTP/1.1 Upgrade, or the Http2Stream of an RFC 8441 CONNECT); never
 * the socket itself.
 */
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import type * as wsModule from 'ws';
import type { WebSocket, WebSocketCloseInfo, WebSocketMessage, WebSocketMessageHandler } from '../interface/features.ts';
import type { Fields } from '../interface/fields.ts';
import { NgiError } from '../interface/errors.ts';
import { nextDrain, noop, rejected, RESOLVED } from './promises.ts';

export interface WebSocketLimits {
  /** Largest message after decompression, bytes: the peer gets close 1009. */
  maxMessageSize: number;
  /** Incoming bytes queued for an application that does not read before reading pauses. */
  maxQueuedBytes: number;
  /** Ping interval, ms; a peer that has not answered the previous ping is dropped. 0 = off. */
  pingInterval: number;
  /** How long a close handshake may take before the transport is destroyed, ms. */
  closeTimeout: number;
  /** Offer permessage-deflate (RFC 7692) when the client asks for it. */
  perMessageDeflate: boolean;
}

/** ws exports these at runtime; @types/ws does not declare them. */
interface WsExtras {
  PerMessageDeflate: {
    new (options: object, isServer: boolean, maxPayload: number): { accept(offers: unknown[]): Record<string, unknown> };
    readonly extensionName: string;
  };
  extension: { parse(header: string): Record<string, unknown[]>; format(extensions: Record<string, unknown[]>): string };
}
type WsWebSocket = wsModule.WebSocket;

/**
 * ws is loaded on the first WebSocket, not at start: with what it pulls in it is ~2.4 MB of
 * RSS that a server without WebSockets never needs. require() keeps that first use synchronous.
 */
let ws: (typeof wsModule & WsExtras) | undefined;
function wsLibrary(): typeof wsModule & WsExtras {
  return (ws ??= createRequire(import.meta.url)('ws') as typeof wsModule & WsExtras);
}

/** ws's readyState values (RFC 6455 / WHATWG WebSocket). */
const CONNECTING = 0;
const OPEN = 1;

/**
 * RFC 7692 negotiation, done here for both transports (ws does it only in its own HTTP/1.1
 * server). Returns the response header value and the extension map for ws, or undefined.
 */
export function negotiateDeflate(fields: Fields, limits: WebSocketLimits): { header: string; extensions: Record<string, unknown> } | undefined {
  const offer = fields.get('sec-websocket-extensions');
  if (!limits.perMessageDeflate || offer === undefined) return undefined;
  let offers: Record<string, unknown[]>;
  try {
    offers = wsLibrary().extension.parse(offer);
  } catch {
    return undefined;
  }
  const { PerMessageDeflate, extension } = wsLibrary();
  const offered = offers[PerMessageDeflate.extensionName];
  if (!offered) return undefined;
  // Limits apply after decompression: ws's inflater checks maxPayload on inflated bytes.
  // ws 8.23 takes isServer and maxPayload in the options object (older 8.x took them as
  // arguments); without them the instance is a client's: it refuses every client offer
  // (`client_max_window_bits` without a value) and inflates without a bound.
  const deflate = new PerMessageDeflate({ isServer: true, maxPayload: limits.maxMessageSize }, true, limits.maxMessageSize);
  try {
    const params = deflate.accept(offered);
    return {
      header: extension.format({ [PerMessageDeflate.extensionName]: [params] }),
      extensions: { [PerMessageDeflate.extensionName]: deflate },
    };
  } catch {
    return undefined; // no acceptable offer: continue without compression
  }
}

export class NgiWebSocket implements WebSocket, AsyncIterable<WebSocketMessage> {
  readonly subprotocol: string;
  readonly closed: Promise<WebSocketCloseInfo>;
  readonly #ws: WsWebSocket;
  readonly #queue: WebSocketMessage[] = [];
  #queuedBytes = 0;
  #paused = false;
  #waiter: ((result: IteratorResult<WebSocketMessage>) => void) | undefined;
  #closeInfo: WebSocketCloseInfo | undefined;
  /** Messages are read once: by one iteration or one receive(). */
  #consumed = false;
  /** receive()'s handler, until the connection closed and the queue is empty, or it failed. */
  #handler: WebSocketMessageHandler | undefined;
  /** A promise the handler returned has not settled: messages wait in the queue. */
  #handling = false;
  #received: { resolve(info: WebSocketCloseInfo): void; reject(error: unknown): void } | undefined;
  /** Nobody will read messages any more (receive()'s handler failed, or the exchange's did). */
  #discarding = false;
  readonly #limits: WebSocketLimits;
  #pingTimer: NodeJS.Timeout | undefined;
  #awaitingPong = false;
  readonly #transport: Duplex;
  /** permessage-deflate compresses asynchronously: a send completes only in its callback. */
  readonly #compressing: boolean;
  #drain: Promise<void> | undefined;

  constructor(transport: Duplex, head: Buffer, subprotocol: string, extensions: Record<string, unknown> | undefined, limits: WebSocketLimits) {
    this.subprotocol = subprotocol;
    this.#limits = limits;
    this.#transport = transport;
    this.#compressing = extensions !== undefined;
    // ws >= 8.19 needs autoPong and closeTimeout here, or every close ends as 1006.
    const ws = new (wsLibrary().WebSocket as unknown as new (address: null, protocols: undefined, options: object) => WsWebSocket)(null, undefined, { autoPong: true, closeTimeout: limits.closeTimeout });
    if (extensions) (ws as unknown as { _extensions: Record<string, unknown> })._extensions = extensions;
    (ws as unknown as { setSocket(s: Duplex, h: Buffer, o: object): void }).setSocket(transport, head, {
      maxPayload: limits.maxMessageSize,
      allowSynchronousEvents: true,
      skipUTF8Validation: false,
    });
    this.#ws = ws;
    let resolveClosed!: (info: WebSocketCloseInfo) => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('pong', () => {
      this.#awaitingPong = false;
    });
    // Protocol errors (1002), invalid UTF-8 (1007) and oversize messages (1009) are answered
    // by ws with the right close code; the error itself needs no more handling here.
    ws.on('error', noop);
    ws.once('close', (code: number, reason: Buffer) => {
      this.#closeInfo = { code, reason: reason.toString('utf8') };
      if (this.#pingTimer) clearInterval(this.#pingTimer);
      resolveClosed(this.#closeInfo);
      this.#wake();
    });
    if (limits.pingInterval > 0) {
      this.#pingTimer = setInterval(() => this.#heartbeat(), limits.pingInterval);
      this.#pingTimer.unref();
    }
  }

  #heartbeat(): void {
    if (this.#awaitingPong) {
      // No pong since the last ping: the peer or the path is gone (RFC 6455 §5.5.2).
      this.#ws.terminate();
      return;
    }
    this.#awaitingPong = true;
    this.#ws.ping();
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#discarding) return;
    const message: WebSocketMessage = isBinary ? { type: 'binary', data } : { type: 'text', data: data.toString('utf8') };
    if (this.#handler !== undefined && !this.#handling && this.#queue.length === 0) {
      this.#handle(message);
      return;
    }
    if (this.#waiter) {
      const wake = this.#waiter;
      this.#waiter = undefined;
      wake({ done: false, value: message });
      return;
    }
    this.#queue.push(message);
    this.#queuedBytes += data.length;
    // A consumer that falls behind pauses reading: TCP or HTTP/2 flow control then holds the
    // peer back instead of the server buffering without bound.
    if (!this.#paused && this.#queuedBytes > this.#limits.maxQueuedBytes) {
      this.#paused = true;
      this.#ws.pause();
    }
  }

  /** The connection closed: ends iteration, or receive() once its queue is handled. */
  #wake(): void {
    if (this.#handler !== undefined) {
      this.#deliver();
      return;
    }
    if (this.#waiter && this.#queue.length === 0) {
      const wake = this.#waiter;
      this.#waiter = undefined;
      wake({ done: true, value: undefined });
    }
  }

  /** The oldest queued message; reading resumes once the queue is down to half its limit. */
  #dequeue(): WebSocketMessage | undefined {
    const message = this.#queue.shift();
    if (message !== undefined) {
      this.#queuedBytes -= message.type === 'binary' ? message.data.length : Buffer.byteLength(message.data);
      if (this.#paused && this.#queuedBytes <= this.#limits.maxQueuedBytes / 2) {
        this.#paused = false;
        this.#ws.resume();
      }
    }
    return message;
  }

  #claim(): NgiError | undefined {
    if (this.#consumed) return new NgiError('BODY_CONSUMED', 'a WebSocket is read once: by one iteration or one receive()');
    this.#consumed = true;
    return undefined;
  }

  receive(handler: WebSocketMessageHandler): Promise<WebSocketCloseInfo> {
    if (typeof handler !== 'function') return rejected(new NgiError('INVALID_OPTION', 'receive(): the handler must be a function'));
    const claimError = this.#claim();
    if (claimError) return rejected(claimError);
    return new Promise((resolve, reject) => {
      this.#received = { resolve, reject };
      this.#handler = handler;
      // Messages that arrived before this call (or a close) are handled from a microtask:
      // never inside receive() itself, so the caller's code after it runs first.
      if (this.#queue.length > 0 || this.#closeInfo !== undefined) queueMicrotask(() => this.#deliver());
    });
  }

  /**
   * Calls the handler with one message. The next message is handled at once unless the
   * handler returned a thenable, then when that settles. This is the path that makes
   * receive() cheaper than iteration: no promise, result object or continuation per message
   * for a handler that returns nothing, or send()'s already-fulfilled RESOLVED.
   */
  #handle(message: WebSocketMessage): void {
    try {
      const result = this.#handler!(message);
      if (result === undefined || result === RESOLVED || result === null) return;
      if (typeof (result as { then?: unknown }).then !== 'function') return;
      this.#handling = true;
      // Promise.resolve() returns a native promise as it is and adopts any other thenable as
      // the language does: one settlement, however often it calls back, and a `then` that
      // throws becomes a rejection.
      Promise.resolve(result).then(this.#handled, this.#handlerFailed);
    } catch (error) {
      this.#handlerFailed(error); // the handler threw, or a `then` getter did
    }
  }

  readonly #handled = (): void => {
    this.#handling = false;
    this.#deliver();
  };

  /** No message is handled after a failure: they are discarded (spec/features.md §9.3). */
  readonly #handlerFailed = (error: unknown): void => {
    this.#handling = false;
    this.discardMessages();
    this.#endReceive()?.reject(error);
  };

  /** receive() is over: no more handler calls; returns its promise's settlers, once. */
  #endReceive(): { resolve(info: WebSocketCloseInfo): void; reject(error: unknown): void } | undefined {
    this.#handler = undefined;
    const received = this.#received;
    this.#received = undefined;
    return received;
  }

  /**
   * Nobody will read messages any more: drop the queue and those still to come, and read on.
   * A paused transport would never see the peer's Close, and the closing handshake that
   * follows (the application's close(), or the host's when the handler settles) would end at
   * closeTimeout as 1006.
   */
  discardMessages(): void {
    this.#discarding = true;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#ws.resume();
    }
  }

  /** Closing or closed, or its transport gone: a send() now fails with NGI_ERR_STREAM_CLOSED. */
  get closing(): boolean {
    return this.#ws.readyState !== OPEN || this.#transport.destroyed;
  }

  /** Hands queued messages to the handler in order; settles receive() once closed and empty. */
  #deliver(): void {
    while (this.#handler !== undefined && !this.#handling) {
      const message = this.#dequeue();
      if (message === undefined) {
        if (this.#closeInfo !== undefined) this.#endReceive()?.resolve(this.#closeInfo);
        return;
      }
      this.#handle(message);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<WebSocketMessage> {
    const claimError = this.#claim();
    if (claimError) throw claimError;
    return {
      next: (): Promise<IteratorResult<WebSocketMessage>> => {
        const message = this.#dequeue();
        if (message !== undefined) return Promise.resolve({ done: false, value: message });
        if (this.#closeInfo !== undefined) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => (this.#waiter = resolve));
      },
      return: (): Promise<IteratorResult<WebSocketMessage>> => {
        // Leaving the loop early does not close the connection; close() does.
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** Resolves when the transport has drained, rejects if the WebSocket closes first. */
  #drained(): Promise<void> {
    // A drain means the queued frames went out, even if close() was called meanwhile.
    this.#drain ??= nextDrain(
      this.#transport,
      this.#ws,
      () => new NgiError('STREAM_CLOSED', 'send(): the WebSocket closed before the message was sent'),
      () => (this.#drain = undefined),
    );
    // Sends nobody awaits must not turn a closed socket into an unhandled rejection.
    this.#drain.catch(noop);
    return this.#drain;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  send(data: string | Uint8Array): Promise<void> {
    // A destroyed transport may not have told ws yet: its frames would be dropped silently.
    if (this.#ws.readyState !== OPEN || this.#transport.destroyed) {
      return rejected(new NgiError('STREAM_CLOSED', 'send(): the WebSocket is closing or closed'));
    }
    if (!this.#compressing) {
      // Uncompressed frames are written to the transport synchronously: the message has been
      // handed over (spec/features.md), and unless that filled the transport's buffer there
      // is nothing to wait for. Waiting for the write's completion instead would add an
      // event-loop turn to every round trip of a request/response protocol.
      this.#ws.send(data, { binary: typeof data !== 'string' });
      if (!this.#transport.writableNeedDrain) return RESOLVED;
      return this.#drained();
    }
    return new Promise((resolve, reject) => {
      this.#ws.send(data, { binary: typeof data !== 'string' }, (error?: Error) => {
        if (error) reject(new NgiError('STREAM_CLOSED', 'send(): the WebSocket closed before the message was sent', { cause: error }));
        else resolve();
      });
    });
  }

  ping(data?: Uint8Array): Promise<void> {
    if (this.#ws.readyState !== OPEN) return rejected(new NgiError('STREAM_CLOSED', 'ping(): the WebSocket is closed'));
    // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
    if (data !== undefined && data.byteLength > 125) return rejected(new NgiError('INVALID_OPTION', `ping(): at most 125 bytes of data, got ${data.byteLength}`));
    return new Promise((resolve, reject) => {
      this.#ws.ping(data, undefined, (error?: Error) => (error ? reject(new NgiError('STREAM_CLOSED', 'ping() failed', { cause: error })) : resolve()));
    });
  }

  close(code = 1000, reason = ''): Promise<WebSocketCloseInfo> {
    if (this.#ws.readyState === OPEN || this.#ws.readyState === CONNECTING) {
      try {
        this.#ws.close(code, reason);
      } catch (error) {
        // ws rejects codes RFC 6455 §7.4 does not allow and reasons over 123 bytes.
        return rejected(new NgiError('INVALID_OPTION', `close(): ${(error as Error).message}`, { cause: error }));
      }
    }
    return this.closed;
  }

  /** Server shutdown: close 1001 "going away" (RFC 6455 §7.4.1). */
  goAway(): void {
    if (this.#ws.readyState === OPEN) this.#ws.close(1001, 'server shutting down');
  }

  /** Drops the transport without a close handshake (drain timeout). */
  terminate(): void {
    this.#ws.terminate();
  }
}
