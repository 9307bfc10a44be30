/** Server options, their defaults and their validation. See docs/server-behavior.md. */
import { NgiError } from '../interface/errors.ts';

export interface Limits {
  /** Largest request header section, bytes: HTTP/1.1 answers 431. Default 16 KiB. */
  maxHeaderSize: number;
  /** Largest request body, bytes: answered 413. Default 1 GiB. */
  maxBodySize: number;
  /** Default limit of the body helpers bytes()/text()/json(). Default 1 MiB. */
  maxBufferedBody: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised on HTTP/2. Default 128. */
  maxConcurrentStreams: number;
  /** node:http2 maxSessionMemory, MB: beyond it new streams are refused. Default 32. */
  maxSessionMemory: number;
  /** HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE: request bytes a stream may send ahead of the application. Default 65,535. */
  streamWindow: number;
  /** HTTP/2 connection receive window (WINDOW_UPDATE on stream 0 at session start). Default 65,535. */
  connectionWindow: number;
}

export interface Timeouts {
  /** Time to receive a request's header section, ms: answered 408. Default 60 s. */
  headers: number;
  /** Time to receive a whole request (head and body), ms: answered 408. 0 = none. Default 300 s. */
  request: number;
  /** HTTP/1.1 keep-alive idle time, ms. Default 5 s. */
  keepAlive: number;
  /** HTTP/2 session idle time with no open stream, ms, then GOAWAY. Default 120 s. */
  idle: number;
  /** How long shutdown waits for in-flight exchanges, ms. Default 30 s. */
  drain: number;
}

export interface WebSocketOptions {
  /** Largest message after decompression, bytes: larger ones close with 1009. Default 16 MiB. */
  maxMessageSize: number;
  /** Incoming bytes queued for an application that is not reading before reading pauses. Default 1 MiB. */
  maxQueuedBytes: number;
  /** Ping interval, ms; a peer that missed the previous pong is dropped. 0 = off. Default 30 s. */
  pingInterval: number;
  /** How long a close handshake may take before the transport is destroyed, ms. Default 5 s. */
  closeTimeout: number;
  /** Negotiate permessage-deflate (RFC 7692) when clients offer it. Default false (as ws: it costs memory per connection). */
  perMessageDeflate: boolean;
  /**
   * What frames messages. 'ngi' (default): NGI's own framing (src/ws/). 'ws': the ws library's.
   * A connection that negotiated permessage-deflate is framed by ws either way. See
   * docs/server-behavior.md §5.2.
   */
  framing: 'ngi' | 'ws';
}

export interface TlsOptions {
  cert: string | Uint8Array;
  key: string | Uint8Array;
  /** Ask clients for a certificate (it is then visible as `tls.peerCertificate`). */
  requestCert?: boolean;
  /** CAs that client certificates are verified against. */
  ca?: string | Uint8Array;
  /**
   * Refuse the handshake of a client whose certificate does not verify against `ca`.
   * Default: true when `ca` is given (false otherwise: the certificate is only reported,
   * with `peerCertificateAuthorized` false).
   */
  rejectUnauthorized?: boolean;
}

export interface ServeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Serve TLS (h2 and http/1.1 by ALPN) instead of cleartext (HTTP/1.1 and h2c). */
  tls?: TlsOptions;
  limits?: Partial<Limits>;
  timeouts?: Partial<Timeouts>;
  websocket?: Partial<WebSocketOptions>;
  /** Access log, one line per exchange. Default true. */
  accessLog?: boolean;
  /** Include error details and stacks in 500 responses. Default false. */
  debug?: boolean;
  /** Where log lines go. Default: process.stderr. */
  log?: (line: string) => void;
  /**
   * HTTP/2 prioritization. 'rfc9218' (default): SETTINGS_NO_RFC7540_PRIORITIES=1 is advertised
   * and responses are scheduled by RFC 9218 urgency. 'rfc7540': the setting is not sent. That
   * matters on http2Engine 'node' only: a Node 20 server then keeps and reports clients' RFC 7540
   * signals (features.priority.rfc7540), at the price of urgency scheduling on Node 20 (later
   * lines schedule by urgency either way and report no RFC 7540 signals). NGI's own framing
   * schedules by urgency and reports no RFC 7540 signals with either value.
   */
  priorities?: 'rfc9218' | 'rfc7540';
  /**
   * What frames HTTP/2. 'ngi' (default): NGI's own framing in JavaScript (src/h2/), several
   * times faster per request than node:http2; it does not report RFC 7540 priority signals.
   * 'node': node:http2 (nghttp2). See docs/server-behavior.md §4 and §4.1.
   */
  http2Engine?: 'node' | 'ngi';
  /**
   * What parses and frames HTTP/1.x. 'ngi' (default): NGI's own parser and serializer on the
   * socket (src/h1/), strict against request smuggling (RFC 9112 §6.3, §11.2). 'node':
   * node:http (llhttp). See docs/server-behavior.md §5 and §5.1.
   */
  http1Engine?: 'node' | 'ngi';
  /** Install SIGINT/SIGTERM handlers that close the server gracefully. Default false. */
  handleSignals?: boolean;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  tls: TlsOptions | undefined;
  limits: Limits;
  timeouts: Timeouts;
  websocket: WebSocketOptions;
  priorities: 'rfc9218' | 'rfc7540';
  http2Engine: 'node' | 'ngi';
  http1Engine: 'node' | 'ngi';
  accessLog: boolean;
  debug: boolean;
  log: (line: string) => void;
  handleSignals: boolean;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxHeaderSize: 16 * 1024,
  maxBodySize: 1024 * 1024 * 1024,
  maxBufferedBody: 1024 * 1024,
  maxConcurrentStreams: 128,
  maxSessionMemory: 32,
  streamWindow: 65_535,
  connectionWindow: 65_535,
};

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = {
  headers: 60_000,
  request: 300_000,
  keepAlive: 5_000,
  idle: 120_000,
  drain: 30_000,
};

export const DEFAULT_WEBSOCKET: Readonly<WebSocketOptions> = {
  maxMessageSize: 16 * 1024 * 1024,
  maxQueuedBytes: 1024 * 1024,
  pingInterval: 30_000,
  closeTimeout: 5_000,
  perMessageDeflate: false,
  framing: 'ngi',
};

function writeStderr(line: string): void {
  process.stderr.write(line + '\n');
}

function checkNumbers(group: string, values: object, min: number, max = Number.MAX_SAFE_INTEGER): void {
  for (const [key, value] of Object.entries(values)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new NgiError('INVALID_OPTION', `${group}.${key} must be a number from ${min} to ${max}, got ${String(value)}`);
    }
  }
}

export function resolveOptions(options: ServeOptions = {}): ResolvedOptions {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  checkNumbers('limits', limits, 1);
  // HTTP/2 carries these in 31- and 32-bit fields (RFC 9113 §6.5.2, §6.9.1); a window can
  // only grow from its initial 65,535 on the connection.
  checkNumbers('limits', { streamWindow: limits.streamWindow }, 0, 2 ** 31 - 1);
  checkNumbers('limits', { connectionWindow: limits.connectionWindow }, 65_535, 2 ** 31 - 1);
  checkNumbers('limits', { maxHeaderSize: limits.maxHeaderSize, maxConcurrentStreams: limits.maxConcurrentStreams }, 1, 2 ** 32 - 1);
  checkNumbers('timeouts', timeouts, 0);
  const { perMessageDeflate, framing, ...websocketNumbers } = { ...DEFAULT_WEBSOCKET, ...options.websocket };
  if (framing !== 'ngi' && framing !== 'ws') {
    throw new NgiError('INVALID_OPTION', `websocket.framing must be 'ngi' or 'ws', got ${JSON.stringify(framing)}`);
  }
  checkNumbers('websocket', { maxMessageSize: websocketNumbers.maxMessageSize, maxQueuedBytes: websocketNumbers.maxQueuedBytes }, 1);
  checkNumbers('websocket', { pingInterval: websocketNumbers.pingInterval, closeTimeout: websocketNumbers.closeTimeout }, 0);
  const port = options.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new NgiError('INVALID_OPTION', `port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const http2Engine = options.http2Engine ?? 'ngi';
  if (http2Engine !== 'node' && http2Engine !== 'ngi') {
    throw new NgiError('INVALID_OPTION', `http2Engine must be 'node' or 'ngi', got ${JSON.stringify(http2Engine)}`);
  }
  const http1Engine = options.http1Engine ?? 'ngi';
  if (http1Engine !== 'node' && http1Engine !== 'ngi') {
    throw new NgiError('INVALID_OPTION', `http1Engine must be 'node' or 'ngi', got ${JSON.stringify(http1Engine)}`);
  }
  if (options.tls && (!options.tls.cert || !options.tls.key)) {
    throw new NgiError('INVALID_OPTION', 'tls needs both cert and key');
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    tls: options.tls,
    limits,
    timeouts,
    websocket: { ...websocketNumbers, perMessageDeflate: perMessageDeflate === true, framing },
    priorities: options.priorities === 'rfc7540' ? 'rfc7540' : 'rfc9218',
    http2Engine,
    http1Engine,
    accessLog: options.accessLog ?? true,
    debug: options.debug ?? false,
    log: options.log ?? writeStderr,
    handleSignals: options.handleSignals ?? false,
  };
}
