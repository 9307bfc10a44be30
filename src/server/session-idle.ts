/** The idle timeout of an HTTP/2 connection, shared by the glue on node:http2 and on NGI's own framing. */
import type { ConnectionState } from './connection.ts';

/** What the timer needs of a session: node's ServerHttp2Session and NGI's H2Session both have it. */
export interface IdleSession {
  readonly closed: boolean;
  readonly destroyed: boolean;
  /** Graceful close: GOAWAY, then the end once the streams have ended. */
  close(): void;
}

/**
 * timeouts.idle for a session: closed (GOAWAY) once it has had no open stream for that long;
 * long-lived quiet streams are not cut. Not node's session.setTimeout(): node refreshes that
 * timer on every frame read or written, and the refresh (a timer-list re-insert and a clock
 * read) showed up at 2-3 % of HTTP/2 request and WebSocket message profiles. Here the clock is
 * read once per stream end, and one timer per session is armed only while it has no stream.
 */
export class SessionIdleTimer {
  readonly #session: IdleSession;
  readonly #connection: ConnectionState;
  readonly #idle: number;
  #since = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(session: IdleSession, connection: ConnectionState, idle: number) {
    this.#session = session;
    this.#connection = connection;
    this.#idle = idle;
  }

  /** The session has no open stream as of now. */
  start(): void {
    if (this.#session.closed || this.#session.destroyed) return;
    this.#since = performance.now();
    if (this.#timer === undefined) this.#arm(this.#idle);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(SessionIdleTimer.#fire, ms, this);
    this.#timer.unref();
  }

  static #fire(self: SessionIdleTimer): void {
    self.#timer = undefined;
    const session = self.#session;
    // Streams are open: the timer is armed again when the last one ends.
    if (session.closed || session.destroyed || self.#connection.inFlight > 0) return;
    const left = self.#since + self.#idle - performance.now();
    if (left > 1) self.#arm(left);
    else session.close();
  }
}
