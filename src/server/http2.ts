/**
 * HTTP/2 glue on node:http2's core 'stream' API (the compat (req, res) layer costs 35-45%).
 * The Http2Server never listens: the front listener hands it sockets (cleartext after the
 * preface was sniffed, TLS after ALPN chose h2).
 */
import http2 from 'node:http2';
import type { Chunk } from '../interface/exchange.ts';
import type { Http2PeerSettings, PriorityFeature, PushedExchange, PushFeature, PushRequest, Rfc7540Priority } from '../interface/features.ts';
import { parsePriority } from '../core/priority.ts';
import { NgiError } from '../interface/errors.ts';
import { hasToken } from '../core/fields.ts';
import { toHttp2Headers } from '../core/outgoing-fields.ts';
import { taggedConnection, type ConnectionState } from './connection.ts';
import type { ServerContext } from './context.ts';
import { ExchangeImpl, runExchange } from './exchange.ts';
import { NodeRequestBody } from './request-body.ts';
import { RequestImpl } from './request.ts';
import type { HeadOptions } from './response.ts';
import { Http2ResponseBase } from './http2-response.ts';
import { noop } from './promises.ts';
import { checkHandshake } from '../core/websocket-handshake.ts';
import { WebSocketFeatureImpl } from './websocket-feature.ts';
import { checkPush, Http2FeaturesBase, PUSH_REFUSED_MESSAGE, type CheckedPush } from './http2-features.ts';
import { SessionIdleTimer } from './session-idle.ts';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = http2.constants;
const FLAG_END_STREAM = 0x1;
const [NODE_MAJOR = 0, NODE_MINOR = 0] = process.versions.node.split('.').map(Number);
/** node:http2 stopped reporting RFC 7540 priority signals in 22.x (DEP0194); Node 20 still does. */
const REPORTS_RFC7540 = NODE_MAJOR < 22;
/**
 * stream.respond() takes a flat [name, value, ...] array since Node 24.7 and 22.20 (nodejs/node
 * #59455). NGI's fields are already flat and validated, so the array skips building a headers
 * object that node would then copy into another one (-3.5 % instructions per HTTP/2 hello).
 */
const RESPOND_TAKES_ARRAY = NODE_MAJOR > 24 || (NODE_MAJOR === 24 && NODE_MINOR >= 7) || (NODE_MAJOR === 22 && NODE_MINOR >= 20);

/** A response head for stream.respond(): the flat fields with :status first (prepended in place: callers pass a fresh list). */
function responseHead(status: number, flat: string[]): http2.OutgoingHttpHeaders {
  if (!RESPOND_TAKES_ARRAY) return toHttp2Headers(flat, { ':status': status });
  flat.unshift(':status', String(status));
  // @types/node does not know the array form yet.
  return flat as unknown as http2.OutgoingHttpHeaders;
}

const kConnection = Symbol('ngi.session-connection');
const kIdle = Symbol('ngi.session-idle');
type TrackedSession = http2.ServerHttp2Session & { [kConnection]?: ConnectionState; [kIdle]?: SessionIdleTimer };

const kResponse = Symbol('ngi.response');
type TaggedStream = http2.ServerHttp2Stream & { [kResponse]?: Http2Response };

/** 'close' of a stream: one shared listener, the exchange found through the tag. */
function onStreamClose(this: TaggedStream): void {
  this[kResponse]?.transportClosed();
}

/**
 * The response of an HTTP/2 exchange; also the source of its request body (100-continue,
 * trailers, limits) and the place that settles what the handler left of the request.
 */
class Http2Response extends Http2ResponseBase {
  readonly #stream: http2.ServerHttp2Stream;

  constructor(stream: http2.ServerHttp2Stream, isHead: boolean, limits?: { maxBodySize: number; maxBufferedBody: number }, expectContinue = false) {
    super(isHead, limits, expectContinue);
    this.#stream = stream;
  }

  /** Ties the response to its exchange and counts it on its connection until the stream closes. */
  override attach(exchange: ExchangeImpl, connection: ConnectionState, idle: SessionIdleTimer | undefined): void {
    super.attach(exchange, connection, idle);
    (this.#stream as TaggedStream)[kResponse] = this;
    this.#stream.on('close', onStreamClose);
  }

  transportClosed(): void {
    this.streamClosed();
  }

  /** Keeps the trailer section of a request with a body (node emits it once, as an event). */
  captureTrailers(raw: string[]): void {
    this.rawTrailers = raw;
  }

  protected get transportOpen(): boolean {
    return !this.#stream.destroyed && !this.#stream.closed;
  }

  protected get sink(): http2.ServerHttp2Stream {
    return this.#stream;
  }

  protected sendHead(status: number, flat: string[], options: HeadOptions): void {
    this.#stream.respond(responseHead(status, flat), { endStream: options.endStream, waitForTrailers: options.trailers !== false });
  }

  protected writeBody(chunk: Chunk): boolean {
    return this.#stream.write(chunk);
  }

  protected endBody(chunk: Chunk | undefined): void {
    if (chunk === undefined) this.#stream.end();
    else this.#stream.end(chunk);
  }

  protected endWithTrailers(flat: string[]): void {
    const stream = this.#stream;
    // node emits 'wantTrailers' once the last DATA frame is queued; sendTrailers must be
    // called then or the stream never closes.
    this.#trailersPending = true;
    stream.once('wantTrailers', () => {
      this.#trailersPending = false;
      if (!stream.destroyed) stream.sendTrailers(toHttp2Headers(flat, {}));
      // A stop request deferred by finishUnreadRequest goes out behind the trailers, one turn
      // later: an RST_STREAM queued now makes nghttp2 drop the unsent trailer HEADERS.
      if (this.#closeAfterTrailers) setImmediate(() => this.finishUnreadRequest());
    });
    stream.end();
  }

  /** Trailers are queued until node asks for them ('wantTrailers'). */
  #trailersPending = false;
  #closeAfterTrailers = false;

  /** RST_STREAM INTERNAL_ERROR: the peer learns the response is not complete. */
  abort(code: number = NGHTTP2_INTERNAL_ERROR): void {
    this.state = 'ended';
    const stream = this.#stream;
    if (stream.closed || stream.destroyed) return;
    // close(code) ends the writable side first, and node then sends END_STREAM before the
    // RST_STREAM: the peer would take a truncated body for a complete one. destroy(error)
    // resets at once, always with INTERNAL_ERROR.
    if (stream.headersSent && !stream.writableEnded) stream.destroy(new NgiError('INCOMPLETE_RESPONSE', 'the response was aborted'));
    else stream.close(code);
  }

  /**
   * RFC 9113 §8.1: a server that has answered before the request body ended may ask the
   * client to stop sending with RST_STREAM(NO_ERROR). node queues it behind the data.
   */
  finishUnreadRequest(): void {
    const stream = this.#stream;
    // END_STREAM on HEADERS (or a body read to its end): nothing left to stop. node's
    // remoteClose still reads 0 while the 'stream' callback's microtasks run, so it alone
    // would reset streams whose handler finished at once.
    if (stream.endAfterHeaders || stream.readableEnded) return;
    // node destroys a stream closed with NO_ERROR only once its readable side has ended:
    // DATA the application left unread must be discarded, or the stream never closes.
    stream.resume();
    if (this.state === 'ended' && !stream.closed && !stream.destroyed && stream.state.remoteClose === 0) {
      // close() marks the stream closed at once, and node then never asks for the trailers.
      if (this.#trailersPending) {
        this.#closeAfterTrailers = true;
        return;
      }
      stream.close(NGHTTP2_NO_ERROR);
    }
  }

  protected writeEarlyHints(flat: string[]): void {
    this.#stream.additionalHeaders(toHttp2Headers(flat, { ':status': 103 }));
  }

  sendContinue(): void {
    if (this.state === 'pending' && this.transportOpen) this.#stream.additionalHeaders({ ':status': 100 });
  }
}

/**
 * Server push (RFC 9113 §8.4) from one parent stream: a PUSH_PROMISE on it, then the promised
 * response on a new server stream, answered like any response.
 */
class Http2Push implements PushFeature {
  readonly #parent: http2.ServerHttp2Stream;
  readonly #request: RequestImpl;

  constructor(parent: http2.ServerHttp2Stream, request: RequestImpl) {
    this.#parent = parent;
    this.#request = request;
  }

  push(init: PushRequest): Promise<PushedExchange> {
    let target: CheckedPush;
    try {
      target = checkPush(init, this.#request);
    } catch (error) {
      return Promise.reject(error);
    }
    const { method, path, scheme, authority, flat } = target;
    const parent = this.#parent;
    const headers = toHttp2Headers(flat, { ':method': method, ':path': path, ':scheme': scheme, ':authority': authority });
    return new Promise((resolve, reject) => {
      const refused = (cause?: unknown): void => reject(new NgiError('PUSH_REFUSED', PUSH_REFUSED_MESSAGE, { cause }));
      if (parent.closed || parent.destroyed || !parent.pushAllowed) return refused();
      try {
        parent.pushStream(headers, (error, pushed) => {
          if (error) return refused(error);
          pushed.on('error', noop);
          // A promised request has no body: its response serves as the (empty) body's source.
          const response = new Http2Response(pushed, method === 'HEAD');
          const body = new NodeRequestBody(pushed, 0, true, response);
          const raw = [':method', method, ':path', path, ':scheme', scheme, ':authority', authority, ...flat];
          resolve({ request: new RequestImpl(method, scheme, authority, path, raw, true, body), response });
        });
      } catch (error) {
        refused(error);
      }
    });
  }
}

class Http2Features extends Http2FeaturesBase {
  #priority: PriorityFeature | undefined;
  #push: Http2Push | undefined;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #session: http2.ServerHttp2Session;
  readonly streamId: number;

  constructor(stream: http2.ServerHttp2Stream, request: RequestImpl, response: Http2Response, session: http2.ServerHttp2Session, connection: ConnectionState) {
    super(request, response, connection);
    this.#stream = stream;
    this.#session = session;
    this.streamId = stream.id ?? 0;
  }

  get push(): PushFeature | undefined {
    const stream = this.#stream;
    if (!stream.pushAllowed || stream.closed || stream.destroyed || this.#session.closed) return undefined;
    return (this.#push ??= new Http2Push(stream, this.request));
  }

  get priority(): PriorityFeature {
    if (this.#priority === undefined) {
      const signal = parsePriority(this.request.headers.get('priority'));
      this.#priority = this.#rfc7540 ? { ...signal, rfc7540: this.#rfc7540 } : signal;
    }
    return this.#priority;
  }

  #rfc7540: Rfc7540Priority | undefined;

  /** Follows the client's RFC 7540 signals for this stream (Node 20 reports them). */
  trackRfc7540(stream: http2.ServerHttp2Stream): void {
    this.#rfc7540 = { weight: stream.state.weight ?? 16, parent: 0, exclusive: false };
    stream.on('priority', (_id: number, parent: number, weight: number, exclusive: boolean) => {
      this.#rfc7540 = { weight, parent, exclusive };
      if (this.#priority) this.#priority = { ...this.#priority, rfc7540: this.#rfc7540 };
    });
  }

  get peerSettings(): Http2PeerSettings {
    const s = this.#session.remoteSettings;
    return {
      enablePush: s.enablePush ?? true,
      maxConcurrentStreams: s.maxConcurrentStreams ?? 2 ** 32 - 1,
      initialWindowSize: s.initialWindowSize ?? 65_535,
      maxFrameSize: s.maxFrameSize ?? 16_384,
      // node reports nghttp2's default (2^32-1, "unlimited") when the peer sent none.
      maxHeaderListSize: s.maxHeaderListSize === undefined || s.maxHeaderListSize >= 2 ** 32 - 1 ? undefined : s.maxHeaderListSize,
      enableConnectProtocol: s.enableConnectProtocol ?? false,
    };
  }
}

function onStream(context: ServerContext, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]): void {
  const session = stream.session as TrackedSession;
  const connection = session[kConnection];
  if (connection === undefined) {
    stream.close(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  // Streams can fail (peer reset, session teardown); failures surface through 'close'.
  stream.on('error', noop);
  const limits = context.options.limits;
  const extendedProtocol = headers[':protocol'];
  // RFC 8441 §4: a WebSocket is a CONNECT stream with :protocol websocket. Applications see
  // it as the GET of an HTTP/1.1 handshake, so one routing rule serves both transports.
  const websocket = headers[':method'] === 'CONNECT' && extendedProtocol === 'websocket';
  if (extendedProtocol !== undefined && !websocket) {
    stream.respond({ ':status': 501 }, { endStream: true });
    stream.close(NGHTTP2_NO_ERROR);
    return;
  }
  const method = websocket ? 'GET' : (headers[':method'] ?? 'GET');
  // The bytes of a WebSocket stream are frames, never a request body.
  const endStream = websocket || (flags & FLAG_END_STREAM) !== 0;
  const declared = headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  const expect = headers.expect;
  // As node:http does on HTTP/1.1: a value holding the 100-continue token asks for a 100.
  const expectContinue = hasToken(expect, '100-continue');
  const response = new Http2Response(stream, method === 'HEAD', limits, expectContinue);
  if (!endStream) {
    stream.once('trailers', (_trailers: unknown, _flags: unknown, raw: string[]) => response.captureTrailers(raw));
  }
  const body = new NodeRequestBody(stream, length, endStream, response);
  // A request that ended with its HEADERS has an empty readable side. While that side is
  // untouched (readableFlowing null), node resets the stream with RST_STREAM(NO_ERROR) as soon
  // as the response is written (kMaybeDestroy), and that frame can overtake the response's
  // END_STREAM when other streams are queued ahead. pause() takes it out of that state at no
  // cost (resume() would run the read machinery: ~25% of a hello's time); node reads the
  // empty side itself when nghttp2 closes the stream.
  if (endStream && !websocket) stream.pause();
  const scheme = headers[':scheme'] === 'https' ? 'https' : 'http';
  const request = new RequestImpl(method, scheme, headers[':authority'], headers[':path'] ?? '', rawHeaders, true, body);
  const features = new Http2Features(stream, request, response, session, connection);
  if (REPORTS_RFC7540 && context.options.priorities === 'rfc7540') features.trackRfc7540(stream);
  const exchange = new ExchangeImpl(context, connection.encrypted ? 'h2' : 'h2c', connection, request, response, features);
  response.attach(exchange, connection, session[kIdle]);
  if (!endStream && context.options.timeouts.request > 0) {
    const requestTimer = setTimeout(() => {
      // The timeout measures the client: a body it has sent in full (END_STREAM) is on time,
      // even if the application has not read it.
      if (body.finished || stream.state.remoteClose === 1) return;
      exchange.cancel(new NgiError('REQUEST_TIMEOUT', 'the request body did not arrive within the request timeout'));
      if (response.state === 'pending') {
        exchange.sendError(new NgiError('REQUEST_TIMEOUT', 'request timeout'));
        response.finishUnreadRequest();
      } else {
        response.abort(NGHTTP2_CANCEL);
      }
    }, context.options.timeouts.request);
    requestTimer.unref();
    response.requestTimer = requestTimer;
  }

  // Checked once the stream's 'close' is wired: a refused handshake must still finish its
  // exchange (and release connection.inFlight), or shutdown waits for it until the drain timeout.
  if (websocket) {
    const check = checkHandshake('h2', 'CONNECT', request.headers);
    if (!check.ok) return exchange.refuse(new NgiError('INVALID_HANDSHAKE', check.message), check.headers, check.status);
    websocketFeatureFor(context, stream, check.subprotocols, request, response, features);
  }

  if (length !== undefined && length > limits.maxBodySize) {
    return exchange.refuse(new NgiError('BODY_TOO_LARGE', `content-length ${length} exceeds the server limit of ${limits.maxBodySize}`));
  }
  if (expect !== undefined && !expectContinue) {
    // RFC 9110 §10.1.1: an expectation the server cannot meet (node answers the same on HTTP/1.1).
    return exchange.refuse(new NgiError('EXPECTATION_FAILED', `unsupported expectation ${JSON.stringify(headers.expect)}`));
  }
  runExchange(context, exchange);
}


/**
 * features.websocket for an RFC 8441 stream: the handshake is checked first (a bad one is
 * answered before the application runs); accepting answers :status 200 and hands the
 * stream to the WebSocket framing.
 */
function websocketFeatureFor(context: ServerContext, stream: http2.ServerHttp2Stream, subprotocols: string[], request: RequestImpl, response: Http2Response, features: Http2Features): WebSocketFeatureImpl {
  const feature = new WebSocketFeatureImpl('h2', subprotocols, request.headers, context.options.websocket, {
    accept(status, flat) {
      stream.respond(responseHead(status, flat));
      response.markSwitched(status);
      return { transport: stream, head: Buffer.alloc(0) };
    },
  }, context.websockets, () => response.state === 'pending');
  features.websocket = feature;
  response.websocket = feature;
  return feature;
}


export interface Http2Glue {
  readonly server: http2.Http2Server;
  readonly sessions: Set<http2.ServerHttp2Session>;
}

export function createHttp2Server(context: ServerContext): Http2Glue {
  const { limits, timeouts } = context.options;
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer({
    // node advertises no stream limit by default; 128 is in line with nginx and h2o.
    // The same header limit as HTTP/1.1, advertised as SETTINGS_MAX_HEADER_LIST_SIZE: a larger
    // header list is reset with ENHANCE_YOUR_CALM and the connection lives on.
    // SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3) lets clients open WebSockets on streams.
    // SETTINGS_NO_RFC7540_PRIORITIES = 1 (RFC 9218 §2.1): nghttp2 then schedules DATA by
    // the RFC 9218 urgency and incremental flag of each stream (node 20 otherwise uses RFC 7540
    // round robin); node has no setting name for it, hence the custom id 9.
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderSize,
      enableConnectProtocol: true,
      initialWindowSize: limits.streamWindow,
      ...(context.options.priorities === 'rfc9218' ? { customSettings: { 9: 1 } } : {}),
    },
    maxSessionMemory: limits.maxSessionMemory,
  });
  server.on('session', (session: TrackedSession) => {
    // The front listener tagged the socket with its connection state; node's socket proxy
    // passes symbol properties through.
    const connection = taggedConnection(session.socket);
    if (connection) session[kConnection] = connection;
    sessions.add(session);
    session.on('error', noop);
    if (limits.connectionWindow > 65_535) {
      // RFC 9113 §6.9.2: the connection window starts at 65,535 whatever SETTINGS say.
      session.once('connect', () => {
        if (!session.destroyed) session.setLocalWindowSize(limits.connectionWindow);
      });
    }
    session.once('close', () => {
      sessions.delete(session);
      session[kIdle]?.stop();
    });
    // A GOAWAY from the peer means this connection takes no new streams: drain.
    session.once('goaway', () => connection?.startDrain());
    if (timeouts.idle > 0 && connection) {
      const idle = new SessionIdleTimer(session, connection, timeouts.idle);
      session[kIdle] = idle;
      idle.start();
    }
    // A TLS handshake that completed after shutdown began still gets the graceful GOAWAY.
    if (context.draining) drainSession(session);
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => onStream(context, stream, headers, flags, rawHeaders));
  server.on('sessionError', noop);
  return { server, sessions };
}

/**
 * Graceful GOAWAY, RFC 9113 §6.8: first GOAWAY with the largest stream id so requests in
 * flight are not refused, then after a PING round trip the real last stream id (which
 * node's session.close() sends), after which the session ends when its streams have.
 */
export function drainSession(session: http2.ServerHttp2Session): void {
  const connection = (session as TrackedSession)[kConnection];
  connection?.startDrain();
  if (session.closed || session.destroyed) return;
  try {
    session.goaway(NGHTTP2_NO_ERROR, 2 ** 31 - 1);
  } catch {
    session.close();
    return;
  }
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    if (!session.closed && !session.destroyed) session.close();
  };
  const fallback = setTimeout(close, 1000);
  fallback.unref();
  // A PING queued in the same turn leaves ahead of the GOAWAY (nghttp2 sends it from its urgent
  // queue), and its ACK would prove nothing: ping once the GOAWAY has gone out.
  setImmediate(() => {
    if (closed || session.closed || session.destroyed) return;
    const pinged = session.ping(() => {
      clearTimeout(fallback);
      close();
    });
    if (!pinged) close();
  });
  // A peer that answers with its own GOAWAY (as grpc-js does) will not ack the PING.
  session.once('goaway', () => {
    clearTimeout(fallback);
    close();
  });
}
