/**
 * One HTTP/2 stream of an H2Session (RFC 9113 §5.1): its state, its two flow-control windows,
 * the response DATA waiting for window, and the request DATA waiting for the application.
 * The session owns the framing; the stream says what to send and is told what arrived.
 */
import { ErrorCode } from './frames.ts';
import type { H2Session } from './session.ts';

/** What the layer above (NGI's glue) is told about one stream. */
export interface StreamListener {
  /** Request DATA, in order. Call stream.consume(n) once the bytes are used: that returns them as window. */
  streamData(chunk: Buffer): void;
  /** END_STREAM arrived (after the last streamData() and streamTrailers(), if any). */
  streamEnd(): void;
  /** The trailer section (RFC 9113 §8.1), just before streamEnd(). */
  streamTrailers(flat: string[]): void;
  /** Queued response data fell below the high-water mark after write() returned false. */
  streamDrain(): void;
  /** The stream is closed: completed (NO_ERROR), reset by either side, or its connection ended. */
  streamClose(code: number): void;
}

const NO_LISTENER: StreamListener = {
  streamData() {},
  streamEnd() {},
  streamTrailers() {},
  streamDrain() {},
  streamClose() {},
};

/** Response data queued beyond this makes write() return false. */
export const STREAM_HIGH_WATER_MARK = 64 * 1024;

export class H2Stream {
  readonly id: number;
  readonly session: H2Session;
  listener: StreamListener = NO_LISTENER;
  /** END_STREAM (or a reset) received: the peer sends nothing more. */
  remoteClosed: boolean;
  /** END_STREAM (or a reset) sent: we send nothing more. */
  localClosed = false;
  /** Closed on both sides, or reset: gone from the session. */
  closed = false;
  /** The code it closed with (NO_ERROR when it completed). */
  closeCode = -1;
  /** The response HEADERS went out (or were queued in order). */
  headersSent = false;
  /** Request body bytes received (checked against content-length, RFC 9113 §8.1.1). */
  received = 0;
  /** content-length of the request, when declared. */
  expectedLength: number | undefined;

  /** Send window: what the peer lets us send on this stream (§6.9). */
  sendWindow: number;
  /** Receive window: what the peer may still send before we return credit. */
  recvWindow: number;
  /** Bytes the application consumed and not yet returned as WINDOW_UPDATE. */
  unreturned = 0;

  /** Response data waiting for window, in order; END_STREAM or trailers follow it. */
  queue: Buffer[] = [];
  queued = 0;
  /** Offset into queue[0] already sent. */
  queueOffset = 0;
  /** end() called: END_STREAM goes with the last queued byte. */
  endQueued = false;
  /** Trailers to send once the queue is empty. */
  trailersQueued: string[] | undefined;
  /** write() returned false and drain() is owed. */
  needDrain = false;
  /** In the session's list of streams that have data to send. */
  scheduled = false;
  /** stopReading() came before the response's last frame was sent. */
  resetWhenDone = false;
  /** RFC 9218 §4: urgency 0 (first) to 7, and whether the response is useful in pieces. */
  urgency = 3;
  incremental = false;

  constructor(session: H2Session, id: number, remoteClosed: boolean, sendWindow: number, recvWindow: number) {
    this.session = session;
    this.id = id;
    this.remoteClosed = remoteClosed;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** The response head (RFC 9113 §8.1): `flat` is [name, value, ...] with :status first. */
  respond(flat: readonly string[], endStream: boolean): void {
    if (this.localClosed || this.headersSent) return;
    this.headersSent = true;
    if (endStream) this.localClosed = true;
    this.session.sendHeaders(this, flat, endStream);
    if (endStream) this.session.maybeClose(this);
  }

  /** An interim (1xx) response: 100 Continue or 103 Early Hints (RFC 9110 §15.2). */
  informational(flat: readonly string[]): void {
    if (this.localClosed || this.headersSent) return;
    this.session.sendHeaders(this, flat, false);
  }

  /**
   * Queues response data; false once more than STREAM_HIGH_WATER_MARK waits (drain() follows).
   * Data goes out at once when both windows allow it.
   */
  write(chunk: Buffer): boolean {
    if (this.localClosed || chunk.length === 0) return true;
    this.session.sendData(this, chunk, false);
    if (this.queued > STREAM_HIGH_WATER_MARK) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Ends the response, with a last chunk if given (END_STREAM on the last DATA frame). */
  end(chunk?: Buffer): void {
    if (this.localClosed || this.endQueued) return;
    this.session.sendData(this, chunk ?? EMPTY, true);
  }

  /** Ends the response with a trailer section after the data (RFC 9113 §8.1). */
  endWithTrailers(flat: readonly string[]): void {
    if (this.localClosed || this.endQueued) return;
    this.session.sendTrailers(this, flat);
  }

  /** RST_STREAM (RFC 9113 §6.4); NO_ERROR after a complete response asks the client to stop sending (§8.1). */
  reset(code: number = ErrorCode.CANCEL): void {
    if (this.closed) return;
    this.session.resetStream(this, code);
  }

  /**
   * RFC 9113 §8.1: the response is complete (or will be once its queued frames are out) and
   * the rest of the request body is not wanted: RST_STREAM(NO_ERROR) follows the last frame.
   */
  stopReading(): void {
    if (this.closed || this.remoteClosed) return;
    if (this.localClosed) this.session.resetStream(this, ErrorCode.NO_ERROR);
    else this.resetWhenDone = true;
  }

  /** The application used `bytes` of request data: they return to the client as window. */
  consume(bytes: number): void {
    if (this.closed || this.remoteClosed) return;
    this.session.returnCredit(this, bytes);
  }

  /** PUSH_PROMISE (RFC 9113 §8.4) on this stream; the promised stream, or undefined if the peer does not take pushes now. */
  push(requestFlat: readonly string[]): H2Stream | undefined {
    if (this.localClosed || this.closed) return undefined;
    return this.session.pushPromise(this, requestFlat);
  }

  get pushAllowed(): boolean {
    return !this.localClosed && !this.closed && this.session.pushAllowed;
  }
}

const EMPTY = Buffer.alloc(0);
