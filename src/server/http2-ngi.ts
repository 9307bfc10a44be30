/**
 * HTTP/2 glue on NGI's own framing (src/h2/), chosen with `http2Engine: 'ngi'`: the same
 * exchanges as the glue on node:http2 (http2.ts), without node's per-stream Duplex, headers
 * object and events. A request without a body costs one stream record and NGI's exchange.
 *
 * Not carried on this engine: RFC 7540 priority signals (deprecated, RFC 9113 §5.3.2; read
 * and ignored, as by node:http2 from Node 22 on).
 */
import { Duplex, Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { Chunk } from '../interface/exchange.ts';
import type { Http2PeerSettings, PriorityFeature, PushedExchange, PushFeature, PushRequest } from '../interface/features.ts';
import { NgiError } from '../interface/errors.ts';
import { ErrorCode } from '../h2/frames.ts';
import type { RequestHead } from '../h2/request-fields.ts';
import { H2Session, type H2SessionOptions, type SessionListener } from '../h2/session.ts';
import type { H2Stream, StreamListener } from '../h2/stream.ts';
import { parsePriority } from '../core/priority.ts';
import { findField, hasToken } from '../core/fields.ts';
import { taggedConnection, type ConnectionState } from './connection.ts';
import type { ServerContext } from './context.ts';
import { ExchangeImpl, runExchange } from './exchange.ts';
import { NodeRequestBody } from './request-body.ts';
import { RequestImpl } from './request.ts';
import type { HeadOptions } from './response.ts';
import { Http2ResponseBase } from './http2-response.ts';
import { SessionIdleTimer } from './session-idle.ts';
import { checkPush, Http2FeaturesBase, PUSH_REFUSED_MESSAGE, type CheckedPush } from './http2-features.ts';
import { WebSocketFeatureImpl } from './websocket-feature.ts';
import { checkHandshake } from '../core/websocket-handshake.ts';
import { noop } from './promises.ts';

const STATUS_TEXT = new Map<number, string>();
function statusText(status: number): string {
  let text = STATUS_TEXT.get(status);
  if (text === undefined) STATUS_TEXT.set(status, (text = String(status)));
  return text;
}

function toBuffer(chunk: Chunk): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Stands in for the body of a request that ended with its HEADERS: NodeRequestBody never reads it. */
const NO_BODY = new Readable({ read() {} });
NO_BODY.push(null);

/**
 * Stream window for what a Readable fed by a stream has handed on. Credit follows read(), not
 * _read(): node calls _read() once and not again until something is pushed, so credit
 * returned there would stall a client that waits for it.
 */
class StreamCredit {
  readonly #stream: H2Stream;
  /** Bytes pushed into the Readable. */
  pushed = 0;
  #returned = 0;

  constructor(stream: H2Stream) {
    this.#stream = stream;
  }

  /** After a read(): what left the Readable's buffer (`buffered` bytes remain) goes back as window. */
  returnConsumed(buffered: number): void {
    const consumed = this.pushed - buffered - this.#returned;
    if (consumed > 0) {
      this.#returned += consumed;
      this.#stream.consume(consumed);
    }
  }
}

/**
 * A request body as a node Readable (what NodeRequestBody reads, pulling), fed by the stream.
 * Bytes that have left its buffer are consumed: they go back to the client as stream window
 * (read()), so the client runs ahead of the application by the
 * stream window, no more.
 */
class StreamBody extends Readable {
  readonly #credit: StreamCredit;

  constructor(stream: H2Stream) {
    super();
    this.#credit = new StreamCredit(stream);
    // A body cut off with nobody reading it must not be an uncaught 'error'; readers learn it from destroyed/errored.
    this.on('error', noop);
  }

  /** Lengths of the chunks pushed and not yet read, oldest first. */
  readonly #sizes: number[] = [];

  /**
   * One DATA payload per read(): node's read() without a size joins (copies) everything
   * buffered, and a socket read often carries several DATA frames of one upload.
   */
  override read(size?: number): Buffer | null {
    const sizes = this.#sizes;
    const whole = size === undefined && sizes.length > 0;
    const chunk = super.read(whole ? sizes[0] : size) as Buffer | null;
    if (whole && chunk !== null) sizes.shift();
    this.#credit.returnConsumed(this.readableLength);
    return chunk;
  }

  override _read(): void {}

  /** END_STREAM arrived: what is buffered stays readable after the stream closes. */
  complete = false;

  data(chunk: Buffer): void {
    this.#credit.pushed += chunk.length;
    this.#sizes.push(chunk.length);
    this.push(chunk);
  }

  end(): void {
    this.complete = true;
    this.push(null);
  }
}

/**
 * The byte stream of an RFC 8441 WebSocket: a Duplex over one stream's DATA, what ws frames
 * (as it frames a node:http2 stream on the other glue). Writes wait for the stream's window
 * (their callback follows the stream's drain); bytes read return as window when ws takes them.
 */
class StreamTunnel extends Duplex {
  readonly #stream: H2Stream;
  readonly #credit: StreamCredit;
  #writeCallback: ((error?: Error | null) => void) | undefined;

  constructor(stream: H2Stream) {
    super({ allowHalfOpen: true });
    this.#stream = stream;
    this.#credit = new StreamCredit(stream);
    this.on('error', noop);
  }

  override read(size?: number): Buffer | null {
    const chunk = super.read(size) as Buffer | null;
    this.#credit.returnConsumed(this.readableLength);
    return chunk;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#stream.closed) return callback(new NgiError('STREAM_CLOSED', 'the WebSocket stream was reset'));
    if (this.#stream.write(chunk)) callback();
    else this.#writeCallback = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#stream.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#stream.closed) this.#stream.reset(ErrorCode.CANCEL);
    this.#release(error ?? new NgiError('STREAM_CLOSED', 'the WebSocket stream closed'));
    callback(error);
  }

  /** ws asks for these of a TCP socket; a stream has neither. */
  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  data(chunk: Buffer): void {
    this.#credit.pushed += chunk.length;
    this.push(chunk);
  }

  drained(): void {
    this.#release();
  }

  #release(error?: Error): void {
    const callback = this.#writeCallback;
    this.#writeCallback = undefined;
    callback?.(error);
  }
}

/** The response of an exchange on the engine; also its stream's listener and its body's source. */
class EngineResponse extends Http2ResponseBase implements StreamListener {
  readonly #stream: H2Stream;
  #body: StreamBody | undefined;
  #tunnel: StreamTunnel | undefined;
  #drainWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #drainPromise: Promise<void> | undefined;

  constructor(stream: H2Stream, isHead: boolean, limits?: { maxBodySize: number; maxBufferedBody: number }, expectContinue = false) {
    super(isHead, limits, expectContinue);
    this.#stream = stream;
    stream.listener = this;
  }

  /** The Readable the request body is read from (created only for requests that have one). */
  bodyReadable(): Readable {
    return (this.#body ??= new StreamBody(this.#stream));
  }

  /** The byte stream of a WebSocket on this stream (RFC 8441): its DATA goes there, not to a body. */
  tunnel(): StreamTunnel {
    return (this.#tunnel ??= new StreamTunnel(this.#stream));
  }

  // StreamListener
  streamData(chunk: Buffer): void {
    if (this.#tunnel !== undefined) this.#tunnel.data(chunk);
    else this.#body?.data(chunk);
  }

  streamEnd(): void {
    if (this.#tunnel !== undefined) this.#tunnel.push(null);
    else this.#body?.end();
  }

  streamTrailers(flat: string[]): void {
    this.rawTrailers = flat;
  }

  streamDrain(): void {
    this.#tunnel?.drained();
    const waiter = this.#drainWaiter;
    this.#drainWaiter = undefined;
    waiter?.resolve();
  }

  streamClose(code: number): void {
    const body = this.#body;
    // A body that had not ended is cut off, whatever the code (also after our own
    // RST_STREAM(NO_ERROR) that stops an upload nobody waits for, the request timeout); one
    // the client sent in full stays readable.
    if (body !== undefined && !body.readableEnded && !body.destroyed && !(code === ErrorCode.NO_ERROR && body.complete)) {
      body.destroy(new NgiError('STREAM_CLOSED', `the stream closed before the request body ended (code ${code})`));
    }
    const tunnel = this.#tunnel;
    if (tunnel !== undefined && !tunnel.destroyed) tunnel.destroy();
    const waiter = this.#drainWaiter;
    this.#drainWaiter = undefined;
    waiter?.reject(new NgiError('STREAM_CLOSED', 'write(): the client reset the stream or closed the connection'));
    this.streamClosed();
  }

  protected get transportOpen(): boolean {
    return !this.#stream.closed;
  }

  protected get sink(): NodeJS.EventEmitter {
    throw new Error('the engine response has no node sink');
  }

  protected override waitForDrain(): Promise<void> {
    if (this.#drainPromise === undefined || this.#drainWaiter === undefined) {
      this.#drainPromise = new Promise<void>((resolve, reject) => (this.#drainWaiter = { resolve, reject }));
    }
    return this.#drainPromise;
  }

  protected sendHead(status: number, flat: string[], options: HeadOptions): void {
    flat.unshift(':status', statusText(status));
    this.#stream.respond(flat, options.endStream);
  }

  protected writeBody(chunk: Chunk): boolean {
    return this.#stream.write(toBuffer(chunk));
  }

  protected endBody(chunk: Chunk | undefined): void {
    this.#stream.end(chunk === undefined ? undefined : toBuffer(chunk));
  }

  protected endWithTrailers(flat: string[]): void {
    this.#stream.endWithTrailers(flat);
    this.finishUnreadRequest();
  }

  /**
   * RST_STREAM: the peer learns the response is not complete. Once the response has started
   * the code is INTERNAL_ERROR: node's client API ends a stream reset with CANCEL like a
   * complete one ('end'), and a truncated body must never pass for a whole one.
   */
  abort(code: number = ErrorCode.INTERNAL_ERROR): void {
    this.state = 'ended';
    this.#stream.reset(this.#stream.headersSent ? ErrorCode.INTERNAL_ERROR : code);
  }

  finishUnreadRequest(): void {
    if (this.state === 'ended') this.#stream.stopReading();
  }

  protected writeEarlyHints(flat: string[]): void {
    flat.unshift(':status', '103');
    this.#stream.informational(flat);
  }

  sendContinue(): void {
    if (this.state === 'pending' && this.transportOpen) this.#stream.informational([':status', '100']);
  }
}

/** Server push (RFC 9113 §8.4) from one parent stream. */
class EnginePush implements PushFeature {
  readonly #parent: H2Stream;
  readonly #request: RequestImpl;

  constructor(parent: H2Stream, request: RequestImpl) {
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
    const raw = [':method', method, ':path', path, ':scheme', scheme, ':authority', authority, ...flat];
    const pushed = this.#parent.push(raw);
    if (pushed === undefined) return Promise.reject(new NgiError('PUSH_REFUSED', PUSH_REFUSED_MESSAGE));
    // A promised request has no body: its response serves as the (empty) body's source.
    const response = new EngineResponse(pushed, method === 'HEAD');
    const body = new NodeRequestBody(NO_BODY, 0, true, response);
    return Promise.resolve({ request: new RequestImpl(method, scheme, authority, path, raw, true, body), response });
  }
}

class EngineFeatures extends Http2FeaturesBase {
  #priority: PriorityFeature | undefined;
  #push: EnginePush | undefined;
  readonly #stream: H2Stream;

  constructor(stream: H2Stream, request: RequestImpl, response: EngineResponse, connection: ConnectionState) {
    super(request, response, connection);
    this.#stream = stream;
  }

  get streamId(): number {
    return this.#stream.id;
  }

  get push(): PushFeature | undefined {
    if (!this.#stream.pushAllowed) return undefined;
    return (this.#push ??= new EnginePush(this.#stream, this.request));
  }

  get priority(): PriorityFeature {
    return (this.#priority ??= parsePriority(this.request.headers.get('priority')));
  }

  get peerSettings(): Http2PeerSettings {
    return this.#stream.session.peerSettings;
  }
}

function onStream(context: ServerContext, connection: ConnectionState, stream: H2Stream, fields: string[], head: RequestHead, endStream: boolean): void {
  const limits = context.options.limits;
  // RFC 8441 §4: a WebSocket is a CONNECT stream with :protocol websocket. Applications see
  // it as the GET of an HTTP/1.1 handshake, so one routing rule serves both transports.
  const websocket = head.protocol === 'websocket' && head.method === 'CONNECT';
  if (head.protocol !== undefined && !websocket) {
    stream.respond([':status', '501'], true);
    stream.stopReading();
    return;
  }
  const priority = findField(fields, 'priority');
  if (priority !== undefined) {
    const params = parsePriority(priority);
    stream.urgency = params.urgency;
    stream.incremental = params.incremental;
  }
  const method = websocket ? 'GET' : head.method;
  // The bytes of a WebSocket stream are frames, never a request body.
  if (websocket) endStream = true;
  const expect = findField(fields, 'expect');
  const expectContinue = hasToken(expect, '100-continue');
  const response = new EngineResponse(stream, method === 'HEAD', limits, expectContinue);
  const length = head.contentLength;
  const body = new NodeRequestBody(endStream ? NO_BODY : response.bodyReadable(), length, endStream, response);
  const scheme = head.scheme === 'https' ? 'https' : 'http';
  const request = new RequestImpl(method, scheme, head.authority, head.path ?? '', fields, true, body);
  const features = new EngineFeatures(stream, request, response, connection);
  const exchange = new ExchangeImpl(context, connection.encrypted ? 'h2' : 'h2c', connection, request, response, features);
  // No idle timer here: the session's 'idle' event starts it (it also counts streams that are
  // not exchanges: pushes, refused ones).
  response.attach(exchange, connection, undefined);
  if (!endStream && context.options.timeouts.request > 0) {
    const requestTimer = setTimeout(() => {
      // The timeout measures the client: a body it has sent in full (END_STREAM) is on time.
      if (body.finished || stream.remoteClosed) return;
      exchange.cancel(new NgiError('REQUEST_TIMEOUT', 'the request body did not arrive within the request timeout'));
      if (response.state === 'pending') {
        exchange.sendError(new NgiError('REQUEST_TIMEOUT', 'request timeout'));
        response.finishUnreadRequest();
      } else {
        response.abort(ErrorCode.CANCEL);
      }
    }, context.options.timeouts.request);
    requestTimer.unref();
    response.requestTimer = requestTimer;
  }
  // Checked once the exchange is attached: a refused handshake must still finish it.
  if (websocket) {
    const check = checkHandshake('h2', 'CONNECT', request.headers);
    if (!check.ok) return exchange.refuse(new NgiError('INVALID_HANDSHAKE', check.message), check.headers, check.status);
    websocketFeature(context, stream, check.subprotocols, request, response, features);
  }
  if (length !== undefined && length > limits.maxBodySize) {
    return exchange.refuse(new NgiError('BODY_TOO_LARGE', `content-length ${length} exceeds the server limit of ${limits.maxBodySize}`));
  }
  if (expect !== undefined && !expectContinue) {
    // RFC 9110 §10.1.1: an expectation the server cannot meet.
    return exchange.refuse(new NgiError('EXPECTATION_FAILED', `unsupported expectation ${JSON.stringify(expect)}`));
  }
  runExchange(context, exchange);
}

/** features.websocket for an RFC 8441 stream: accepting answers :status 200 and hands the stream to ws. */
function websocketFeature(context: ServerContext, stream: H2Stream, subprotocols: string[], request: RequestImpl, response: EngineResponse, features: EngineFeatures): void {
  const tunnel = response.tunnel();
  const feature = new WebSocketFeatureImpl('h2', subprotocols, request.headers, context.options.websocket, {
    accept(status, flat) {
      flat.unshift(':status', statusText(status));
      stream.respond(flat, false);
      response.markSwitched(status);
      return { transport: tunnel, head: Buffer.alloc(0) };
    },
  }, context.websockets, () => response.state === 'pending');
  features.websocket = feature;
  response.websocket = feature;
}

export interface EngineGlue {
  /** Takes a socket whose next bytes are the client preface (cleartext after sniffing, or TLS after ALPN h2). */
  accept(socket: Socket): void;
  readonly sessions: Set<H2Session>;
}

export function createEngineGlue(context: ServerContext): EngineGlue {
  const { limits, timeouts } = context.options;
  const sessions = new Set<H2Session>();
  const settings: H2SessionOptions = {
    maxConcurrentStreams: limits.maxConcurrentStreams,
    maxHeaderListSize: limits.maxHeaderSize,
    initialWindowSize: limits.streamWindow,
    connectionWindow: limits.connectionWindow,
    // RFC 8441 §3: WebSockets over HTTP/2.
    enableConnectProtocol: true,
    noRfc7540Priorities: context.options.priorities === 'rfc9218',
  };
  return {
    sessions,
    accept(socket: Socket): void {
      const connection = taggedConnection(socket);
      if (connection === undefined) {
        socket.destroy();
        return;
      }
      let idle: SessionIdleTimer | undefined;
      const listener: SessionListener = {
        stream: (stream, fields, head, endStream) => onStream(context, connection, stream, fields, head, endStream),
        // A GOAWAY from the peer means this connection takes no new streams: drain.
        goaway: () => connection.startDrain(),
        idle: () => idle?.start(),
        close: () => {
          sessions.delete(session);
          idle?.stop();
        },
        internalError: (error) => context.logError('HTTP/2 connection failed', error),
      };
      const session = new H2Session(socket, settings, listener);
      sessions.add(session);
      if (timeouts.idle > 0) {
        idle = new SessionIdleTimer(session, connection, timeouts.idle);
        idle.start();
      }
      if (context.draining) {
        connection.startDrain();
        session.close();
      }
    },
  };
}
