/**
 * One HTTP/2 server connection (RFC 9113) over a socket, in JavaScript: frame parsing,
 * HPACK, stream states, flow control both ways, SETTINGS, PING, GOAWAY, and the limits that
 * keep a hostile peer cheap. NGI's own framing, beside the glue on node:http2.
 *
 * Why a framing layer of its own: on node:http2 every request costs a ServerHttp2Stream (a
 * Duplex), a headers object, events and the crossings into nghttp2; NGI's exchange then comes
 * on top of all that, so it could never pass raw node:http2 (bench/README.md). Here a request
 * is one small stream record, and every frame the server produces in one event-loop turn
 * leaves in one write.
 *
 * Output: frames are written into a slab (bytes once handed to the socket are never written
 * again) or, for large DATA payloads, passed by reference; one flush per turn (setImmediate)
 * hands them to the socket, corked.
 */
import type { Socket } from 'node:net';
import { CLIENT_PREFACE, ConnectionError, DEFAULT_WINDOW, ErrorCode, Flag, FRAME_HEADER_SIZE, FrameType, MAX_MAX_FRAME_SIZE, MAX_WINDOW, MIN_MAX_FRAME_SIZE, SettingId, StreamError, writeFrameHeader } from './frames.ts';
import { HpackDecoder, HpackEncoder, HpackError, hpackEncodedLengthBound } from './hpack.ts';
import { checkRequestFields, checkTrailerFields, type RequestHead } from './request-fields.ts';
import { H2Stream, STREAM_HIGH_WATER_MARK } from './stream.ts';
import { parsePriority } from '../core/priority.ts';
import type { Http2PeerSettings } from '../interface/features.ts';

export interface H2SessionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise and enforce. */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise; a larger request header list is refused. */
  maxHeaderListSize: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise: how far a client may send ahead of the application, per stream. */
  initialWindowSize: number;
  /** The connection's receive window (raised from 65,535 by a WINDOW_UPDATE at the start). */
  connectionWindow: number;
  /** SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). */
  enableConnectProtocol: boolean;
  /** SETTINGS_NO_RFC7540_PRIORITIES = 1 (RFC 9218 §2.1). */
  noRfc7540Priorities: boolean;
  /** Peer RST_STREAMs allowed in a burst, and per second after it (Rapid Reset, CVE-2023-44487). Defaults as nghttp2: 1000 and 33. */
  resetBurst?: number;
  resetRate?: number;
}

/** What the layer above is told about the connection. */
export interface SessionListener {
  /** A new request stream; `fields` is the whole header list, pseudo-header fields first. */
  stream(stream: H2Stream, fields: string[], head: RequestHead, endStream: boolean): void;
  /** The peer sent GOAWAY: it opens no more streams. */
  goaway(code: number): void;
  /** The last open stream closed. */
  idle(): void;
  /** The connection is gone; every stream was closed before this. */
  close(): void;
  /** A fault in this server (not the peer's) ended the connection with INTERNAL_ERROR. */
  internalError(error: unknown): void;
}

const SLAB_SIZE = 16 * 1024;
/** DATA payloads up to this size are copied next to their frame header: one write for many small responses. */
const COPY_LIMIT = 1024;
/** Response bytes handed to the socket and not yet written, beyond which DATA waits for 'drain'. */
const OUTPUT_HIGH_WATER_MARK = 256 * 1024;
/** Beyond this much unwritten output the session stops reading: a peer that floods PINGs or SETTINGS and never reads gets nothing more processed. */
const OUTPUT_READ_LIMIT = 1024 * 1024;
/** Per stream and turn, so one large response does not hold up the others. */
const SEND_QUANTUM = 64 * 1024;
/** Frames that do nothing (empty DATA, empty CONTINUATION) allowed per connection, as nghttp2's maxSessionInvalidFrames. */
const MAX_INVALID_FRAMES = 1000;
const MAX_STREAM_ID = 2 ** 31 - 1;
/** Peer streams we reset that are remembered, so the frames the peer had in flight on them are ignored (§5.1). */
const RESET_MEMORY = 1024;
/** Field lines in one request header list (node:http2's maxHeaderListPairs default). */
const MAX_HEADER_LINES = 128;

/** A header block being assembled from HEADERS or PUSH_PROMISE and CONTINUATION frames. */
interface PendingBlock {
  id: number;
  flags: number;
  parts: Buffer[];
  size: number;
  /** A stream error found in the HEADERS frame itself, raised once the block is decoded (HPACK state must still advance). */
  error: StreamError | undefined;
}

function flushSession(session: H2Session): void {
  try {
    session.flush();
  } catch (error) {
    // Never thrown out of setImmediate: that would end the process.
    session.fault(error);
  }
}

export class H2Session {
  readonly #socket: Socket;
  readonly #listener: SessionListener;
  readonly #options: H2SessionOptions;
  readonly #decoder: HpackDecoder;
  readonly #encoder = new HpackEncoder();
  readonly #streams = new Map<number, H2Stream>();
  /** Open streams the peer started (§5.1.2 counts them against our limit). */
  #open = 0;
  /** Open streams we promised (counted against the peer's limit). */
  #pushed = 0;
  #lastPeerId = 0;
  /** The latest peer stream ids we sent RST_STREAM on, oldest first (at most RESET_MEMORY). */
  readonly #resetIds = new Set<number>();
  /**
   * Client stream ids the peer skipped (it opened a higher one first), as [first, last] pairs,
   * oldest first, at most RESET_MEMORY pairs; #skipsForgotten is the highest id of the pairs
   * dropped. Any other id at or below #lastPeerId was opened, so a HEADERS on it is for a
   * closed stream. Clients rarely skip, so this costs nothing per request.
   */
  readonly #skips: number[] = [];
  #skipsForgotten = 0;
  #nextPushId = 2;

  // Settings (§6.5.2).
  #localSettingsAcked = false;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrameSize = MIN_MAX_FRAME_SIZE;
  #peerEnablePush = true;
  #peerMaxConcurrent = Infinity;
  #peerConnectProtocol = false;
  #peerMaxHeaderListSize: number | undefined;

  // Connection flow control (§6.9).
  #connSendWindow = DEFAULT_WINDOW;
  #connRecvWindow = DEFAULT_WINDOW;
  #connUnreturned = 0;

  // Input.
  /**
   * The start of a frame (or of the preface) that has not fully arrived: kept as pieces and
   * joined once `#pendingNeed` bytes are there, so a frame that trickles in byte by byte is
   * copied once, not once per piece.
   */
  #pendingParts: Buffer[] | undefined;
  #pendingSize = 0;
  #pendingNeed = 0;
  #prefaceSeen = false;
  #settingsSeen = false;
  #block: PendingBlock | undefined;
  #invalidFrames = 0;
  /** The largest header block decoded (#checkBlockSize). */
  readonly #maxBlockSize: number;
  readonly #resetBurst: number;
  readonly #resetRate: number;
  #resetTokens: number;
  #resetCheckedAt = 0;
  #readingPaused = false;

  // Output.
  #slab = Buffer.allocUnsafe(SLAB_SIZE);
  #segmentStart = 0;
  #offset = 0;
  #chunks: Buffer[] = [];
  /** Bytes in #chunks and in the open slab segment. */
  #unflushed = 0;
  #flushScheduled = false;
  /** Streams with response data queued and window to send it, in turn. */
  #ready: H2Stream[] = [];
  /** Streams that closed or drained this turn: told after the flush (their bytes are then with the socket). */
  #closedStreams: H2Stream[] = [];
  #drained: H2Stream[] = [];
  #idleDue = false;

  // Shutdown.
  #goawaySent = false;
  /** The last stream id of our final GOAWAY: streams above it are not processed. */
  #goawayLastId = MAX_STREAM_ID;
  #goawayReceived = false;
  #draining = false;
  #pingPayload: Buffer | undefined;
  #pingCallback: (() => void) | undefined;
  #destroyed = false;
  #failed = false;

  constructor(socket: Socket, options: H2SessionOptions, listener: SessionListener) {
    this.#socket = socket;
    this.#options = options;
    this.#listener = listener;
    this.#decoder = new HpackDecoder({ maxHeaderListSize: options.maxHeaderListSize });
    this.#maxBlockSize = options.maxHeaderListSize * 2 + 16_384;
    this.#resetBurst = options.resetBurst ?? 1000;
    this.#resetRate = options.resetRate ?? 33;
    this.#resetTokens = this.#resetBurst;
    this.#sendSettings();
    socket.on('data', (chunk: Buffer) => this.#onInput(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('close', () => this.#onSocketClose());
    socket.on('error', () => socket.destroy());
    // The listener paused the socket after sniffing the preface (and put it back): read on.
    socket.resume();
  }

  /** Streams open now (peer's and pushed). */
  get openStreams(): number {
    return this.#open + this.#pushed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** close() was called, or the connection failed or ended. */
  get closed(): boolean {
    return this.#draining || this.#failed || this.#destroyed;
  }

  get pushAllowed(): boolean {
    return this.#peerEnablePush && !this.#goawayReceived && !this.#goawaySent && !this.#destroyed && this.#pushed < this.#peerMaxConcurrent;
  }

  /** What the peer's SETTINGS said (defaults until it has spoken). */
  get peerSettings(): Http2PeerSettings {
    return {
      enablePush: this.#peerEnablePush,
      maxConcurrentStreams: this.#peerMaxConcurrent === Infinity ? 2 ** 32 - 1 : this.#peerMaxConcurrent,
      initialWindowSize: this.#peerInitialWindow,
      maxFrameSize: this.#peerMaxFrameSize,
      maxHeaderListSize: this.#peerMaxHeaderListSize,
      enableConnectProtocol: this.#peerConnectProtocol,
    };
  }

  // ---------------------------------------------------------------- input

  #onInput(chunk: Buffer): void {
    let buf = chunk;
    const parts = this.#pendingParts;
    if (parts !== undefined) {
      parts.push(chunk);
      this.#pendingSize += chunk.length;
      if (this.#pendingSize < this.#pendingNeed) return;
      buf = Buffer.concat(parts, this.#pendingSize);
      this.#pendingParts = undefined;
    }
    let offset = 0;
    const end = buf.length;
    try {
      if (!this.#prefaceSeen) {
        if (end < CLIENT_PREFACE.length) {
          if (buf.compare(CLIENT_PREFACE, 0, end, 0, end) !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'not the HTTP/2 connection preface');
          this.#keepPending(buf, CLIENT_PREFACE.length);
          return;
        }
        if (buf.compare(CLIENT_PREFACE, 0, CLIENT_PREFACE.length, 0, CLIENT_PREFACE.length) !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'not the HTTP/2 connection preface');
        this.#prefaceSeen = true;
        offset = CLIENT_PREFACE.length;
      }
      while (end - offset >= FRAME_HEADER_SIZE && !this.#destroyed && !this.#failed) {
        const length = (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
        // §4.2: larger than our SETTINGS_MAX_FRAME_SIZE (we keep the 16,384 default).
        if (length > MIN_MAX_FRAME_SIZE) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
        if (end - offset - FRAME_HEADER_SIZE < length) break;
        const type = buf[offset + 3]!;
        const flags = buf[offset + 4]!;
        const id = buf.readUInt32BE(offset + 5) & MAX_STREAM_ID;
        const start = offset + FRAME_HEADER_SIZE;
        offset = start + length;
        try {
          this.#frame(buf, type, flags, id, start, offset);
        } catch (error) {
          if (!(error instanceof StreamError)) throw error;
          this.#streamError(error);
        }
      }
    } catch (error) {
      this.#connectionError(error);
      return;
    }
    if (offset < end && !this.#destroyed) {
      const rest = buf.subarray(offset);
      this.#keepPending(rest, rest.length < FRAME_HEADER_SIZE ? FRAME_HEADER_SIZE : FRAME_HEADER_SIZE + ((rest[0]! << 16) | (rest[1]! << 8) | rest[2]!));
    }
    if (this.#unflushed > 0 || this.#ready.length > 0) this.#scheduleFlush();
    if (!this.#readingPaused && this.#socket.writableLength + this.#unflushed > OUTPUT_READ_LIMIT) {
      this.#readingPaused = true;
      this.#socket.pause();
    }
  }

  #keepPending(rest: Buffer, need: number): void {
    this.#pendingParts = [rest];
    this.#pendingSize = rest.length;
    this.#pendingNeed = need;
  }

  #frame(buf: Buffer, type: number, flags: number, id: number, start: number, end: number): void {
    // §6.10: nothing but CONTINUATION of the same stream may come inside a header block.
    if (this.#block !== undefined && type !== FrameType.CONTINUATION) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'a header block was interrupted');
    if (!this.#settingsSeen) {
      // §3.4: the client preface ends with a SETTINGS frame.
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the first frame is not SETTINGS');
      this.#settingsSeen = true;
    }
    switch (type) {
      case FrameType.DATA:
        return this.#onData(buf, flags, id, start, end);
      case FrameType.HEADERS:
        return this.#onHeaders(buf, flags, id, start, end);
      case FrameType.PRIORITY:
        // RFC 9113 §5.3.2: the RFC 7540 scheme is deprecated; the frame is checked and ignored.
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (end - start !== 5) throw new StreamError(id, ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY of the wrong size');
        // RFC 9113 §5.3.1: a stream cannot depend on itself, a stream error PROTOCOL_ERROR; on an
        // idle stream, which must not be reset (§6.4), the connection's (§5.4.1 allows that).
        if ((buf.readUInt32BE(start) & MAX_STREAM_ID) === id) {
          if (this.#isIdle(id)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `PRIORITY: idle stream ${id} depends on itself`);
          throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
        }
        return;
      case FrameType.RST_STREAM:
        return this.#onReset(buf, id, start, end);
      case FrameType.SETTINGS:
        return this.#onSettings(buf, flags, id, start, end);
      case FrameType.PUSH_PROMISE:
        // §8.4: only servers push.
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FrameType.PING:
        return this.#onPing(buf, flags, id, start, end);
      case FrameType.GOAWAY:
        return this.#onGoaway(buf, id, start, end);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(buf, id, start, end);
      case FrameType.CONTINUATION:
        return this.#onContinuation(buf, flags, id, start, end);
      case FrameType.PRIORITY_UPDATE:
        return this.#onPriorityUpdate(buf, id, start, end);
      default:
        // §5.5: unknown frame types are ignored.
        return;
    }
  }

  /** Client stream ids first..last were skipped: kept, the oldest pair dropped beyond RESET_MEMORY pairs. */
  #rememberSkip(first: number, last: number): void {
    const skips = this.#skips;
    if (skips.length >= RESET_MEMORY * 2) {
      this.#skipsForgotten = skips[1]!;
      skips.splice(0, 2);
    }
    skips.push(first, last);
  }

  /** Whether client stream `id` (at most #lastPeerId) was never opened, as far as is remembered. */
  #wasSkipped(id: number): boolean {
    if (id <= this.#skipsForgotten) return true;
    const skips = this.#skips;
    for (let i = 0; i < skips.length; i += 2) if (id >= skips[i]! && id <= skips[i + 1]!) return true;
    return false;
  }

  /** §5.1: a stream id neither side has opened yet. */
  #isIdle(id: number): boolean {
    return (id & 1) === 1 ? id > this.#lastPeerId : id >= this.#nextPushId;
  }

  /**
   * A frame for closed stream `id` that the peer may have sent in good faith: it crossed our
   * RST_STREAM (§5.1), or its stream is above our final GOAWAY (§6.8). Such frames are ignored.
   */
  #crossedOurClose(id: number): boolean {
    return this.#resetIds.has(id) || id > this.#goawayLastId;
  }

  /** A stream the peer refers to, or undefined when it is closed; idle streams are a connection error (§5.1). */
  #knownStream(id: number, what: string): H2Stream | undefined {
    const stream = this.#streams.get(id);
    if (stream !== undefined) return stream;
    if (this.#isIdle(id)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `${what} on idle stream ${id}`);
    return undefined;
  }

  #onData(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = end - start;
    // §6.9: every DATA frame counts against the connection window, even one for a closed stream.
    this.#connRecvWindow -= length;
    if (this.#connRecvWindow < 0) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.#returnConnectionCredit(length);
    if ((flags & Flag.PADDED) !== 0) {
      if (length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded DATA without a pad length');
      const pad = buf[start]!;
      // §6.1: padding as long as the payload or longer.
      if (pad >= length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA padding exceeds the payload');
      start += 1;
      end -= pad;
    }
    const stream = this.#knownStream(id, 'DATA');
    if (stream === undefined) {
      // Closed: ignored if it crossed our close, otherwise §6.1: a stream error STREAM_CLOSED.
      if (this.#crossedOurClose(id)) return;
      throw new StreamError(id, ErrorCode.STREAM_CLOSED, 'DATA on a closed stream');
    }
    // §5.1: half-closed (remote).
    if (stream.remoteClosed) throw new StreamError(id, ErrorCode.STREAM_CLOSED, 'DATA after END_STREAM');
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) throw new StreamError(id, ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the stream window');
    const size = end - start;
    // Padding never reaches the application: its window comes back at once.
    if (size < length) this.returnCredit(stream, length - size);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (size === 0 && !endStream) this.#invalid('empty DATA frames');
    stream.received += size;
    const expected = stream.expectedLength;
    // §8.1.1: a body that does not match its content-length makes the request malformed.
    if (expected !== undefined && (stream.received > expected || (endStream && stream.received !== expected))) {
      throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'request body does not match content-length');
    }
    if (size > 0) {
      // A small view would keep its whole socket read alive while the application has not
      // read it: a peer sending 1-byte DATA frames padded out by ignored frames would hold
      // megabytes for a few bytes of window. Small ones are copied (node:http2 copies all),
      // into memory of their own: Buffer.from() would take a slice of node's shared pool
      // (64 KiB on Node 24) and keep that alive instead.
      const view = buf.subarray(start, end);
      let chunk = view;
      if (size * 4 < buf.buffer.byteLength) {
        chunk = Buffer.allocUnsafeSlow(size);
        view.copy(chunk);
      }
      stream.listener.streamData(chunk);
    }
    if (endStream) {
      stream.remoteClosed = true;
      stream.listener.streamEnd();
      this.maybeClose(stream);
    }
  }

  #onHeaders(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let pad = 0;
    if ((flags & Flag.PADDED) !== 0) {
      if (end - start < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded HEADERS without a pad length');
      pad = buf[start]!;
      start += 1;
    }
    let error: StreamError | undefined;
    if ((flags & Flag.PRIORITY) !== 0) {
      if (end - start < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      // RFC 9113 §5.3.1: a stream cannot depend on itself.
      if ((buf.readUInt32BE(start) & MAX_STREAM_ID) === id) error = new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
      start += 5;
    }
    if (pad > end - start) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding exceeds the payload');
    end -= pad;
    if ((flags & Flag.END_HEADERS) === 0) {
      this.#block = { id, flags, parts: [Buffer.from(buf.subarray(start, end))], size: end - start, error };
      this.#checkBlockSize(end - start);
      return;
    }
    this.#headerBlock(id, flags, buf, start, end, error);
  }

  #onContinuation(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    const block = this.#block;
    if (block === undefined || block.id !== id) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block to continue');
    const size = end - start;
    if (size === 0 && (flags & Flag.END_HEADERS) === 0) this.#invalid('empty CONTINUATION frames');
    // Tiny CONTINUATION frames cost a buffer each, ten times their size on the wire: the frames
    // of one block are bounded too (nghttp2: 8), beyond what its size bound needs at 16,384 each.
    if (block.parts.length > Math.max(8, Math.ceil(this.#maxBlockSize / MIN_MAX_FRAME_SIZE))) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many CONTINUATION frames');
    }
    block.size += size;
    this.#checkBlockSize(block.size);
    block.parts.push(Buffer.from(buf.subarray(start, end)));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.#block = undefined;
    const whole = Buffer.concat(block.parts, block.size);
    this.#headerBlock(id, block.flags, whole, 0, whole.length, block.error);
  }

  /**
   * A header block larger than this is not decoded: its list would be refused anyway, and the
   * CONTINUATION flood (CVE-2024-27316) feeds on servers that buffer blocks without a bound.
   */
  #checkBlockSize(size: number): void {
    if (size > this.#maxBlockSize) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
  }

  #headerBlock(id: number, flags: number, buf: Buffer, start: number, end: number, error: StreamError | undefined): void {
    let fields: string[] | undefined;
    try {
      // Always decoded, even for a stream that will be refused: the HPACK state is the connection's.
      fields = this.#decoder.decode(buf, start, end);
    } catch (failure) {
      if (failure instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, failure.message);
      throw failure;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      if (error !== undefined) throw error;
      return this.#trailers(existing, fields, endStream);
    }
    if ((id & 1) === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `client stream with even id ${id}`);
    if (id <= this.#lastPeerId) {
      // §5.1: frames the peer sent before it saw our RST_STREAM, or on a stream above our final
      // GOAWAY (§6.8), are ignored.
      if (this.#crossedOurClose(id)) return;
      // §5.1.1: a new stream's id is greater than every id the peer used before; a lower one that
      // was skipped (or whose skip is forgotten) is a connection error of type PROTOCOL_ERROR.
      if (this.#wasSkipped(id)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}, not above ${this.#lastPeerId}`);
      // §5.1: one that was open and has closed (the peer reset it, or both sides ended it) is a
      // connection error of type STREAM_CLOSED.
      throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    }
    const expected = this.#lastPeerId === 0 ? 1 : this.#lastPeerId + 2;
    if (id > expected) this.#rememberSkip(expected, id - 2);
    this.#lastPeerId = id;
    // Streams above the final GOAWAY's id are not processed (§6.8); the client retries them elsewhere.
    if (id > this.#goawayLastId) return;
    // An error found in the HEADERS frame (§5.3.1) resets the stream, now no longer idle.
    if (error !== undefined) throw error;
    // Over SETTINGS_MAX_HEADER_LIST_SIZE, or more field lines than node's maxHeaderListPairs
    // default (128): many tiny fields cost per line whatever their size.
    if (fields === undefined || fields.length > MAX_HEADER_LINES * 2) {
      this.#refuse(id, ErrorCode.ENHANCE_YOUR_CALM);
      return;
    }
    // §5.1.2: beyond our limit the stream is refused; the client may retry it.
    if (this.#open >= this.#options.maxConcurrentStreams) {
      this.#refuse(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    const head = checkRequestFields(fields, this.#options.enableConnectProtocol);
    if (typeof head === 'string') {
      this.#refuse(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    // RFC 8441 §4: an extended CONNECT's stream carries tunnel bytes, not a request body.
    const stream = new H2Stream(this, id, endStream, this.#peerInitialWindow, this.#localSettingsAcked ? this.#options.initialWindowSize : Math.max(this.#options.initialWindowSize, DEFAULT_WINDOW));
    if (head.contentLength !== undefined && head.protocol === undefined) {
      // §8.1.1: END_STREAM on HEADERS with a non-zero content-length is malformed.
      if (endStream && head.contentLength !== 0) {
        this.#refuse(id, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      stream.expectedLength = head.contentLength;
    }
    this.#streams.set(id, stream);
    this.#open++;
    this.#listener.stream(stream, fields, head, endStream);
  }

  #trailers(stream: H2Stream, fields: string[] | undefined, endStream: boolean): void {
    const id = stream.id;
    if (stream.remoteClosed) throw new StreamError(id, ErrorCode.STREAM_CLOSED, 'HEADERS after END_STREAM');
    // §8.1: a second HEADERS is a trailer section and must end the stream.
    if (!endStream) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'trailers without END_STREAM');
    if (fields === undefined) throw new StreamError(id, ErrorCode.ENHANCE_YOUR_CALM, 'trailer section too large');
    if (checkTrailerFields(fields) !== undefined) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'malformed trailer section');
    if (stream.expectedLength !== undefined && stream.received !== stream.expectedLength) {
      throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'request body does not match content-length');
    }
    stream.remoteClosed = true;
    stream.listener.streamTrailers(fields);
    stream.listener.streamEnd();
    this.maybeClose(stream);
  }

  /** RST_STREAM for a stream that never opened; counted like the peer's resets (a client can make a server reset, CVE-2025-8671). */
  #refuse(id: number, code: number): void {
    this.#writeReset(id, code);
    this.#countReset();
  }

  #onReset(buf: Buffer, id: number, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (end - start !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    const stream = this.#knownStream(id, 'RST_STREAM');
    if (stream === undefined) return;
    this.#closeStream(stream, buf.readUInt32BE(start), true);
    this.#countReset();
  }

  /** Token bucket over resets (nghttp2's stream_reset_burst and stream_reset_rate). */
  #countReset(): void {
    const now = performance.now();
    this.#resetTokens = Math.min(this.#resetBurst, this.#resetTokens + ((now - this.#resetCheckedAt) / 1000) * this.#resetRate);
    this.#resetCheckedAt = now;
    this.#resetTokens -= 1;
    if (this.#resetTokens < 0) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many stream resets');
  }

  #invalid(what: string): void {
    if (++this.#invalidFrames > MAX_INVALID_FRAMES) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `too many ${what}`);
  }

  #onSettings(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    const length = end - start;
    if ((flags & Flag.ACK) !== 0) {
      if (length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      this.#localSettingsAcked = true;
      return;
    }
    if (length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
    for (let at = start; at < end; at += 6) {
      const setting = buf.readUInt16BE(at);
      const value = buf.readUInt32BE(at + 2);
      switch (setting) {
        case SettingId.HEADER_TABLE_SIZE:
          // Our encoder's table stays within 4,096 octets whatever the peer allows.
          this.#encoder.setPeerMaxTableSize(Math.min(value, 4096));
          break;
        case SettingId.ENABLE_PUSH:
          if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH other than 0 or 1');
          this.#peerEnablePush = value === 1;
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          this.#peerMaxConcurrent = value;
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
          // §6.9.2: the change applies to every stream's send window, which may go negative.
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          if (delta !== 0) {
            for (const stream of this.#streams.values()) {
              stream.sendWindow += delta;
              if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'a stream window above 2^31-1');
              if (delta > 0 && stream.queued > 0) this.#schedule(stream);
            }
          }
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
          this.#peerMaxFrameSize = value;
          break;
        case SettingId.MAX_HEADER_LIST_SIZE:
          this.#peerMaxHeaderListSize = value;
          break;
        case SettingId.ENABLE_CONNECT_PROTOCOL:
          if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_ENABLE_CONNECT_PROTOCOL other than 0 or 1');
          this.#peerConnectProtocol = value === 1;
          break;
        default:
          // §6.5.2: unknown settings are ignored.
          break;
      }
    }
    const at = this.#reserve(FRAME_HEADER_SIZE);
    writeFrameHeader(this.#slab, at, 0, FrameType.SETTINGS, Flag.ACK, 0);
    this.#commit(at + FRAME_HEADER_SIZE);
  }

  #onPing(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (end - start !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING of the wrong size');
    if ((flags & Flag.ACK) !== 0) {
      const payload = this.#pingPayload;
      if (payload !== undefined && buf.compare(payload, 0, 8, start, end) === 0) {
        const callback = this.#pingCallback;
        this.#pingPayload = undefined;
        this.#pingCallback = undefined;
        callback?.();
      }
      return;
    }
    const at = this.#reserve(FRAME_HEADER_SIZE + 8);
    writeFrameHeader(this.#slab, at, 8, FrameType.PING, Flag.ACK, 0);
    buf.copy(this.#slab, at + FRAME_HEADER_SIZE, start, end);
    this.#commit(at + FRAME_HEADER_SIZE + 8);
  }

  /** RFC 9218 §7.1: new priority parameters for an open stream; for a stream not open (yet) they are dropped. */
  #onPriorityUpdate(buf: Buffer, id: number, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY_UPDATE on a stream');
    if (end - start < 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY_UPDATE too short');
    const target = buf.readUInt32BE(start) & MAX_STREAM_ID;
    if (target === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY_UPDATE for stream 0');
    const stream = this.#streams.get(target);
    if (stream === undefined) return;
    const params = parsePriority(buf.toString('latin1', start + 4, end));
    stream.urgency = params.urgency;
    stream.incremental = params.incremental;
  }

  #onGoaway(buf: Buffer, id: number, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (end - start < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY too short');
    const code = buf.readUInt32BE(start + 4);
    const first = !this.#goawayReceived;
    this.#goawayReceived = true;
    if (first) this.#listener.goaway(code);
  }

  #onWindowUpdate(buf: Buffer, id: number, start: number, end: number): void {
    if (end - start !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = buf.readUInt32BE(start) & MAX_WINDOW;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      return;
    }
    const stream = this.#knownStream(id, 'WINDOW_UPDATE');
    if (stream === undefined) return;
    if (increment === 0) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) throw new StreamError(id, ErrorCode.FLOW_CONTROL_ERROR, 'stream window above 2^31-1');
    if (stream.queued > 0 || (stream.endQueued && !stream.localClosed)) this.#schedule(stream);
  }

  // ---------------------------------------------------------------- flow control, inbound

  /** The connection window comes back as soon as DATA arrives: per-stream windows bound what is buffered. */
  #returnConnectionCredit(bytes: number): void {
    this.#connUnreturned += bytes;
    if (this.#connUnreturned >= this.#options.connectionWindow >>> 1) {
      this.#writeWindowUpdate(0, this.#connUnreturned);
      this.#connRecvWindow += this.#connUnreturned;
      this.#connUnreturned = 0;
    }
  }

  /** Stream credit comes back as the application consumes, half a window at a time. */
  returnCredit(stream: H2Stream, bytes: number): void {
    stream.unreturned += bytes;
    if (stream.unreturned >= this.#options.initialWindowSize >>> 1) {
      this.#writeWindowUpdate(stream.id, stream.unreturned);
      stream.recvWindow += stream.unreturned;
      stream.unreturned = 0;
    }
  }

  // ---------------------------------------------------------------- output

  /** Room for `size` bytes in the slab; returns where they go. */
  #reserve(size: number): number {
    if (this.#offset + size > this.#slab.length) {
      this.#closeSegment();
      this.#slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, size));
      this.#segmentStart = 0;
      this.#offset = 0;
    }
    return this.#offset;
  }

  /** The slab now holds bytes up to `offset`. */
  #commit(offset: number): void {
    this.#unflushed += offset - this.#offset;
    this.#offset = offset;
    if (!this.#flushScheduled) this.#scheduleFlush();
  }

  #closeSegment(): void {
    if (this.#offset > this.#segmentStart) {
      this.#chunks.push(this.#slab.subarray(this.#segmentStart, this.#offset));
      this.#segmentStart = this.#offset;
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#destroyed) return;
    this.#flushScheduled = true;
    setImmediate(flushSession, this);
  }

  #sendSettings(): void {
    const o = this.#options;
    const settings: Array<[number, number]> = [
      [SettingId.MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams],
      [SettingId.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
    ];
    if (o.initialWindowSize !== DEFAULT_WINDOW) settings.push([SettingId.INITIAL_WINDOW_SIZE, o.initialWindowSize]);
    if (o.enableConnectProtocol) settings.push([SettingId.ENABLE_CONNECT_PROTOCOL, 1]);
    if (o.noRfc7540Priorities) settings.push([SettingId.NO_RFC7540_PRIORITIES, 1]);
    const at = this.#reserve(FRAME_HEADER_SIZE + settings.length * 6);
    writeFrameHeader(this.#slab, at, settings.length * 6, FrameType.SETTINGS, 0, 0);
    let p = at + FRAME_HEADER_SIZE;
    for (const [id, value] of settings) {
      this.#slab.writeUInt16BE(id, p);
      this.#slab.writeUInt32BE(value, p + 2);
      p += 6;
    }
    this.#commit(p);
    // §6.9.2: the connection window starts at 65,535 whatever SETTINGS say.
    if (o.connectionWindow > DEFAULT_WINDOW) {
      this.#writeWindowUpdate(0, o.connectionWindow - DEFAULT_WINDOW);
      this.#connRecvWindow = o.connectionWindow;
    }
  }

  #writeWindowUpdate(id: number, increment: number): void {
    const at = this.#reserve(FRAME_HEADER_SIZE + 4);
    writeFrameHeader(this.#slab, at, 4, FrameType.WINDOW_UPDATE, 0, id);
    this.#slab.writeUInt32BE(increment, at + FRAME_HEADER_SIZE);
    this.#commit(at + FRAME_HEADER_SIZE + 4);
  }

  #writeReset(id: number, code: number): void {
    if ((id & 1) === 1) {
      this.#resetIds.add(id);
      if (this.#resetIds.size > RESET_MEMORY) this.#resetIds.delete(this.#resetIds.values().next().value as number);
    }
    const at = this.#reserve(FRAME_HEADER_SIZE + 4);
    writeFrameHeader(this.#slab, at, 4, FrameType.RST_STREAM, 0, id);
    this.#slab.writeUInt32BE(code, at + FRAME_HEADER_SIZE);
    this.#commit(at + FRAME_HEADER_SIZE + 4);
  }

  #writeGoaway(lastId: number, code: number, debug: string): void {
    const data = Buffer.from(debug, 'latin1');
    const at = this.#reserve(FRAME_HEADER_SIZE + 8 + data.length);
    writeFrameHeader(this.#slab, at, 8 + data.length, FrameType.GOAWAY, 0, 0);
    this.#slab.writeUInt32BE(lastId, at + FRAME_HEADER_SIZE);
    this.#slab.writeUInt32BE(code, at + FRAME_HEADER_SIZE + 4);
    data.copy(this.#slab, at + FRAME_HEADER_SIZE + 8);
    this.#commit(at + FRAME_HEADER_SIZE + 8 + data.length);
    this.#goawaySent = true;
    this.#goawayLastId = Math.min(this.#goawayLastId, lastId);
  }

  /** A header block (HEADERS + CONTINUATION as needed, §6.2, §6.10) for `flat`, which is already validated. */
  sendHeaders(stream: H2Stream, flat: readonly string[], endStream: boolean): void {
    this.#writeHeaderBlock(FrameType.HEADERS, stream.id, flat, endStream ? Flag.END_STREAM : 0, undefined);
  }

  #writeHeaderBlock(type: number, id: number, flat: readonly string[], flags: number, promisedId: number | undefined): void {
    const prefix = promisedId === undefined ? 0 : 4;
    const bound = prefix + hpackEncodedLengthBound(flat);
    if (bound <= this.#peerMaxFrameSize) {
      const at = this.#reserve(FRAME_HEADER_SIZE + bound);
      const slab = this.#slab;
      if (promisedId !== undefined) slab.writeUInt32BE(promisedId, at + FRAME_HEADER_SIZE);
      const end = this.#encoder.encodeInto(flat, slab, at + FRAME_HEADER_SIZE + prefix);
      if (end < 0) throw new Error('HPACK block exceeded its bound');
      writeFrameHeader(slab, at, end - at - FRAME_HEADER_SIZE, type, flags | Flag.END_HEADERS, id);
      this.#commit(end);
      return;
    }
    const block = this.#encoder.encode(flat);
    const max = this.#peerMaxFrameSize;
    let offset = 0;
    let first = true;
    while (first || offset < block.length) {
      const room = first ? max - prefix : max;
      const size = Math.min(room, block.length - offset);
      const last = offset + size === block.length;
      const frameType = first ? type : FrameType.CONTINUATION;
      const frameFlags = (first ? flags : 0) | (last ? Flag.END_HEADERS : 0);
      const payload = size + (first ? prefix : 0);
      const at = this.#reserve(FRAME_HEADER_SIZE + payload);
      writeFrameHeader(this.#slab, at, payload, frameType, frameFlags, id);
      let p = at + FRAME_HEADER_SIZE;
      if (first && promisedId !== undefined) {
        this.#slab.writeUInt32BE(promisedId, p);
        p += 4;
      }
      block.copy(this.#slab, p, offset, offset + size);
      this.#commit(p + size);
      offset += size;
      first = false;
    }
  }

  #writeData(id: number, chunk: Buffer, from: number, size: number, endStream: boolean): void {
    const flags = endStream ? Flag.END_STREAM : 0;
    if (size <= COPY_LIMIT) {
      const at = this.#reserve(FRAME_HEADER_SIZE + size);
      writeFrameHeader(this.#slab, at, size, FrameType.DATA, flags, id);
      chunk.copy(this.#slab, at + FRAME_HEADER_SIZE, from, from + size);
      this.#commit(at + FRAME_HEADER_SIZE + size);
      return;
    }
    const at = this.#reserve(FRAME_HEADER_SIZE);
    writeFrameHeader(this.#slab, at, size, FrameType.DATA, flags, id);
    this.#commit(at + FRAME_HEADER_SIZE);
    this.#closeSegment();
    this.#chunks.push(from === 0 && size === chunk.length ? chunk : chunk.subarray(from, from + size));
    this.#unflushed += size;
  }

  /** Output beyond what the socket should be given now. */
  get #outputBlocked(): boolean {
    return this.#unflushed + this.#socket.writableLength > OUTPUT_HIGH_WATER_MARK;
  }

  /** Response data: out at once while both windows allow and nothing of the stream waits ahead of it, else queued. */
  sendData(stream: H2Stream, chunk: Buffer, endStream: boolean): void {
    if (stream.queued > 0 || stream.endQueued) {
      if (chunk.length > 0) {
        stream.queue.push(chunk);
        stream.queued += chunk.length;
      }
      if (endStream) stream.endQueued = true;
      return;
    }
    const length = chunk.length;
    let offset = 0;
    // Straight out only when no other stream waits: waiting ones go by urgency (#pump).
    if (this.#ready.length === 0 && !this.#outputBlocked) {
      for (;;) {
        const allowed = Math.min(stream.sendWindow, this.#connSendWindow, this.#peerMaxFrameSize, length - offset);
        const last = offset + allowed === length;
        // A frame that carries nothing is only worth sending to end the stream.
        if (allowed <= 0 && !(last && endStream)) break;
        const size = allowed > 0 ? allowed : 0;
        this.#writeData(stream.id, chunk, offset, size, endStream && last);
        stream.sendWindow -= size;
        this.#connSendWindow -= size;
        offset += size;
        if (last) {
          if (endStream) {
            stream.localClosed = true;
            this.maybeClose(stream);
          }
          return;
        }
      }
    }
    if (offset < length) {
      stream.queue.push(offset === 0 ? chunk : chunk.subarray(offset));
      stream.queued += length - offset;
    }
    if (endStream) stream.endQueued = true;
    this.#schedule(stream);
  }

  sendTrailers(stream: H2Stream, flat: readonly string[]): void {
    stream.endQueued = true;
    if (stream.queued > 0) {
      stream.trailersQueued = flat.slice();
      return;
    }
    stream.localClosed = true;
    this.sendHeaders(stream, flat, true);
    this.maybeClose(stream);
  }

  #schedule(stream: H2Stream): void {
    if (stream.scheduled || stream.closed) return;
    stream.scheduled = true;
    this.#ready.push(stream);
    this.#scheduleFlush();
  }

  /** Sends queued response data, stream by stream in turn, while windows and the socket allow. */
  #pump(): void {
    const ready = this.#ready;
    let rounds = ready.length * 64 + 64;
    while (ready.length > 0 && !this.#outputBlocked && rounds-- > 0) {
      // RFC 9218 §10: the lowest urgency first; among equals, in the order they became ready.
      let at = 0;
      for (let i = 1; i < ready.length; i++) if (ready[i]!.urgency < ready[at]!.urgency) at = i;
      // Closed streams are never here: #closeStream takes them out.
      const stream = ready[at]!;
      // Waits for the connection's WINDOW_UPDATE.
      if (this.#connSendWindow <= 0 && stream.queued > 0) break;
      this.#sendQueued(stream);
      // Closed while sending (its last frame went out): #closeStream already took it out.
      if (!stream.scheduled) continue;
      if (stream.queued > 0 && stream.sendWindow > 0) {
        // An incremental response takes turns with its equals; others keep their place until done.
        if (stream.incremental) {
          ready.splice(ready.indexOf(stream), 1);
          ready.push(stream);
        }
      } else {
        ready.splice(ready.indexOf(stream), 1);
        stream.scheduled = false;
      }
    }
  }

  #sendQueued(stream: H2Stream): void {
    let budget = SEND_QUANTUM;
    const queue = stream.queue;
    while (stream.queued > 0 && budget > 0 && !this.#outputBlocked) {
      const head = queue[0]!;
      const available = head.length - stream.queueOffset;
      const size = Math.min(stream.sendWindow, this.#connSendWindow, this.#peerMaxFrameSize, budget, available);
      if (size <= 0) break;
      const lastByte = size === stream.queued;
      const endHere = lastByte && stream.endQueued && stream.trailersQueued === undefined;
      this.#writeData(stream.id, head, stream.queueOffset, size, endHere);
      stream.sendWindow -= size;
      this.#connSendWindow -= size;
      stream.queued -= size;
      budget -= size;
      if (size === available) {
        queue.shift();
        stream.queueOffset = 0;
      } else {
        stream.queueOffset += size;
      }
      if (endHere) {
        stream.localClosed = true;
        this.maybeClose(stream);
      }
    }
    if (stream.queued === 0 && !stream.localClosed) {
      const trailers = stream.trailersQueued;
      if (trailers !== undefined) {
        stream.trailersQueued = undefined;
        stream.localClosed = true;
        this.sendHeaders(stream, trailers, true);
        this.maybeClose(stream);
      } else if (stream.endQueued) {
        stream.localClosed = true;
        this.#writeData(stream.id, EMPTY, 0, 0, true);
        this.maybeClose(stream);
      }
    }
    if (stream.needDrain && stream.queued <= STREAM_HIGH_WATER_MARK) {
      stream.needDrain = false;
      this.#drained.push(stream);
    }
  }

  /** Hands this turn's frames to the socket, then tells the streams that closed or drained. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#destroyed) return;
    const socket = this.#socket;
    // While the kernel takes everything at once (writableLength back to 0), queued response
    // data keeps going out in this turn instead of one OUTPUT_HIGH_WATER_MARK per 'drain'.
    for (let round = 0; round < 16; round++) {
      if (this.#ready.length > 0) this.#pump();
      this.#closeSegment();
      const chunks = this.#chunks;
      if (chunks.length === 0) break;
      this.#chunks = [];
      this.#unflushed = 0;
      if (chunks.length === 1) {
        socket.write(chunks[0]!);
      } else {
        socket.cork();
        for (let i = 0; i < chunks.length; i++) socket.write(chunks[i]!);
        socket.uncork();
      }
      if (this.#ready.length === 0 || socket.writableLength > 0 || socket.destroyed) break;
    }
    this.#notify();
  }

  #notify(): void {
    if (this.#closedStreams.length > 0) {
      const closed = this.#closedStreams;
      this.#closedStreams = [];
      // Each stream is told even if telling another failed: an untold one would stay in flight
      // (shutdown would wait for it until the drain timeout).
      for (let i = 0; i < closed.length; i++) {
        const stream = closed[i]!;
        try {
          stream.listener.streamClose(stream.closeCode);
        } catch (error) {
          this.#listener.internalError(error);
        }
      }
    }
    if (this.#drained.length > 0) {
      const drained = this.#drained;
      this.#drained = [];
      for (const stream of drained) {
        try {
          if (!stream.closed) stream.listener.streamDrain();
        } catch (error) {
          this.#listener.internalError(error);
        }
      }
    }
    if (this.#idleDue) {
      this.#idleDue = false;
      if (this.openStreams === 0) {
        if (this.#draining && this.#goawayLastId !== MAX_STREAM_ID) this.#end();
        else this.#listener.idle();
      }
    }
  }

  #onDrain(): void {
    if (this.#readingPaused && this.#socket.writableLength <= OUTPUT_READ_LIMIT) {
      this.#readingPaused = false;
      this.#socket.resume();
    }
    if (this.#ready.length > 0) this.#scheduleFlush();
  }

  // ---------------------------------------------------------------- stream lifecycle

  maybeClose(stream: H2Stream): void {
    if (!stream.localClosed || stream.closed) return;
    if (stream.remoteClosed) this.#closeStream(stream, ErrorCode.NO_ERROR, false);
    else if (stream.resetWhenDone) this.resetStream(stream, ErrorCode.NO_ERROR);
  }

  #closeStream(stream: H2Stream, code: number, now: boolean): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.localClosed = true;
    stream.remoteClosed = true;
    stream.closeCode = code;
    stream.queue.length = 0;
    stream.queued = 0;
    stream.trailersQueued = undefined;
    this.#streams.delete(stream.id);
    if (stream.scheduled) {
      // Not left for #pump: while output is blocked it would keep the stream (and its exchange) alive.
      const at = this.#ready.indexOf(stream);
      if (at >= 0) this.#ready.splice(at, 1);
      stream.scheduled = false;
    }
    if ((stream.id & 1) === 1) this.#open--;
    else this.#pushed--;
    if (this.openStreams === 0) this.#idleDue = true;
    this.#closedStreams.push(stream);
    if (now) this.#notify();
    else this.#scheduleFlush();
  }

  /** RST_STREAM from our side. */
  resetStream(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    if (!this.#destroyed) this.#writeReset(stream.id, code);
    this.#closeStream(stream, code, false);
  }

  #streamError(error: StreamError): void {
    const id = error.streamId;
    const stream = this.#streams.get(id);
    if (stream !== undefined) this.resetStream(stream, error.code);
    // §6.4: never RST_STREAM an idle stream (e.g. a PRIORITY of the wrong size on one).
    else if (!this.#isIdle(id)) this.#writeReset(id, error.code);
    this.#countReset();
  }

  pushPromise(parent: H2Stream, requestFlat: readonly string[]): H2Stream | undefined {
    if (!this.pushAllowed || this.#nextPushId > MAX_STREAM_ID) return undefined;
    const id = this.#nextPushId;
    this.#nextPushId += 2;
    this.#writeHeaderBlock(FrameType.PUSH_PROMISE, parent.id, requestFlat, 0, id);
    // reserved (local), §5.1: the peer sends nothing on it.
    const stream = new H2Stream(this, id, true, this.#peerInitialWindow, 0);
    this.#streams.set(id, stream);
    this.#pushed++;
    return stream;
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Graceful close, RFC 9113 §6.8: GOAWAY with the largest stream id, so requests in flight are
   * not refused, then after a PING round trip the real last stream id; the connection ends
   * when its streams have.
   */
  close(): void {
    if (this.#draining || this.#destroyed || this.#failed) return;
    this.#draining = true;
    this.#writeGoaway(MAX_STREAM_ID, ErrorCode.NO_ERROR, '');
    let done = false;
    const finish = (): void => {
      if (done || this.#destroyed) return;
      done = true;
      clearTimeout(fallback);
      this.#writeGoaway(this.#lastPeerId, ErrorCode.NO_ERROR, '');
      if (this.openStreams === 0) this.#end();
      else this.#scheduleFlush();
    };
    const fallback = setTimeout(finish, 1000);
    fallback.unref();
    this.#ping(finish);
  }

  #ping(callback: () => void): void {
    const payload = Buffer.allocUnsafe(8);
    payload.writeDoubleBE(performance.now());
    this.#pingPayload = payload;
    this.#pingCallback = callback;
    const at = this.#reserve(FRAME_HEADER_SIZE + 8);
    writeFrameHeader(this.#slab, at, 8, FrameType.PING, 0, 0);
    payload.copy(this.#slab, at + FRAME_HEADER_SIZE);
    this.#commit(at + FRAME_HEADER_SIZE + 8);
  }

  /** Flushes what is queued and ends the socket. */
  #end(): void {
    this.flush();
    if (this.#destroyed) return;
    this.#socket.end();
    // A peer that never closes its side is not waited for.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #connectionError(error: unknown): void {
    if (this.#failed || this.#destroyed) return;
    this.#failed = true;
    const code = error instanceof ConnectionError ? error.code : ErrorCode.INTERNAL_ERROR;
    // A fault of ours says no more than that to the peer.
    const message = error instanceof ConnectionError ? error.message : 'internal error';
    this.#pendingParts = undefined;
    this.#writeGoaway(this.#lastPeerId, code, message.slice(0, 256));
    for (const stream of [...this.#streams.values()]) this.#closeStream(stream, code, false);
    this.#end();
    // Not a protocol error of the peer's: a fault of this server, reported, never thrown
    // into the socket's 'data' event (which would take the process down).
    if (!(error instanceof ConnectionError)) this.#listener.internalError(error);
  }

  /** Ends the connection now; every open stream closes with CANCEL. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onSocketClose(): void {
    if (this.#destroyed) return;
    this.#flushScheduled = false;
    for (const stream of [...this.#streams.values()]) this.#closeStream(stream, ErrorCode.CANCEL, false);
    this.#destroyed = true;
    this.#idleDue = false;
    this.#notify();
    try {
      this.#listener.close();
    } catch (error) {
      this.#listener.internalError(error);
    }
  }

  /** A fault of this server outside the input path (a flush): the connection ends with INTERNAL_ERROR. */
  fault(error: unknown): void {
    if (this.#failed || this.#destroyed) {
      this.#listener.internalError(error);
      return;
    }
    this.#connectionError(error);
  }
}

const EMPTY = Buffer.alloc(0);
