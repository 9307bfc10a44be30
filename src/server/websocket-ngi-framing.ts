/**
 * NGI's own WebSocket framing on a transport (src/ws/ reads and writes the frames): what ws's
 * WebSocket class does for a server without extensions, in fewer steps per message. A socket
 * chunk goes straight into the frame reader (ws passes it through a Writable first), and a
 * frame goes out as one buffer and one write (ws corks two buffers into a writev).
 *
 * The connection follows ws's state machine, so both framings look the same to NgiWebSocket
 * and to the peer: a Close is answered with the peer's code (RFC 6455 §5.5.1), the server ends
 * the transport once both Close frames have passed (§7.1.1), a broken frame is answered with
 * Close 1002/1007/1009 and reading stops (§7.1.7), and closeTimeout bounds the handshake.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { ABNORMAL, NO_STATUS } from '../ws/close-codes.ts';
import { WsFrameError } from '../ws/errors.ts';
import { FrameReader, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG, OPCODE_TEXT, type FrameSink } from '../ws/frame-reader.ts';
import { closePayload, writeFrame } from '../ws/frame-writer.ts';
import { noop } from './promises.ts';
import { CLOSED, CLOSING, OPEN, type Framing, type FramingEvents, type WebSocketLimits } from './websocket-framing.ts';

export class NgiFraming implements Framing, FrameSink {
  readonly compressing = false;
  #readyState = OPEN;
  readonly #transport: Duplex;
  readonly #reader: FrameReader;
  readonly #events: FramingEvents;
  readonly #closeTimeout: number;
  /** The application asked for no more messages (NgiWebSocket's queue is full). */
  #paused = false;
  #closeFrameSent = false;
  #closeFrameReceived = false;
  /** The peer's frames broke the protocol: our Close says why, and nothing more is read. */
  #failed = false;
  #closeCode = ABNORMAL;
  #closeReason = '';
  #closeTimer: NodeJS.Timeout | undefined;
  /** A Ping that arrived while the transport's buffer was full: answered once it drains. */
  #pendingPong: Buffer | undefined;

  constructor(transport: Duplex, head: Buffer, limits: WebSocketLimits, events: FramingEvents) {
    this.#transport = transport;
    this.#events = events;
    this.#closeTimeout = limits.closeTimeout;
    this.#reader = new FrameReader(this, limits.maxMessageSize);
    const socket = transport as Partial<Socket>;
    // As ws does: the HTTP/1.1 glue's timeouts no longer apply, and small frames go out at once.
    socket.setTimeout?.(0);
    socket.setNoDelay?.(true);
    // Bytes that came with the handshake are the first frames. They go back into the
    // transport before the 'data' listener makes it flow (ws's order): then they are read from
    // the next tick, in order with what follows, and never from inside this constructor,
    // before NgiWebSocket has its framing.
    if (head.length > 0) transport.unshift(head);
    transport.on('data', this.#onData);
    transport.on('end', this.#onEnd);
    transport.on('error', this.#onError);
    transport.once('close', this.#onClose);
  }

  get readyState(): number {
    return this.#readyState;
  }

  get bufferedAmount(): number {
    return this.#transport.writableLength;
  }

  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#reader.push(chunk);
    } catch (error) {
      if (!(error instanceof WsFrameError)) throw error;
      this.#protocolError(error);
    }
  };

  /** The peer half-closed without a Close frame: end our side too (ws does the same). */
  readonly #onEnd = (): void => {
    if (this.#readyState === OPEN) this.#readyState = CLOSING;
    this.#transport.end();
  };

  readonly #onError = (): void => {
    this.#transport.off('error', this.#onError);
    this.#transport.on('error', noop);
    if (this.#readyState === OPEN) this.#readyState = CLOSING;
    this.#transport.destroy();
  };

  readonly #onClose = (): void => {
    const transport = this.#transport;
    transport.off('data', this.#onData);
    transport.off('end', this.#onEnd);
    // CLOSING before the held frames are read: a Close or a Ping among them must not write to
    // the dead transport, nor start a close timer nothing would clear (ws sets it first too).
    if (this.#readyState === OPEN) this.#readyState = CLOSING;
    // Frames still buffered in a paused transport are delivered before the close, as ws does:
    // the application's queue has no limit once the connection is over.
    this.#paused = false;
    if (!this.#reader.done) {
      try {
        this.#reader.resume();
        const rest = transport.readableLength > 0 ? (transport.read() as Buffer | null) : null;
        if (rest !== null) this.#reader.push(rest);
      } catch (error) {
        if (!(error instanceof WsFrameError)) throw error;
      }
    }
    clearTimeout(this.#closeTimer);
    this.#readyState = CLOSED;
    this.#events.closed(this.#closeCode, this.#closeReason);
  };

  /** §7.1.7: a peer that breaks the protocol gets a Close with the reason's code; reading stops. */
  #protocolError(error: WsFrameError): void {
    this.#failed = true;
    this.#stopReading();
    if (this.#readyState === OPEN) this.#sendClose(error.closeCode, '');
    else if (this.#closeFrameSent && !this.#transport.destroyed) this.#transport.end();
  }

  /** After a Close or a protocol error: bytes that follow are read and dropped, so 'end' and 'close' arrive. */
  #stopReading(): void {
    this.#transport.off('data', this.#onData);
    this.#transport.resume();
  }

  // FrameSink: called by the reader, synchronously from push().

  onMessage(data: Buffer, binary: boolean): void {
    this.#events.message(data, binary);
  }

  onPing(payload: Buffer): void {
    if (this.#readyState !== OPEN) return;
    // §5.5.3: a Pong answers the most recent Ping; while the peer does not read, one waiting
    // answer is enough, so a flood of Pings cannot grow the transport's buffer.
    if (this.#transport.writableNeedDrain) {
      if (this.#pendingPong === undefined) this.#transport.once('drain', this.#sendPendingPong);
      this.#pendingPong = Buffer.from(payload);
      return;
    }
    writeFrame(this.#transport, OPCODE_PONG, payload);
  }

  readonly #sendPendingPong = (): void => {
    const payload = this.#pendingPong;
    this.#pendingPong = undefined;
    if (payload !== undefined && this.#readyState === OPEN) writeFrame(this.#transport, OPCODE_PONG, payload);
  };

  onPong(): void {
    this.#events.pong();
  }

  onClose(code: number, reason: string): void {
    this.#closeFrameReceived = true;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#stopReading();
    // §5.5.1: answer with a Close, echoing the code (none for a Close that had none).
    if (this.#readyState === OPEN) this.#sendClose(code === NO_STATUS ? undefined : code, reason);
    else if (this.#closeFrameSent && !this.#transport.destroyed) this.#transport.end();
  }

  // Framing: called by NgiWebSocket.

  send(data: string | Uint8Array, done?: (error?: Error | null) => void): void {
    writeFrame(this.#transport, typeof data === 'string' ? OPCODE_TEXT : OPCODE_BINARY, data, done);
  }

  ping(data: Uint8Array | undefined, done: (error?: Error | null) => void): void {
    writeFrame(this.#transport, OPCODE_PING, data ?? Buffer.alloc(0), done);
  }

  close(code: number, reason: string): void {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CLOSING) {
      // A second close() once both Close frames have passed: ends the transport (ws's rule).
      if (this.#closeFrameSent && (this.#closeFrameReceived || this.#failed)) this.#transport.end();
      return;
    }
    this.#sendClose(code, reason);
  }

  #sendClose(code: number | undefined, reason: string): void {
    const payload = closePayload(code, reason); // throws before anything changed
    this.#readyState = CLOSING;
    writeFrame(this.#transport, OPCODE_CLOSE, payload, (error) => {
      if (error) return; // the transport failed: its 'error' and 'close' end the connection
      this.#closeFrameSent = true;
      // §7.1.1: the server closes the TCP connection first, once both Close frames passed.
      if (this.#closeFrameReceived || this.#failed) this.#transport.end();
    });
    this.#closeTimer = setTimeout(() => this.#transport.destroy(), this.#closeTimeout);
  }

  pause(): void {
    // A transport that is gone is not paused: #onClose hands over every frame left (ws too).
    if (this.#paused || this.#readyState === CLOSED || this.#reader.done || this.#transport.destroyed) return;
    this.#paused = true;
    this.#reader.pause();
    this.#transport.pause();
  }

  /**
   * Frames held back are delivered from the next tick, never from inside this call, as ws's
   * resume() does (it resumes the socket, which flows from the next tick): NgiWebSocket
   * resumes while it takes a message from its queue, and a message delivered from inside
   * would overtake that one (receive() would then run its handler out of order, or twice at
   * once).
   */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    process.nextTick(this.#resumeReading);
  }

  readonly #resumeReading = (): void => {
    // Paused again meanwhile, or closed: #onClose has delivered what was held.
    if (this.#paused || this.#readyState === CLOSED) return;
    try {
      this.#reader.resume();
    } catch (error) {
      if (!(error instanceof WsFrameError)) throw error;
      this.#protocolError(error);
      return;
    }
    // Reading what was held may have paused again.
    if (!this.#paused && !this.#reader.done) this.#transport.resume();
  };

  terminate(): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSING;
    this.#transport.destroy();
  }
}
