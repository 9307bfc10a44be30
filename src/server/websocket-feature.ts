/**
 * features.websocket: accepting a WebSocket handshake the same way on both transports.
 * The transport-specific part (writing 101 + Sec-WebSocket-Accept on HTTP/1.1, or
 * :status 200 on an RFC 8441 stream) is the acceptor the glue passes in.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketAcceptOptions, WebSocketFeature } from '../interface/features.ts';
import type { Fields } from '../interface/fields.ts';
import { NgiError } from '../interface/errors.ts';
import { normalizeFields } from '../core/outgoing-fields.ts';
import { NgiWebSocket } from './websocket.ts';
import type { WebSocketLimits } from './websocket-framing.ts';
import { negotiateDeflate } from './websocket-ws-framing.ts';

export interface WebSocketAcceptor {
  /**
   * Sends the success response with these extra fields (lowercase name/value pairs) and
   * returns the byte stream that now carries frames, with any bytes already read from it.
   */
  accept(status: number, flat: string[]): { transport: Duplex; head: Buffer };
}

/** Open WebSockets, for shutdown (close 1001) and the drain timeout (terminate). */
export class WebSocketRegistry extends Set<NgiWebSocket> {
  /** Set when shutdown begins. */
  draining = false;
}

export class WebSocketFeatureImpl implements WebSocketFeature {
  readonly transport: 'http/1.1' | 'h2';
  readonly subprotocols: readonly string[];
  readonly #fields: Fields;
  readonly #limits: WebSocketLimits;
  readonly #acceptor: WebSocketAcceptor;
  readonly #registry: WebSocketRegistry;
  readonly #responsePending: () => boolean;
  #socket: NgiWebSocket | undefined;

  constructor(
    transport: 'http/1.1' | 'h2',
    subprotocols: readonly string[],
    fields: Fields,
    limits: WebSocketLimits,
    acceptor: WebSocketAcceptor,
    registry: WebSocketRegistry,
    responsePending: () => boolean,
  ) {
    this.transport = transport;
    this.subprotocols = subprotocols;
    this.#fields = fields;
    this.#limits = limits;
    this.#acceptor = acceptor;
    this.#registry = registry;
    this.#responsePending = responsePending;
  }

  /** The accepted socket, once accept() has run. */
  get socket(): NgiWebSocket | undefined {
    return this.#socket;
  }

  accept(options: WebSocketAcceptOptions = {}): Promise<WebSocket> {
    try {
      return Promise.resolve(this.#accept(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #accept(options: WebSocketAcceptOptions): NgiWebSocket {
    if (this.#socket !== undefined || !this.#responsePending()) {
      throw new NgiError('RESPONSE_STARTED', 'accept(): the handshake has already been answered');
    }
    const subprotocol = options.subprotocol ?? '';
    if (subprotocol !== '' && !this.subprotocols.includes(subprotocol)) {
      // RFC 6455 §4.2.2: the server must pick one of the client's offers, or none.
      throw new NgiError('INVALID_OPTION', `accept(): subprotocol ${JSON.stringify(subprotocol)} was not offered by the client`);
    }
    const { flat } = normalizeFields(options.headers);
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i]!.startsWith('sec-websocket-')) {
        throw new NgiError('FORBIDDEN_FIELD', `accept(): ${flat[i]} is set by the server`);
      }
    }
    if (subprotocol !== '') flat.push('sec-websocket-protocol', subprotocol);
    const deflate = negotiateDeflate(this.#fields, this.#limits);
    if (deflate) flat.push('sec-websocket-extensions', deflate.header);
    const { transport, head } = this.#acceptor.accept(this.transport === 'h2' ? 200 : 101, flat);
    const socket = new NgiWebSocket(transport, head, subprotocol, deflate, this.#limits);
    this.#socket = socket;
    this.#registry.add(socket);
    // Accepted while the server drains: it goes away at once, like the ones already open.
    if (this.#registry.draining) socket.goAway();
    void socket.closed.then(() => this.#registry.delete(socket));
    return socket;
  }

  /**
   * The handler has settled: the exchange is over, so an open WebSocket is closed, 1000 when
   * the handler returned, 1011 when it failed (RFC 6455 §7.4.1).
   */
  handlerSettled(failed: boolean): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    // Nobody reads after the handler: a queue left unread must not hold the closing handshake.
    socket.discardMessages();
    if (failed) void socket.close(1011, 'internal error').catch(() => socket.terminate());
    else void socket.close(1000, '').catch(() => socket.terminate());
  }
}
