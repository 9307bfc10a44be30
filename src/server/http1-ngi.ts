/**
 * HTTP/1.x glue on NGI's own parser (src/h1/), chosen with `http1Engine: 'ngi'`: the same
 * exchanges as the glue on node:http (http1.ts), without IncomingMessage, ServerResponse and
 * their streams. One connection object reads the socket, parses one request at a time
 * (pipelined requests wait their turn: responses leave in request order, RFC 9112 §9.3.2),
 * feeds the body to its reader and writes the response; a request without a body costs the
 * parsed head and NGI's exchange.
 */
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { Chunk } from '../interface/exchange.ts';
import { NgiError } from '../interface/errors.ts';
import { H1ParseError } from '../h1/errors.ts';
import { HeadScanner, parseRequestHead, type RequestHead } from '../h1/request-head.ts';
import { ChunkedDecoder } from '../h1/chunked.ts';
import { findField, FlatFields, hasToken } from '../core/fields.ts';
import { dropField } from '../core/outgoing-fields.ts';
import { toOriginForm } from '../core/request-target.ts';
import { acceptKey, checkHandshake } from '../core/websocket-handshake.ts';
import { taggedConnection, type ConnectionState } from './connection.ts';
import type { ServerContext } from './context.ts';
import { ExchangeImpl, runExchange } from './exchange.ts';
import { isH2cUpgrade } from './h2c.ts';
import { DISCARD_LIMIT, Http1Features, Http1ResponseBase } from './http1.ts';
import { chunkLength, dateLine, fieldLines, statusLine, websocketAcceptHead, writeMessage } from './h1-output.ts';
import { noop } from './promises.ts';
import { NodeRequestBody } from './request-body.ts';
import { RequestImpl } from './request.ts';
import type { HeadOptions } from './response.ts';
import { WebSocketFeatureImpl } from './websocket-feature.ts';

/** Stands in for the body of a request that has none: NodeRequestBody never reads it. */
const NO_BODY = new Readable({ read() {} });
NO_BODY.push(null);

/** How long a connection closed after its response keeps reading (and dropping) what the client still sends, ms (RFC 9112 §9.6). */
const LINGER_MS = 2000;

/** How long written bytes may sit unread by the client before the connection is cut, ms. */
const STALL_MS = 5000;

/** A request body as a node Readable (what NodeRequestBody reads, flowing); the socket pauses while it is full. */
class SocketBody extends Readable {
  readonly #connection: H1Connection;

  constructor(connection: H1Connection) {
    super({ highWaterMark: 64 * 1024 });
    this.#connection = connection;
    // A body cut off with nobody reading it must not be an uncaught 'error'; readers learn it from destroyed/errored.
    this.on('error', noop);
  }

  override _read(): void {
    this.#connection.bodyWanted();
  }
}

/** The response of an exchange on the engine; also its body's source. */
class EngineH1Response extends Http1ResponseBase {
  readonly #connection: H1Connection;
  readonly #head: RequestHead;
  #continuePending: boolean;
  /** The body is sent with chunked coding. */
  #chunked = false;
  /** The head, when the body that follows is written with it (send()). */
  #pendingHead: string | undefined;
  exchange: ExchangeImpl | undefined;

  constructor(connection: H1Connection, head: RequestHead, expectContinue: boolean, limits: { maxBodySize: number; maxBufferedBody: number }) {
    super(head.method === 'HEAD', head.minor === 1, limits);
    this.#connection = connection;
    this.#head = head;
    this.#continuePending = expectContinue;
  }

  // BodySource
  /** RFC 9110 §10.1.1: 100 (Continue) once the application decides to read the body. */
  onFirstRead(): void {
    if (this.#continuePending && this.state === 'pending' && this.transportOpen) this.#connection.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    this.#continuePending = false;
  }

  /** This request's trailer section (set when its chunked body ends). */
  receivedTrailers: string[] | undefined;

  trailers(): FlatFields {
    const raw = this.receivedTrailers;
    return raw !== undefined && raw.length > 0 ? FlatFields.fromHttp1(raw) : FlatFields.empty;
  }

  /** The handler has settled: this request's body, if the connection is still reading it, is released. */
  protected override releaseRequest(): void {
    this.#connection.releaseBody(this);
  }

  protected get transportOpen(): boolean {
    return this.#connection.open;
  }

  protected get sink(): Socket {
    return this.#connection.socket;
  }

  protected sendHead(status: number, flat: string[], options: HeadOptions): void {
    const connection = this.#connection;
    const head = this.#head;
    let keepAlive = connection.keepAlive && !connection.draining;
    // The body of a 413 is not read: the connection cannot carry another request.
    if (status === 413) keepAlive = false;
    // A client told to wait for 100 (Continue) that was never sent may or may not send its
    // body now (RFC 9110 §10.1.1): only closing leaves no doubt where the next request starts.
    if (this.#continuePending && connection.bodyPending) keepAlive = false;
    // normalizeFields has refused connection-specific fields: framing and persistence are the server's.
    let framing = '';
    if (options.trailers !== false) {
      // Trailers need chunked framing, so a declared length is dropped (RFC 9112 §7.1.2).
      dropField(flat, 'content-length');
      this.#chunked = true;
      framing = 'transfer-encoding: chunked\r\n';
    } else if (!options.endStream && findField(flat, 'content-length') === undefined) {
      // RFC 9112 §6.3: chunked for HTTP/1.1; an HTTP/1.0 client reads to the close.
      if (head.minor === 1) {
        this.#chunked = true;
        framing = 'transfer-encoding: chunked\r\n';
      } else {
        keepAlive = false;
      }
    }
    if (!keepAlive) connection.keepAlive = false;
    const persistence = keepAlive ? connection.glue.keepAliveLines : 'connection: close\r\n';
    const text = statusLine(status) + fieldLines(flat) + framing + dateLine() + persistence + '\r\n';
    if (options.endStream) {
      connection.socket.write(text, 'latin1');
      connection.responseDone();
    } else {
      this.#pendingHead = text;
    }
  }

  /** The head of a streamed response leaves at once: the client may act on it before any body (server-sent events). */
  protected override headStarted(): void {
    const head = this.#pendingHead;
    if (head === undefined) return;
    this.#pendingHead = undefined;
    this.#connection.socket.write(head, 'latin1');
  }

  #takeHead(): string {
    const head = this.#pendingHead;
    if (head === undefined) return '';
    this.#pendingHead = undefined;
    return head;
  }

  /** One chunk of body (after the head if it is still held), framed when the body is chunked, then `tail`. */
  #writeChunk(chunk: Chunk, chunkedTail: string): boolean {
    const size = chunkLength(chunk);
    if (!this.#chunked) return writeMessage(this.#connection.socket, this.#takeHead(), chunk, size, '');
    return writeMessage(this.#connection.socket, `${this.#takeHead()}${size.toString(16)}\r\n`, chunk, size, chunkedTail);
  }

  protected writeBody(chunk: Chunk): boolean {
    return this.#writeChunk(chunk, '\r\n');
  }

  protected endBody(chunk: Chunk | undefined): void {
    if (chunk !== undefined) this.#writeChunk(chunk, '\r\n0\r\n\r\n');
    else {
      const last = `${this.#takeHead()}${this.#chunked ? '0\r\n\r\n' : ''}`;
      if (last !== '') this.#connection.socket.write(last, 'latin1');
    }
    this.#connection.responseDone();
  }

  protected endWithTrailers(flat: string[]): void {
    this.#connection.socket.write(`${this.#takeHead()}0\r\n${fieldLines(flat)}\r\n`, 'latin1');
    this.#connection.responseDone();
  }

  /** HTTP/1.1 has no stream reset: the connection is closed so the peer sees the failure. */
  abort(): void {
    this.state = 'ended';
    this.#pendingHead = undefined;
    this.#connection.socket.destroy();
  }

  protected writeEarlyHints(flat: string[]): void {
    this.#connection.socket.write(`HTTP/1.1 103 Early Hints\r\n${fieldLines(flat)}\r\n`, 'latin1');
  }
}

/** What a connection is doing with the bytes it reads. */
const Phase = {
  /** Reading a request head. */
  Head: 0,
  /** Reading the current request's body. */
  Body: 1,
  /** The request is read; the response is not done: later bytes are held. */
  Exchange: 2,
  /** A WebSocket handshake waits for the application: later bytes are the WebSocket's. */
  Upgrade: 3,
  /** The response is out and the connection closing: what arrives is dropped. */
  Closing: 4,
  /** The socket belongs to someone else now (ws, h2c) or is closed. */
  Gone: 5,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** The most bytes of later (pipelined) requests held while one is answered, before the socket pauses. */
const MAX_HELD = 64 * 1024;

export class H1Connection {
  readonly socket: Socket;
  readonly glue: Http1Engine;
  readonly state: ConnectionState;
  readonly #context: ServerContext;
  readonly #scanner: HeadScanner;
  #phase: Phase = Phase.Head;
  /** Bytes of a head that has not fully arrived, in a buffer with room to grow. */
  #partial: Buffer | undefined;
  #partialLength = 0;
  /** Bytes received while the current exchange runs (pipelined requests), not yet parsed. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** The buffer #read is parsing, and where its unparsed part starts, while an exchange starts. */
  #readBuf: Buffer | undefined;
  #readPos = 0;
  readonly #onDataListener = (chunk: Buffer): void => this.#onData(chunk);
  readonly #onEndListener = (): void => this.#onEnd();
  readonly #onCloseListener = (): void => this.#onClose();
  /** The socket is paused: the request body's Readable is full, or too much is held. */
  #paused = false;
  #bodyFull = false;
  /** The exchange in progress. */
  #response: EngineH1Response | undefined;
  #body: SocketBody | undefined;
  #decoder: ChunkedDecoder | undefined;
  /** Bytes of a Content-Length body still to come. */
  #remaining = 0;
  /** -1, or the bytes of an unread body dropped so far (releaseBody). */
  #discarded = -1;
  #responseDone = false;
  #bodyDone = true;
  /** The exchange whose request body the connection is reading (it may outlive its response). */
  #bodyOwner: EngineH1Response | undefined;
  /** Inside #pump: a response finished synchronously must not start parsing again (#next). */
  #reading = false;
  /** socket.writableLength at the last timeout check, to tell a slow reader from a stalled one. */
  #lastPending = -1;
  /** The connection persists after the current exchange. */
  keepAlive = true;
  /** When the current timeout fires (performance.now() ms), 0 for none; what it is for. */
  deadline = 0;
  #deadlineKind: 'keep-alive' | 'headers' | 'request' | 'linger' | 'stall' = 'headers';
  #requestStartedAt = 0;

  constructor(socket: Socket, state: ConnectionState, context: ServerContext, glue: Http1Engine) {
    this.socket = socket;
    this.state = state;
    this.#context = context;
    this.glue = glue;
    this.#scanner = new HeadScanner(context.options.limits.maxHeaderSize);
    socket.on('data', this.#onDataListener);
    socket.on('end', this.#onEndListener);
    socket.on('close', this.#onCloseListener);
    socket.on('error', noop);
    this.#armHeaders(performance.now());
  }

  get open(): boolean {
    return !this.socket.destroyed && this.#phase !== Phase.Gone;
  }

  get draining(): boolean {
    return this.#context.draining || this.state.draining;
  }

  /** The request body has not all arrived. */
  get bodyPending(): boolean {
    return !this.#bodyDone;
  }

  /** The body's reader wants more (SocketBody._read). */
  bodyWanted(): void {
    this.#bodyFull = false;
    this.#updateReading();
  }

  /** Reads the socket unless the body is full or held bytes are at their bound. */
  #updateReading(): void {
    const pause = this.#bodyFull || this.#heldBytes >= MAX_HELD;
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  #onData(chunk: Buffer): void {
    const phase = this.#phase;
    if (phase === Phase.Closing || phase === Phase.Gone) return;
    if (this.#reading || this.#held.length > 0 || (phase !== Phase.Head && phase !== Phase.Body)) {
      this.#hold(chunk);
      this.#pump();
      return;
    }
    this.#reading = true;
    try {
      this.#read(chunk, 0);
    } finally {
      this.#reading = false;
    }
    this.#pump();
  }

  #hold(chunk: Buffer): void {
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#heldBytes >= MAX_HELD) this.#updateReading();
  }

  /**
   * Parses held bytes, oldest first, while the connection is reading a head or body. Never
   * re-entered: an exchange answered synchronously inside it (#next) only changes the phase,
   * and this loop goes on in order (RFC 9112 §9.3.2: responses in request order).
   */
  #pump(): void {
    if (this.#reading) return;
    this.#reading = true;
    try {
      while (this.#held.length > 0 && (this.#phase === Phase.Head || this.#phase === Phase.Body)) {
        const chunk = this.#held.shift()!;
        this.#heldBytes -= chunk.length;
        this.#read(chunk, 0);
      }
    } finally {
      this.#reading = false;
    }
    this.#updateReading();
  }

  /** Parses and dispatches buf[pos, ...) until it is used up or the connection stops reading. */
  #read(buf: Buffer, pos: number): void {
    try {
      while (pos < buf.length) {
        if (this.#phase === Phase.Head) {
          let data = buf;
          let start = pos;
          if (this.#partial !== undefined) {
            data = this.#appendPartial(buf, pos);
            start = 0;
          } else if (this.deadline === 0 || this.#deadlineKind === 'keep-alive' || this.#deadlineKind === 'stall') {
            this.#armHeaders(performance.now());
          }
          const end = this.#scanner.scan(data, start);
          if (end < 0) {
            if (this.#partial === undefined) this.#startPartial(data, start);
            return;
          }
          const head = parseRequestHead(data, start, this.#scanner);
          this.#scanner.reset();
          if (this.#partial !== undefined) {
            // Body bytes may be slices of this buffer: it is not reused.
            this.#partial = undefined;
            buf = data.subarray(end, this.#partialLength);
            this.#partialLength = 0;
            pos = 0;
          } else {
            pos = end;
          }
          // What follows the head, in case the exchange takes the socket over (#handOver).
          this.#readBuf = buf;
          this.#readPos = pos;
          this.#startExchange(head);
          this.#readBuf = undefined;
        } else if (this.#phase === Phase.Body) {
          pos = this.#readBody(buf, pos);
        } else {
          if (this.#phase === Phase.Exchange || this.#phase === Phase.Upgrade) {
            // First in line: held bytes being replayed (#pump) came after it.
            const rest = buf.subarray(pos);
            this.#held.unshift(rest);
            this.#heldBytes += rest.length;
            if (this.#heldBytes >= MAX_HELD) this.#updateReading();
          }
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof H1ParseError)) throw error;
      this.#refuse(error);
    }
  }

  #startPartial(data: Buffer, start: number): void {
    const length = data.length - start;
    const partial = Buffer.allocUnsafe(Math.max(4096, length * 2));
    data.copy(partial, 0, start);
    this.#partial = partial;
    this.#partialLength = length;
  }

  /** The partial head with buf[pos, ...) appended (the buffer doubles as needed: a head trickling in is copied O(n) times in all). */
  #appendPartial(buf: Buffer, pos: number): Buffer {
    let partial = this.#partial!;
    const add = buf.length - pos;
    const needed = this.#partialLength + add;
    if (needed > partial.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, partial.length * 2));
      partial.copy(grown, 0, 0, this.#partialLength);
      this.#partial = partial = grown;
    }
    buf.copy(partial, this.#partialLength, pos);
    this.#partialLength = needed;
    return partial.subarray(0, needed);
  }

  #readBody(buf: Buffer, pos: number): number {
    const decoder = this.#decoder;
    if (decoder !== undefined) {
      const end = decoder.decode(buf, pos, (chunk) => this.#deliver(chunk));
      if (decoder.done) {
        if (this.#bodyOwner !== undefined) this.#bodyOwner.receivedTrailers = decoder.trailers;
        this.#endBody();
      }
      return end;
    }
    const n = Math.min(this.#remaining, buf.length - pos);
    this.#deliver(pos === 0 && n === buf.length ? buf : buf.subarray(pos, pos + n));
    this.#remaining -= n;
    if (this.#remaining === 0) this.#endBody();
    return pos + n;
  }

  #deliver(chunk: Buffer): void {
    if (this.#discarded >= 0) {
      this.#discarded += chunk.length;
      if (this.#discarded > DISCARD_LIMIT) this.#stopDiscarding();
      return;
    }
    const body = this.#body;
    if (body !== undefined && !body.destroyed && !body.push(chunk) && !this.#bodyFull) {
      this.#bodyFull = true;
      this.#updateReading();
    }
  }

  #endBody(): void {
    this.#bodyDone = true;
    this.#bodyOwner = undefined;
    this.#decoder = undefined;
    this.deadline = 0;
    const body = this.#body;
    if (body !== undefined && !body.destroyed) body.push(null);
    this.#phase = Phase.Exchange;
    if (this.#responseDone) this.#next();
  }

  #startExchange(head: RequestHead): void {
    const context = this.#context;
    const limits = context.options.limits;
    const connection = this.state;
    this.keepAlive = head.keepAlive;
    this.#responseDone = false;
    this.#discarded = -1;
    const declaresBody = head.chunked || (head.contentLength !== undefined && head.contentLength > 0);
    // RFC 6455 §4.1: the opening handshake is an HTTP/1.1 GET with Upgrade: websocket.
    const websocket = head.connectionUpgrade && head.minor === 1 && hasToken(head.upgrade, 'websocket');
    if (head.connectionUpgrade && head.upgrade !== undefined && head.minor === 1 && context.upgradeToHttp2 && !connection.encrypted) {
      const raw = { method: head.method, url: head.target, rawHeaders: head.raw };
      if (isH2cUpgrade(raw)) return this.#handOver((rest) => context.upgradeToHttp2!(raw, this.socket, rest));
    }
    // RFC 9110 §10.1.1: an HTTP/1.0 client's 100-continue is ignored.
    const expectContinue = head.minor === 1 && head.expect !== undefined && hasToken(head.expect, '100-continue');
    const response = new EngineH1Response(this, head, expectContinue && declaresBody, limits);
    this.#response = response;
    let source: Readable = NO_BODY;
    if (declaresBody && !websocket) {
      this.#bodyDone = false;
      this.#bodyOwner = response;
      this.#phase = Phase.Body;
      source = this.#body = new SocketBody(this);
      if (head.chunked) this.#decoder = new ChunkedDecoder(limits.maxHeaderSize);
      else this.#remaining = head.contentLength!;
      if (context.options.timeouts.request > 0) {
        this.deadline = this.#requestStartedAt + context.options.timeouts.request;
        this.#deadlineKind = 'request';
      } else {
        this.deadline = 0;
      }
    } else {
      this.#bodyDone = true;
      this.#body = undefined;
      this.#phase = websocket ? Phase.Upgrade : Phase.Exchange;
      this.deadline = 0;
    }
    const body = new NodeRequestBody(source, head.contentLength ?? (head.chunked ? undefined : 0), !declaresBody || websocket, response);
    const { authority, target } = toOriginForm(head.target);
    const request = new RequestImpl(head.method, connection.encrypted ? 'https' : 'http', authority, target, head.raw, false, body);
    const http11 = head.minor === 1;
    const features = new Http1Features(response, request, http11, connection);
    const exchange = new ExchangeImpl(context, http11 ? 'http/1.1' : 'http/1.0', connection, request, response, features);
    response.exchange = exchange;
    connection.inFlight++;

    if (head.contentLength !== undefined && head.contentLength > limits.maxBodySize) {
      // Refused before the application runs; the unread body makes the connection unusable.
      this.keepAlive = false;
      return exchange.refuse(new NgiError('BODY_TOO_LARGE', `content-length ${head.contentLength} exceeds the server limit of ${limits.maxBodySize}`));
    }
    if (head.expect !== undefined && !expectContinue && head.minor === 1) {
      // RFC 9110 §10.1.1: an expectation the server cannot meet.
      this.keepAlive = false;
      return exchange.refuse(new NgiError('EXPECTATION_FAILED', `unsupported expectation ${JSON.stringify(head.expect)}`));
    }
    if (head.method === 'CONNECT') {
      // A tunnel is not an exchange NGI carries on HTTP/1.1 (RFC 9110 §9.3.6).
      this.keepAlive = false;
      return exchange.refuse(new NgiError('FEATURE_UNAVAILABLE', 'CONNECT is not supported'), undefined, 501);
    }
    if (websocket) {
      // A handshake, accepted or not, is the last exchange on the connection.
      this.keepAlive = false;
      if (declaresBody) {
        return exchange.refuse(new NgiError('FEATURE_UNAVAILABLE', `Upgrade: ${head.upgrade ?? ''} with a request body is not supported`), undefined, 501);
      }
      const check = checkHandshake('http/1.1', head.method, request.headers);
      if (!check.ok) return exchange.refuse(new NgiError('INVALID_HANDSHAKE', check.message), check.headers, check.status);
      const feature = new WebSocketFeatureImpl('http/1.1', check.subprotocols, request.headers, context.options.websocket, {
        accept: (status, flat) => {
          if (!this.open) throw new NgiError('STREAM_CLOSED', 'accept(): the client closed the connection');
          // RFC 6455 §4.2.2: 101 with Sec-WebSocket-Accept; the socket then carries frames.
          this.socket.write(websocketAcceptHead(status, acceptKey(check.key!), flat), 'latin1');
          response.markSwitched(status);
          let rest: Buffer = Buffer.alloc(0);
          this.#handOver((held) => (rest = held), true);
          return { transport: this.socket, head: rest };
        },
      }, context.websockets, () => response.state === 'pending');
      features.websocket = feature;
      response.websocket = feature;
    }
    runExchange(context, exchange);
  }

  /**
   * The socket leaves this parser (an accepted WebSocket, an h2c upgrade): reading stops, and
   * what was received after the head goes to the new owner. A WebSocket's exchange stays in
   * flight until the socket closes, as on the node:http glue.
   */
  #handOver(take: (rest: Buffer) => void, keepExchange = false): void {
    const socket = this.socket;
    socket.off('data', this.#onDataListener);
    socket.off('end', this.#onEndListener);
    if (!keepExchange) {
      socket.off('close', this.#onCloseListener);
      this.glue.connections.delete(this);
    }
    // Not flowing and not paused, as node:http leaves an upgraded socket: the new owner's
    // 'data' listener starts the flow (ws and the h2c splice add one and do not resume).
    socket.pause();
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    this.#paused = false;
    this.#bodyFull = false;
    this.#phase = Phase.Gone;
    this.deadline = 0;
    // Unparsed bytes of the buffer being read come first, then what arrived after it.
    if (this.#readBuf !== undefined) {
      this.#held.unshift(this.#readBuf.subarray(this.#readPos));
      this.#readBuf = undefined;
    }
    const rest = this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held);
    this.#held = [];
    this.#heldBytes = 0;
    take(rest);
  }

  /** The response has been handed to the socket in full. */
  responseDone(): void {
    if (this.#responseDone) return;
    this.#responseDone = true;
    this.#finishExchange();
    if (this.#phase === Phase.Gone) return;
    if (this.#bodyDone) this.#next();
  }

  #finishExchange(): void {
    const response = this.#response;
    if (response === undefined) return;
    this.#response = undefined;
    this.state.inFlight--;
    response.exchange!.transportClosed();
  }

  /**
   * The handler has settled (ResponseBase.afterHandler). A body it left unread would stall
   * the next request: it is read and dropped, up to DISCARD_LIMIT bytes; past that (or if the
   * connection closes anyway) reading stops and the connection closes after the response.
   */
  releaseBody(owner: EngineH1Response): void {
    if (owner !== this.#bodyOwner || this.#bodyDone || this.#discarded >= 0 || this.#phase === Phase.Gone) return;
    const body = this.#body;
    this.#body = undefined;
    if (body !== undefined && !body.destroyed) body.destroy();
    if (!this.keepAlive || this.draining) return this.#stopDiscarding();
    this.#discarded = 0;
    this.#bodyFull = false;
    this.#updateReading();
  }

  #stopDiscarding(): void {
    this.keepAlive = false;
    this.#phase = Phase.Closing;
    this.#bodyDone = true;
    if (this.#responseDone) this.#close();
  }

  /** The exchange is over (response out, body read): the next request, or the close. */
  #next(): void {
    if (!this.keepAlive || this.draining) return this.#close();
    this.#phase = Phase.Head;
    this.#body = undefined;
    this.#bodyFull = false;
    this.#responseDone = false;
    if (this.#heldBytes === 0) this.#armKeepAlive();
    else this.#armHeaders(performance.now());
    // Inside #pump (or #read) the loop there goes on with the held bytes, in order.
    this.#pump();
  }

  /** Ends the connection once what was written has gone, reading (and dropping) what still arrives for a while. */
  #close(): void {
    if (this.#phase === Phase.Gone) return;
    this.#phase = Phase.Closing;
    this.#held = [];
    this.#heldBytes = 0;
    this.#bodyFull = false;
    this.#updateReading();
    // The linger starts once the response has left (end()'s callback); until then the
    // stall check of timedOut() applies, so a client that stops reading cannot hold it.
    this.socket.end(() => {
      this.deadline = performance.now() + LINGER_MS;
      this.#deadlineKind = 'linger';
    });
    this.#armStall();
  }

  /** A response still leaving: checked every keep-alive period, cut once it stops moving. */
  #armStall(): void {
    this.#lastPending = -1;
    this.deadline = performance.now() + STALL_MS;
    this.#deadlineKind = 'stall';
  }

  /** A request that cannot be parsed: its status, `connection: close`, and the connection ends (RFC 9112 §2.2). */
  #refuse(error: H1ParseError): void {
    this.#body?.destroy(new NgiError('STREAM_CLOSED', `the request body is malformed: ${error.message}`));
    this.#sendErrorAndClose(error.status, `${error.code}: ${error.message}`);
  }

  /** An error answer written by the connection itself (no exchange, or one that cannot answer). */
  #sendErrorAndClose(status: number, message: string): void {
    if (this.#phase === Phase.Closing || this.#phase === Phase.Gone) return;
    const response = this.#response;
    if (this.#responseDone || (response !== undefined && response.state !== 'pending')) {
      // This request has its answer (its unread body was being dropped): a second response
      // would be taken for the next request's. The connection just closes.
      this.socket.destroy();
      return;
    }
    if (response !== undefined) {
      // The exchange learns its request was cut off; the answer is the connection's.
      response.state = 'ended';
      response.status = status;
      response.exchange!.cancel(new NgiError('STREAM_CLOSED', message));
    }
    const body = this.#context.options.debug ? `${message}\n` : '';
    this.socket.write(`${statusLine(status)}content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n${dateLine()}connection: close\r\n\r\n${body}`, 'latin1');
    this.keepAlive = false;
    this.#responseDone = true;
    this.#finishExchange();
    this.#close();
  }

  #armKeepAlive(): void {
    const ms = this.#context.options.timeouts.keepAlive;
    this.#lastPending = -1;
    this.deadline = ms > 0 ? performance.now() + ms : 0;
    this.#deadlineKind = 'keep-alive';
  }

  /** A request starts arriving: the header timeout runs from now, and so does the request timeout. */
  #armHeaders(now: number): void {
    const { headers, request } = this.#context.options.timeouts;
    this.#requestStartedAt = now;
    const ms = headers > 0 && request > 0 ? Math.min(headers, request) : headers || request;
    this.deadline = ms > 0 ? now + ms : 0;
    this.#deadlineKind = 'headers';
  }

  /** Called by the engine's timer once `deadline` has passed. */
  timedOut(): void {
    this.deadline = 0;
    switch (this.#deadlineKind) {
      case 'keep-alive':
        // The last response may still be on its way to a slow reader: the connection is idle
        // only once it has left (node:http also starts keep-alive at 'finish').
        if (this.socket.writableLength > 0) return this.#armStall();
        this.socket.destroy();
        return;
      case 'stall': {
        const pending = this.socket.writableLength;
        if (pending > 0 && pending !== this.#lastPending) {
          this.#lastPending = pending;
          this.deadline = performance.now() + STALL_MS;
          return;
        }
        // Nothing left the socket for STALL_MS: a client that stopped reading.
        if (pending > 0) return void this.socket.destroy();
        // All out: a closing connection lingers (end()'s callback), an idle one waits.
        if (this.#phase === Phase.Head) this.#armKeepAlive();
        return;
      }
      case 'linger':
        this.socket.destroy();
        return;
      case 'headers':
        // Nothing received since the last response: an idle connection, closed quietly.
        if (this.#partial === undefined && this.#phase === Phase.Head) return void this.socket.destroy();
        return this.#sendErrorAndClose(408, 'the request head did not arrive within the header timeout');
      case 'request':
        return this.#sendErrorAndClose(408, 'the request body did not arrive within the request timeout');
    }
  }

  /** The client ended its side: a request it had not finished sending is cut off. */
  #onEnd(): void {
    if (this.#phase === Phase.Body) this.#body?.destroy(new NgiError('STREAM_CLOSED', 'the client closed the connection before the request body ended'));
  }

  #onClose(): void {
    this.glue.connections.delete(this);
    this.deadline = 0;
    const body = this.#body;
    if (body !== undefined && !body.destroyed && !body.readableEnded && !this.#bodyDone) {
      body.destroy(new NgiError('STREAM_CLOSED', 'the client closed the connection before the request body ended'));
    }
    this.#phase = Phase.Gone;
    if (this.#response !== undefined) {
      this.#responseDone = true;
      this.#finishExchange();
    }
  }
}

export interface Http1Engine {
  /** Takes a socket whose next bytes are an HTTP/1.x request (cleartext after sniffing, or TLS after ALPN). */
  accept(socket: Socket): void;
  readonly connections: Set<H1Connection>;
  /** `connection: keep-alive` and its timeout hint. */
  readonly keepAliveLines: string;
  /** Destroys every connection (the drain timeout has passed). */
  closeAll(): void;
}

export function createHttp1Engine(context: ServerContext): Http1Engine {
  const { timeouts } = context.options;
  const connections = new Set<H1Connection>();
  // RFC 9112 §9.3 has no keep-alive field; this is the de facto one clients (undici) read to
  // retire an idle connection before the server does.
  const hint = timeouts.keepAlive > 0 ? `keep-alive: timeout=${Math.max(1, Math.floor(timeouts.keepAlive / 1000))}\r\n` : '';
  const keepAliveLines = `connection: keep-alive\r\n${hint}`;
  const shortest = Math.min(...[timeouts.headers, timeouts.request, timeouts.keepAlive].filter((t) => t > 0), 4000);
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    const now = performance.now();
    for (const connection of connections) if (connection.deadline !== 0 && now >= connection.deadline) connection.timedOut();
    if (connections.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  const engine: Http1Engine = {
    connections,
    keepAliveLines,
    accept(socket: Socket): void {
      const state = taggedConnection(socket);
      if (state === undefined) {
        socket.destroy();
        return;
      }
      connections.add(new H1Connection(socket, state, context, engine));
      // One timer for all connections; a timeout fires within a quarter of the shortest one.
      timer ??= setInterval(check, Math.max(25, shortest / 4)).unref();
    },
    closeAll(): void {
      for (const connection of connections) connection.socket.destroy();
    },
  };
  return engine;
}
