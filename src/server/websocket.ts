/**
 * The WebSocket an application gets: messages as an async iterable or through a callback
 * (receive()), a promise per send, close codes both ways. Below it a Framing (NGI's own, or
 * ws's, which carries permessage-deflate) over any Duplex: the socket after an HTTP/1.1
 * Upgrade, or the stream of an RFC 8441 CONNECT; never the socket itself.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketCloseInfo, WebSocketMessage, WebSocketMessageHandler } from '../interface/features.ts';
import { NgiError } from '../interface/errors.ts';
import { nextDrain, noop, rejected, RESOLVED } from './promises.ts';
import { CONNECTING, OPEN, type Framing, type WebSocketLimits } from './websocket-framing.ts';
import { NgiFraming } from './websocket-ngi-framing.ts';
import { WsFraming, type Deflate } from './websocket-ws-framing.ts';

export class NgiWebSocket implements WebSocket, AsyncIterable<WebSocketMessage> {
  readonly subprotocol: string;
  readonly closed: Promise<WebSocketCloseInfo>;
  readonly #framing: Framing;
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
  #drain: Promise<void> | undefined;

  /**
   * Frames with NGI's own framing when `limits.framing` is 'ngi' and no extension was
   * negotiated; with ws's otherwise (permessage-deflate is ws's).
   */
  constructor(transport: Duplex, head: Buffer, subprotocol: string, deflate: Deflate | undefined, limits: WebSocketLimits) {
    this.subprotocol = subprotocol;
    this.#limits = limits;
    this.#transport = transport;
    let resolveClosed!: (info: WebSocketCloseInfo) => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    const events = {
      message: (data: Buffer, binary: boolean): void => this.#onMessage(data, binary),
      pong: (): void => {
        this.#awaitingPong = false;
      },
      closed: (code: number, reason: string): void => {
        this.#closeInfo = { code, reason };
        if (this.#pingTimer) clearInterval(this.#pingTimer);
        resolveClosed(this.#closeInfo);
        this.#wake();
      },
    };
    this.#framing =
      deflate === undefined && limits.framing === 'ngi'
        ? new NgiFraming(transport, head, limits, events)
        : new WsFraming(transport, head, deflate, limits, events);
    if (limits.pingInterval > 0) {
      this.#pingTimer = setInterval(() => this.#heartbeat(), limits.pingInterval);
      this.#pingTimer.unref();
    }
  }

  #heartbeat(): void {
    if (this.#awaitingPong) {
      // No pong since the last ping: the peer or the path is gone (RFC 6455 §5.5.2).
      this.#framing.terminate();
      return;
    }
    this.#awaitingPong = true;
    this.#framing.ping(undefined, noop);
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
      this.#framing.pause();
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
        this.#framing.resume();
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
      this.#framing.resume();
    }
  }

  /** Closing or closed, or its transport gone: a send() now fails with NGI_ERR_STREAM_CLOSED. */
  get closing(): boolean {
    return this.#framing.readyState !== OPEN || this.#transport.destroyed;
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
      this.#transport,
      () => new NgiError('STREAM_CLOSED', 'send(): the WebSocket closed before the message was sent'),
      () => (this.#drain = undefined),
    );
    // Sends nobody awaits must not turn a closed socket into an unhandled rejection.
    this.#drain.catch(noop);
    return this.#drain;
  }

  get bufferedAmount(): number {
    return this.#framing.bufferedAmount;
  }

  get readyState(): number {
    return this.#framing.readyState;
  }

  send(data: string | Uint8Array): Promise<void> {
    // A destroyed transport may not have told the framing yet: its frames would be dropped silently.
    if (this.#framing.readyState !== OPEN || this.#transport.destroyed) {
      return rejected(new NgiError('STREAM_CLOSED', 'send(): the WebSocket is closing or closed'));
    }
    if (!this.#framing.compressing) {
      // Uncompressed frames are written to the transport synchronously: the message has been
      // handed over (spec/features.md), and unless that filled the transport's buffer there
      // is nothing to wait for. Waiting for the write's completion instead would add an
      // event-loop turn to every round trip of a request/response protocol.
      this.#framing.send(data);
      if (!this.#transport.writableNeedDrain) return RESOLVED;
      return this.#drained();
    }
    return new Promise((resolve, reject) => {
      this.#framing.send(data, (error) => {
        if (error) reject(new NgiError('STREAM_CLOSED', 'send(): the WebSocket closed before the message was sent', { cause: error }));
        else resolve();
      });
    });
  }

  ping(data?: Uint8Array): Promise<void> {
    if (this.#framing.readyState !== OPEN) return rejected(new NgiError('STREAM_CLOSED', 'ping(): the WebSocket is closed'));
    // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
    if (data !== undefined && data.byteLength > 125) return rejected(new NgiError('INVALID_OPTION', `ping(): at most 125 bytes of data, got ${data.byteLength}`));
    return new Promise((resolve, reject) => {
      this.#framing.ping(data, (error) => (error ? reject(new NgiError('STREAM_CLOSED', 'ping() failed', { cause: error })) : resolve()));
    });
  }

  close(code = 1000, reason = ''): Promise<WebSocketCloseInfo> {
    if (this.#framing.readyState === OPEN || this.#framing.readyState === CONNECTING) {
      try {
        this.#framing.close(code, reason);
      } catch (error) {
        // ws rejects codes RFC 6455 §7.4 does not allow and reasons over 123 bytes.
        return rejected(new NgiError('INVALID_OPTION', `close(): ${(error as Error).message}`, { cause: error }));
      }
    }
    return this.closed;
  }

  /** Server shutdown: close 1001 "going away" (RFC 6455 §7.4.1). */
  goAway(): void {
    if (this.#framing.readyState === OPEN) this.#framing.close(1001, 'server shutting down');
  }

  /** Drops the transport without a close handshake (drain timeout). */
  terminate(): void {
    this.#framing.terminate();
  }
}
