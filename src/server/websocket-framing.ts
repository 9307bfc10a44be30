/**
 * What frames a WebSocket's messages on its transport, below the application-facing
 * NgiWebSocket (websocket.ts): ws (websocket-ws-framing.ts), or NGI's own framing
 * (websocket-ngi-framing.ts over src/ws/). Both keep ws's connection semantics: the same
 * readyState values, the same closing handshake (the server ends the transport once both Close
 * frames have passed, RFC 6455 §7.1.1), and the same close code reported to the application
 * (the peer's, 1005 for a Close without one, 1006 when none arrived).
 */
import type { WebSocketOptions } from './options.ts';

export type WebSocketLimits = WebSocketOptions;

/** readyState values (RFC 6455 / WHATWG WebSocket). */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

export interface FramingEvents {
  /** A whole message; text is valid UTF-8. */
  message(data: Buffer, binary: boolean): void;
  pong(): void;
  /** The transport is gone: the peer's close code and reason, or 1006 when no Close arrived. */
  closed(code: number, reason: string): void;
}

export interface Framing {
  readonly readyState: number;
  /** Bytes written and not yet taken by the transport. */
  readonly bufferedAmount: number;
  /** Sends complete only in `done`'s callback (permessage-deflate compresses asynchronously). */
  readonly compressing: boolean;
  /** A whole message, binary unless `data` is a string. Without compression it is written before this returns. */
  send(data: string | Uint8Array, done?: (error?: Error | null) => void): void;
  ping(data: Uint8Array | undefined, done: (error?: Error | null) => void): void;
  /** Starts the closing handshake; throws for a code RFC 6455 §7.4 does not allow or a reason over 123 bytes. */
  close(code: number, reason: string): void;
  /** Stops delivering messages and reading the transport, until resume(). */
  pause(): void;
  resume(): void;
  /** Destroys the transport without a closing handshake. */
  terminate(): void;
}
