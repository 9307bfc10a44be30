/**
 * Optional capabilities, discovered per exchange. See spec/features.md.
 *
 * Every member of `Features` is optional, so the compiler makes an application check for a
 * capability before it uses it. A member is present exactly when the capability works on
 * this exchange (protocol, peer settings and server configuration allowing); a server that
 * does not know a capability leaves it absent, so new members never break applications.
 */
import type { FieldsInit } from './fields.ts';
import type { Request, Response } from './exchange.ts';

export interface Features {
  /** 103 Early Hints (RFC 8297): HTTP/1.1 and HTTP/2. */
  readonly earlyHints?: EarlyHintsFeature | undefined;
  /** Response trailer fields: HTTP/1.1 (chunked) and HTTP/2. */
  readonly responseTrailers?: ResponseTrailersFeature | undefined;
  /** Connection draining: the server or peer is winding the connection down. */
  readonly drain?: DrainFeature | undefined;
  /** Priority signals (RFC 9218) and the server's scheduling of them. */
  readonly priority?: PriorityFeature | undefined;
  /** HTTP/2 server push (RFC 9113 §8.4), when the peer allows it. */
  readonly push?: PushFeature | undefined;
  /** Flow control for this exchange's request body. */
  readonly flowControl?: FlowControlFeature | undefined;
  /** This exchange is a WebSocket opening handshake (RFC 6455 / RFC 8441). */
  readonly websocket?: WebSocketFeature | undefined;
  /** HTTP/2 stream and session facts. */
  readonly http2?: Http2Feature | undefined;
}

export interface EarlyHintsFeature {
  /**
   * Sends a 103 response with these fields (typically `link`). May be called several times,
   * only before the final response starts (NGI_ERR_RESPONSE_STARTED afterwards).
   */
  send(fields: FieldsInit): Promise<void>;
}

export interface ResponseTrailersFeature {
  /**
   * Whether the client announced it accepts trailers (`TE: trailers`, RFC 9110 §10.1.4).
   * Trailers may be sent either way; a client that did not announce may discard them.
   */
  readonly acceptedByClient: boolean;
}

export interface DrainFeature {
  /** True once the connection is draining. */
  readonly draining: boolean;
  /**
   * Aborted when draining starts (server shutdown, GOAWAY sent or received): long-lived
   * responses should finish soon; the server closes them at its drain timeout.
   */
  readonly signal: AbortSignal;
}

/**
 * The client's RFC 9218 priority signal for this exchange, from its `priority` header field
 * (invalid members ignored, RFC 9218 §4). On HTTP/2 the server schedules concurrent responses
 * of one connection by it; on HTTP/1.1 it is informative.
 */
export interface PriorityFeature {
  /** RFC 9218 urgency, 0 (highest) to 7; default 3. */
  readonly urgency: number;
  /** RFC 9218 incremental flag; default false. */
  readonly incremental: boolean;
  /**
   * The stream's RFC 7540 §5.3 priority (deprecated by RFC 9113 §5.3.2), as last signalled by
   * the client in HEADERS or PRIORITY frames. Present only where the host can report it: in the
   * reference server, HTTP/2 with the `priorities: 'rfc7540'` option on Node lines whose
   * node:http2 still reports these signals (Node 20).
   */
  readonly rfc7540?: Rfc7540Priority | undefined;
}

export interface Rfc7540Priority {
  /** 1 to 256; 16 when the client signalled none. */
  readonly weight: number;
  /** The stream this one depends on; 0 is the root. */
  readonly parent: number;
  readonly exclusive: boolean;
}

export interface PushRequest {
  /** Path and query of the pushed resource. */
  path: string;
  /** A safe, cacheable method (RFC 9113 §8.4): GET (default) or HEAD. */
  method?: 'GET' | 'HEAD';
  /** Defaults to the parent request's authority. */
  authority?: string;
  headers?: FieldsInit;
}

export interface PushedExchange {
  /** The promised request (its body is empty). */
  readonly request: Request;
  /** Answer it like any other response. */
  readonly response: Response;
}

export interface PushFeature {
  /**
   * Sends a PUSH_PROMISE on this exchange's stream and returns the promised exchange.
   * Rejects with NGI_ERR_PUSH_REFUSED when the peer disabled push meanwhile or the parent
   * stream has closed.
   */
  push(request: PushRequest): Promise<PushedExchange>;
}

export interface FlowControlFeature {
  /** Limits how fast the peer may send the request body; null removes the limit. */
  setUploadRate(bytesPerSecond: number | null): void;
}

export interface WebSocketAcceptOptions {
  /** One of `WebSocketFeature.subprotocols`. */
  subprotocol?: string;
  /** Extra response fields sent with the 101 (HTTP/1.1) or 200 (HTTP/2). */
  headers?: FieldsInit;
}

export type WebSocketMessage =
  | { readonly type: 'text'; readonly data: string }
  | { readonly type: 'binary'; readonly data: Uint8Array };

export interface WebSocketCloseInfo {
  /** 1005 when the peer sent no code, 1006 when the connection was lost without a close. */
  readonly code: number;
  readonly reason: string;
}

/**
 * Called by `WebSocket.receive()` once per message. Returning a promise (or any thenable)
 * holds the next message back until it settles; any other value does not.
 */
export type WebSocketMessageHandler = (message: WebSocketMessage) => unknown;

/** A WebSocket connection as the application sees it: messages, never the socket. */
export interface WebSocket extends AsyncIterable<WebSocketMessage> {
  readonly subprotocol: string;
  /**
   * The callback way to read messages, instead of iterating: `handler` is called once per
   * message, in order, never while a promise it returned is pending. Resolves with the close
   * information once the connection has closed and every message has been handled; rejects
   * with the handler's error (no message is handled after it). A WebSocket is read once:
   * by one iteration or one receive() (NGI_ERR_BODY_CONSUMED otherwise).
   */
  receive(handler: WebSocketMessageHandler): Promise<WebSocketCloseInfo>;
  /** Resolves when the message has been handed to the transport. */
  send(data: string | Uint8Array): Promise<void>;
  ping(data?: Uint8Array): Promise<void>;
  /** Starts the closing handshake; resolves with the peer's close code and reason. */
  close(code?: number, reason?: string): Promise<WebSocketCloseInfo>;
  /** Resolves when the connection has closed, however it closed. */
  readonly closed: Promise<WebSocketCloseInfo>;
  /** Bytes queued but not yet taken by the transport. */
  readonly bufferedAmount: number;
}

export interface WebSocketFeature {
  /** How the handshake arrived: HTTP/1.1 Upgrade or HTTP/2 extended CONNECT (RFC 8441). */
  readonly transport: 'http/1.1' | 'h2';
  /** Subprotocols the client offered (Sec-WebSocket-Protocol), in its order. */
  readonly subprotocols: readonly string[];
  /** Accepts the handshake. To deny it, answer with `exchange.response` instead. */
  accept(options?: WebSocketAcceptOptions): Promise<WebSocket>;
}

export interface Http2PeerSettings {
  readonly enablePush: boolean;
  readonly maxConcurrentStreams: number;
  readonly initialWindowSize: number;
  readonly maxFrameSize: number;
  readonly maxHeaderListSize: number | undefined;
  readonly enableConnectProtocol: boolean;
}

export interface Http2Feature {
  readonly streamId: number;
  /** The peer's SETTINGS as last received. */
  readonly peerSettings: Http2PeerSettings;
}
