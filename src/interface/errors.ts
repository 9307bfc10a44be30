/**
 * Errors raised by NGI carry a stable `code` (docs/errors.md lists them all) and, where
 * one applies, the HTTP status the server answers with when the error escapes an
 * application before its response has started.
 */

export const ErrorCodes = {
  /** An application gave a field name that is not an RFC 9110 §5.1 token. */
  INVALID_FIELD_NAME: { status: 500 },
  /** A field value holds CR, LF, NUL or another octet RFC 9110 §5.5 forbids. */
  INVALID_FIELD_VALUE: { status: 500 },
  /** A pseudo-header or a field the server owns (RFC 9113 §8.2.2) was given. */
  FORBIDDEN_FIELD: { status: 500 },
  /** A status outside 200-599 for a final response (100-199 are sent by features). */
  INVALID_STATUS: { status: 500 },
  /** send()/start() after the response started, or early hints after it. */
  RESPONSE_STARTED: { status: 500 },
  /** write()/end() before start(). */
  RESPONSE_NOT_STARTED: { status: 500 },
  /** write()/end() after end(). */
  RESPONSE_ENDED: { status: 500 },
  /** The body is longer (or shorter) than the Content-Length the application declared. */
  CONTENT_LENGTH_MISMATCH: { status: 500 },
  /** A capability was used on an exchange that does not offer it. */
  FEATURE_UNAVAILABLE: { status: 500 },
  /** The handler settled without starting a response. */
  NO_RESPONSE: { status: 500 },
  /** The handler settled with its response body still open. */
  INCOMPLETE_RESPONSE: { status: 500 },
  /** The request body is over a limit (Content-Length or bytes read). */
  BODY_TOO_LARGE: { status: 413 },
  /** The request body was already consumed. */
  BODY_CONSUMED: { status: 500 },
  /** The request body is not valid JSON. */
  INVALID_JSON: { status: 400 },
  /** The request carries an Expect other than 100-continue (RFC 9110 §10.1.1). */
  EXPECTATION_FAILED: { status: 417 },
  /** A WebSocket opening handshake is malformed (answered 400, 405 or 426 before the application runs). */
  INVALID_HANDSHAKE: { status: 400 },
  /** The request body was not complete before the request timeout. */
  REQUEST_TIMEOUT: { status: 408 },
  /** The peer reset the stream or the connection closed. */
  STREAM_CLOSED: { status: 500 },
  /** The peer refused or no longer allows a push. */
  PUSH_REFUSED: { status: 500 },
  /** The server is shutting down and gave up on the exchange at the drain timeout. */
  SHUTDOWN: { status: 503 },
  /** The lifespan startup hook failed. */
  STARTUP_FAILED: { status: 500 },
  /** The application module could not be loaded or exports no application. */
  APP_LOAD_FAILED: { status: 500 },
  /** A server option is invalid. */
  INVALID_OPTION: { status: 500 },
  /** The server could not listen (address in use, permission). */
  LISTEN_FAILED: { status: 500 },
} as const satisfies Record<string, { status: number }>;

export type ErrorCode = `NGI_ERR_${keyof typeof ErrorCodes}`;

/**
 * A registry symbol, not a private one: an application may load its own copy of NGI (its
 * TypeScript sources through a loader while the CLI runs the compiled package, or two
 * versions in one tree), and an NgiError from either copy must still be recognized as one.
 */
const kNgiError = Symbol.for('ngi.error');

export class NgiError extends Error {
  override readonly name = 'NgiError';
  declare readonly [kNgiError]: true;
  readonly code: ErrorCode;
  /** The HTTP status this error maps to when it ends an exchange before its response. */
  readonly status: number;

  constructor(code: keyof typeof ErrorCodes, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = `NGI_ERR_${code}`;
    this.status = ErrorCodes[code].status;
    Object.defineProperty(this, kNgiError, { value: true });
  }

  /** `instanceof NgiError` holds for NgiErrors of every loaded copy of NGI. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses keep the ordinary prototype check: any NgiError is not a MyError.
    if (this !== NgiError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [kNgiError]?: unknown })[kNgiError] === true;
  }
}

export function isNgiError(value: unknown): value is NgiError {
  return value instanceof NgiError;
}
