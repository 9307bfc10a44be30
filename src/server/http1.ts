/**
 * HTTP/1.x glue on node:http. The http.Server here never listens: the front listener
 * hands it sockets. It is told 'listening' anyway, because node:http starts its
 * connection tracking (headers/request timeouts, closeIdleConnections) only then.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Chunk } from '../interface/exchange.ts';
import type { EarlyHintsFeature, Features, FlowControlFeature, PriorityFeature, ResponseTrailersFeature, WebSocketFeature } from '../interface/features.ts';
import { parsePriority } from '../core/priority.ts';
import type { FieldsInit } from '../interface/fields.ts';
import { NgiError } from '../interface/errors.ts';
import { acceptsTrailers, FlatFields, hasToken } from '../core/fields.ts';
import { toOriginForm } from '../core/request-target.ts';
import { connectionOf, type ConnectionState } from './connection.ts';
import type { ServerContext } from './context.ts';
import { ExchangeImpl, runExchange } from './exchange.ts';
import { NodeRequestBody, type BodySource } from './request-body.ts';
import { RequestImpl } from './request.ts';
import { ResponseBase, type HeadOptions } from './response.ts';
import { noop } from './promises.ts';
import { acceptKey, checkHandshake } from '../core/websocket-handshake.ts';
import { WebSocketFeatureImpl } from './websocket-feature.ts';
import { isH2cUpgrade } from './h2c.ts';
import { fieldLines, websocketAcceptHead } from './h1-output.ts';
import { dropField } from '../core/outgoing-fields.ts';


const kResponse = Symbol('ngi.response');
type TaggedResponse = http.ServerResponse & { [kResponse]?: Http1Response };

/** 'close' of a ServerResponse: one shared listener, the exchange found through the tag. */
function onResponseClose(this: TaggedResponse): void {
  this[kResponse]?.transportClosed();
}

/**
 * What the responses of both HTTP/1.x glues (node:http here, NGI's own parser in
 * http1-ngi.ts) share: the request body's source limits, flowing reads, HTTP/1.0's lack of
 * trailers, and the early-hints message once the client has gone.
 */
export abstract class Http1ResponseBase extends ResponseBase implements BodySource {
  protected readonly isHeadRequest: boolean;
  protected readonly trailersSupported: boolean;
  readonly maxBodySize: number;
  readonly maxBufferedBody: number;
  /** The body is read in flowing mode (TCP buffers more than the reader reads ahead; BodyReader). */
  get flowing(): boolean {
    return true;
  }
  protected override readonly earlyHintsGoneMessage = 'early hints: the client has gone';

  constructor(isHead: boolean, http11: boolean, limits: { maxBodySize: number; maxBufferedBody: number }) {
    super();
    this.isHeadRequest = isHead;
    this.trailersSupported = http11;
    this.maxBodySize = limits.maxBodySize;
    this.maxBufferedBody = limits.maxBufferedBody;
  }

  abstract onFirstRead(): void;
  abstract trailers(): FlatFields;
}

/**
 * The response of an HTTP/1.x exchange; also the source of its request body (100-continue,
 * trailers, limits) and the place that settles what the handler left of the request.
 */
class Http1Response extends Http1ResponseBase {
  readonly #req: http.IncomingMessage;
  readonly #res: http.ServerResponse;
  readonly #connection: ConnectionState;
  readonly #context: ServerContext;
  #exchange: ExchangeImpl | undefined;
  #body: NodeRequestBody | undefined;
  #continueSent: boolean;

  constructor(req: http.IncomingMessage, res: http.ServerResponse, isHead: boolean, http11: boolean, expectContinue: boolean, connection: ConnectionState, context: ServerContext) {
    super(isHead, http11, context.options.limits);
    this.#req = req;
    this.#res = res;
    this.#continueSent = !expectContinue;
    this.#connection = connection;
    this.#context = context;
  }

  /** Ties the response to its exchange and body, and starts listening for the end. */
  attach(exchange: ExchangeImpl, body: NodeRequestBody): void {
    this.#exchange = exchange;
    this.#body = body;
    this.#connection.inFlight++;
    (this.#res as TaggedResponse)[kResponse] = this;
    this.#res.on('close', onResponseClose);
    // A response queued behind another (pipelining) gets no 'close' from node if the socket
    // closes first: node answers a request without Host with 400 and closes, yet still emits
    // the request pipelined after it, whose response then never closes. The socket's 'close'
    // ends such an exchange.
    const socket = this.#req.socket;
    if ((socket as Socket & { _httpMessage?: unknown })._httpMessage !== this.#res) socket.once('close', () => this.transportClosed());
  }

  #transportDone = false;

  transportClosed(): void {
    if (this.#transportDone) return;
    this.#transportDone = true;
    const connection = this.#connection;
    connection.inFlight--;
    this.#exchange!.transportClosed();
    // A draining connection whose last exchange is done has nothing left to do.
    const socket = this.#req.socket;
    if (connection.inFlight === 0 && (this.#context.draining || connection.draining) && !socket.destroyed) socket.end();
  }

  /** RFC 9110 §10.1.1: 100 (Continue) once the application decides to read the body. */
  onFirstRead(): void {
    if (!this.#continueSent && this.state === 'pending') this.#res.writeContinue();
    this.#continueSent = true;
  }

  trailers(): FlatFields {
    const raw = this.#req.rawTrailers;
    return raw.length ? FlatFields.fromHttp1(raw) : FlatFields.empty;
  }

  /**
   * A body the handler left partly read would stall the next request on this connection.
   * The rest is read and discarded to keep the connection, up to DISCARD_LIMIT bytes; past
   * that, reading stops and the connection closes once the response is out.
   */
  protected override releaseRequest(): void {
    const req = this.#req;
    const res = this.#res;
    if (this.#body?.finished !== false || req.readableEnded || req.destroyed) return;
    const socket = req.socket;
    const close = (): void => {
      req.pause();
      if (res.writableFinished) socket.destroySoon();
      else res.once('finish', () => socket.destroySoon());
    };
    if (!res.shouldKeepAlive) return close();
    let discarded = 0;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > DISCARD_LIMIT) close();
    });
    req.resume();
  }

  protected get transportOpen(): boolean {
    return !this.#res.destroyed;
  }

  protected get sink(): http.ServerResponse {
    return this.#res;
  }

  protected sendHead(status: number, flat: string[], options: HeadOptions): void {
    const res = this.#res;
    // A draining connection answers with Connection: close (RFC 9112 §9.6) and then ends.
    if (this.#context.draining || this.#connection.draining) res.shouldKeepAlive = false;
    // The body of a 413 is not read: the connection cannot carry another request.
    if (status === 413) res.shouldKeepAlive = false;
    if (options.trailers !== false) {
      // Trailers need chunked framing, so a declared length is dropped (RFC 9112 §7.1.2).
      dropField(flat, 'content-length');
    }
    res.writeHead(status, flat);
    if (options.endStream) res.end();
  }

  protected writeBody(chunk: Chunk): boolean {
    return this.#res.write(chunk);
  }

  protected endBody(chunk: Chunk | undefined): void {
    if (chunk === undefined) this.#res.end();
    else this.#res.end(chunk);
  }

  protected endWithTrailers(flat: string[]): void {
    const pairs: [string, string][] = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    if (pairs.length > 0) this.#res.addTrailers(pairs);
    this.#res.end();
  }

  /** HTTP/1.1 has no stream reset: the connection is closed so the peer sees the failure. */
  abort(): void {
    this.state = 'ended';
    this.#res.destroy();
  }

  /**
   * Writes the 103 itself: node's writeEarlyHints() silently sends nothing (and never calls
   * back) without a `link` field. _writeRaw is what node's own writeContinue() uses; it
   * keeps the interim response in order behind earlier pipelined responses.
   */
  protected writeEarlyHints(flat: string[]): void {
    (this.#res as unknown as { _writeRaw(data: string, encoding: BufferEncoding): boolean })._writeRaw(`HTTP/1.1 103 Early Hints\r\n${fieldLines(flat)}\r\n`, 'latin1');
  }
}

/** Feature set of an HTTP/1.x exchange (both engines). HTTP/1.0 has no 1xx and no chunked trailers. */
export class Http1Features implements Features, EarlyHintsFeature, ResponseTrailersFeature {
  websocket: WebSocketFeature | undefined = undefined;
  #priority: PriorityFeature | undefined;
  readonly #response: ResponseBase;
  readonly #request: RequestImpl;
  readonly #http11: boolean;
  readonly drain: ConnectionState;

  constructor(response: ResponseBase, request: RequestImpl, http11: boolean, connection: ConnectionState) {
    this.#response = response;
    this.#request = request;
    this.#http11 = http11;
    this.drain = connection;
  }

  // Getters, so that an HTTP/1.0 exchange has no such member at all.
  get earlyHints(): EarlyHintsFeature | undefined {
    return this.#http11 ? this : undefined;
  }

  get responseTrailers(): ResponseTrailersFeature | undefined {
    return this.#http11 ? this : undefined;
  }

  get flowControl(): FlowControlFeature {
    return this.#request.body;
  }

  get priority(): PriorityFeature {
    return (this.#priority ??= parsePriority(this.#request.headers.get('priority')));
  }

  send(fields: FieldsInit): Promise<void> {
    return this.#response.sendEarlyHints(fields);
  }

  get acceptedByClient(): boolean {
    return acceptsTrailers(this.#request.headers);
  }
}

/** An Upgrade request: node has stopped parsing the connection; `head` is what followed. */
interface UpgradeInfo {
  readonly head: Buffer;
  readonly websocket: boolean;
}


/**
 * Every request with `Connection: upgrade` arrives here (node has no per-request choice on
 * Node 20). WebSocket handshakes become exchanges with features.websocket; other upgrades are
 * ignored (RFC 9110 §7.8 allows it) and answered as ordinary requests on a connection that
 * then closes, since node no longer parses it.
 */
function onUpgrade(context: ServerContext, req: http.IncomingMessage, socket: Socket, head: Buffer): void {
  // h2c is cleartext only (RFC 7540 §3.2); on TLS, ALPN is the way to HTTP/2.
  if (context.upgradeToHttp2 && !(socket as Socket & { encrypted?: boolean }).encrypted && isH2cUpgrade(req)) {
    return context.upgradeToHttp2(req, socket, head);
  }
  socket.on('error', noop);
  const res = new http.ServerResponse(req);
  res.assignSocket(socket);
  res.shouldKeepAlive = false;
  // node does not end the socket of a response it did not route: a denial ends it here.
  res.once('finish', () => socket.end());
  // RFC 6455 §4.1: the opening handshake is an HTTP/1.1 request.
  const websocket = req.httpVersion === '1.1' && hasToken(req.headers.upgrade, 'websocket');
  onRequest(context, req, res, false, { head, websocket });
}


/**
 * Content-Length and Transfer-Encoding from the raw header lines. Reading `req.headers`
 * would make node build the whole header object for every request; llhttp has already
 * rejected conflicting or malformed framing, so the first value is the value.
 */
function bodyFraming(raw: readonly string[]): { length: number | undefined; chunked: boolean } {
  let length: number | undefined;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && length === undefined && name.toLowerCase() === 'content-length') length = Number(raw[i + 1]);
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') chunked = true;
  }
  return { length, chunked };
}

/** The most unread request body discarded to keep a keep-alive connection, bytes. */
export const DISCARD_LIMIT = 1024 * 1024;

function onRequest(context: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean, upgrade?: UpgradeInfo): void {
  const socket = req.socket;
  const encrypted = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  const connection = connectionOf(socket, encrypted);
  const http11 = req.httpVersionMinor === 1 && req.httpVersionMajor === 1;
  const limits = context.options.limits;
  const { length, chunked } = bodyFraming(req.rawHeaders);
  const method = req.method ?? 'GET';
  // llhttp has already refused malformed framing (TE+CL, bad lengths) with 400.
  const declaresBody = !(length === 0 || (length === undefined && !chunked));
  // After an upgrade node parses nothing more: there is no body stream to read.
  const noBody = !declaresBody || upgrade !== undefined;

  const response = new Http1Response(req, res, method === 'HEAD', http11, expectContinue, connection, context);
  const body = new NodeRequestBody(req, length, noBody, response);
  const { authority, target } = toOriginForm(req.url ?? '/');
  const request = new RequestImpl(method, encrypted ? 'https' : 'http', authority, target, req.rawHeaders, false, body);
  const features = new Http1Features(response, request, http11, connection);
  const exchange = new ExchangeImpl(context, http11 ? 'http/1.1' : 'http/1.0', connection, request, response, features);
  response.attach(exchange, body);

  if (length !== undefined && length > limits.maxBodySize) {
    // Refused before the application runs; the unread body makes the connection unusable.
    return exchange.refuse(new NgiError('BODY_TOO_LARGE', `content-length ${length} exceeds the server limit of ${limits.maxBodySize}`));
  }
  if (upgrade !== undefined) {
    if (declaresBody) {
      return exchange.refuse(new NgiError('FEATURE_UNAVAILABLE', `Upgrade: ${req.headers.upgrade ?? ''} with a request body is not supported`), undefined, 501 /* Not Implemented */);
    }
    if (upgrade.websocket) {
      const check = checkHandshake('http/1.1', method, request.headers);
      if (!check.ok) return exchange.refuse(new NgiError('INVALID_HANDSHAKE', check.message), check.headers, check.status);
      const feature = new WebSocketFeatureImpl('http/1.1', check.subprotocols, request.headers, context.options.websocket, {
        accept(status, flat) {
          if (socket.destroyed) throw new NgiError('STREAM_CLOSED', 'accept(): the client closed the connection');
          // RFC 6455 §4.2.2: 101 with Sec-WebSocket-Accept; the socket then carries frames.
          socket.write(websocketAcceptHead(status, acceptKey(check.key!), flat));
          response.markSwitched(status);
          return { transport: socket, head: upgrade.head };
        },
      }, context.websockets, () => response.state === 'pending');
      features.websocket = feature;
      response.websocket = feature;
    }
  }
  runExchange(context, exchange);
}

export function createHttp1Server(context: ServerContext): http.Server {
  const { limits, timeouts } = context.options;
  // node throws unless headersTimeout <= requestTimeout; the head is part of the request, so
  // a shorter request timeout bounds the head too.
  const headersTimeout = timeouts.request > 0 && timeouts.headers > 0 ? Math.min(timeouts.headers, timeouts.request) : timeouts.headers;
  const shortest = Math.min(...[headersTimeout, timeouts.request].filter((t) => t > 0), 30_000);
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout,
    requestTimeout: timeouts.request,
    keepAliveTimeout: timeouts.keepAlive,
    // The check interval bounds how late a timeout fires (node's default is 30 s).
    connectionsCheckingInterval: Math.max(100, shortest / 4),
    noDelay: true,
    // Node 22+'s default; Node 20's 16 KiB made every 64 KiB body chunk stop and restart the
    // socket (readStop/readStart per chunk while the application reads at its own pace).
    highWaterMark: 64 * 1024,
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(context, req, res, false));
  // With a 'checkContinue' listener node does not answer 100 itself: the body reader does.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(context, req, res, true));
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => onUpgrade(context, req, socket, head));
  server.emit('listening');
  return server;
}
