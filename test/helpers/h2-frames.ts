/**
 * A raw HTTP/2 client for conformance tests (RFC 9113): it sends the connection preface and
 * any frames, well-formed or not, over TCP or TLS (ALPN h2), and parses every frame the server
 * sends, header blocks decoded with NGI's HPACK (src/h2/hpack.ts) so the dynamic table stays in
 * step. It keeps its own books of the server's flow-control windows (§6.9) so a test can send
 * a body the way a correct client would, or break the rules on purpose.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ErrorCode, Flag, FrameType, SettingId } from '../../src/h2/frames.ts';
import { HpackDecoder, HpackEncoder } from '../../src/h2/hpack.ts';
import { Waiters } from './waiters.ts';

export { ErrorCode, Flag, FrameType, SettingId };

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const MAX_STREAM_ID = 2 ** 31 - 1;

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
  /** HEADERS / PUSH_PROMISE: the decoded header list once the block is complete (END_HEADERS, after CONTINUATION). */
  fields?: string[];
  /** ms since connect. */
  readonly at: number;
}

export interface Goaway {
  readonly lastStreamId: number;
  readonly code: number;
  readonly debug: string;
}

export interface H2Response {
  readonly status: number;
  /** The final head, flat [name, value, ...]; pseudo-header fields included. */
  readonly headers: string[];
  readonly body: Buffer;
  readonly trailers: string[] | undefined;
  /** Code of the RST_STREAM that ended the stream, if one did. */
  readonly reset: number | undefined;
}

export interface ConnectOptions {
  host?: string;
  /** ALPN h2 over TLS (the server's certificate is not verified). */
  tls?: boolean;
  /** Send the preface and our SETTINGS on connect (default true). */
  preface?: boolean;
  /** Our SETTINGS, [id, value] pairs (default none). */
  settings?: Array<[number, number]>;
  /** Answer the server's SETTINGS with ACK (default true). */
  ackSettings?: boolean;
  /** Answer the server's PINGs (default true). */
  ackPings?: boolean;
  /** Return every DATA byte received as window at once, stream and connection, as a reading client does (default false). */
  returnCredit?: boolean;
}

export function frameBytes(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0), length = payload.length): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([head, payload]);
}

export function settingsPayload(settings: Array<[number, number]>): Buffer {
  const out = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    out.writeUInt16BE(id, i * 6);
    out.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

/** The setting values of a SETTINGS frame. */
export function parseSettings(frame: Frame): Map<number, number> {
  const out = new Map<number, number>();
  for (let at = 0; at + 6 <= frame.payload.length; at += 6) out.set(frame.payload.readUInt16BE(at), frame.payload.readUInt32BE(at + 2));
  return out;
}

export function parseGoaway(frame: Frame): Goaway {
  return {
    lastStreamId: frame.payload.readUInt32BE(0) & MAX_STREAM_ID,
    code: frame.payload.readUInt32BE(4),
    debug: frame.payload.subarray(8).toString('latin1'),
  };
}

const CODE_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));
export function codeName(code: number | undefined): string {
  return code === undefined ? 'none' : (CODE_NAMES.get(code) ?? `0x${code.toString(16)}`);
}

/** A request's header list: pseudo-header fields for `method path`, then `extra` [name, value, ...]. */
export function requestFields(method: string, path: string, extra: string[] = []): string[] {
  return [':method', method, ':scheme', 'http', ':authority', 'localhost', ':path', path, ...extra];
}

export class H2FrameClient {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  readonly encoder = new HpackEncoder();
  readonly decoder = new HpackDecoder();
  readonly openedAt = performance.now();
  /** The server's SETTINGS values, last one wins. */
  readonly serverSettings = new Map<number, number>();
  #input: Buffer = Buffer.alloc(0);
  #block: { frame: Frame; parts: Buffer[] } | undefined;
  #closed = false;
  readonly #waiters = new Waiters();
  #ackSettings: boolean;
  #ackPings: boolean;
  #returnCredit: boolean;
  /** We sent HEADERS without END_HEADERS: our automatic replies wait, as they would interrupt the block (§6.10). */
  #blockOpen = false;
  #deferred: Buffer[] = [];
  /** What the server lets us send (§6.9): connection window, per-stream credit beyond SETTINGS_INITIAL_WINDOW_SIZE. */
  #connWindow = 65_535;
  #streamCredit = new Map<number, number>();
  /** Bytes received from the server that we may return as window. */
  dataReceived = 0;

  private constructor(socket: net.Socket, options: ConnectOptions) {
    this.socket = socket;
    this.#ackSettings = options.ackSettings ?? true;
    this.#ackPings = options.ackPings ?? true;
    this.#returnCredit = options.returnCredit ?? false;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#closed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static connect(port: number, options: ConnectOptions = {}): Promise<H2FrameClient> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tls.connect({ port, host, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'localhost' })
        : net.connect({ port, host, noDelay: true });
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        const client = new H2FrameClient(socket, options);
        if (options.preface ?? true) {
          client.write(Buffer.concat([PREFACE, frameBytes(FrameType.SETTINGS, 0, 0, settingsPayload(options.settings ?? []))]));
        }
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  #wake(): void {
    this.#waiters.wake();
  }

  #onData(chunk: Buffer): void {
    this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
    let at = 0;
    while (this.#input.length - at >= 9) {
      const length = this.#input.readUIntBE(at, 3);
      if (this.#input.length - at - 9 < length) break;
      const frame: Frame = {
        type: this.#input[at + 3]!,
        flags: this.#input[at + 4]!,
        streamId: this.#input.readUInt32BE(at + 5) & MAX_STREAM_ID,
        payload: Buffer.from(this.#input.subarray(at + 9, at + 9 + length)),
        at: performance.now() - this.openedAt,
      };
      at += 9 + length;
      this.#onFrame(frame);
    }
    this.#input = this.#input.subarray(at);
    this.#wake();
  }

  #onFrame(frame: Frame): void {
    this.frames.push(frame);
    switch (frame.type) {
      case FrameType.SETTINGS:
        if ((frame.flags & Flag.ACK) === 0) {
          for (const [id, value] of parseSettings(frame)) this.serverSettings.set(id, value);
          if (this.#ackSettings) this.#reply(frameBytes(FrameType.SETTINGS, Flag.ACK, 0));
        }
        break;
      case FrameType.PING:
        if ((frame.flags & Flag.ACK) === 0 && this.#ackPings) this.#reply(frameBytes(FrameType.PING, Flag.ACK, 0, frame.payload));
        break;
      case FrameType.WINDOW_UPDATE: {
        const increment = frame.payload.readUInt32BE(0) & MAX_STREAM_ID;
        if (frame.streamId === 0) this.#connWindow += increment;
        else this.#streamCredit.set(frame.streamId, (this.#streamCredit.get(frame.streamId) ?? 0) + increment);
        break;
      }
      case FrameType.DATA:
        this.dataReceived += frame.payload.length;
        if (this.#returnCredit && frame.payload.length > 0) {
          this.#reply(frameBytes(FrameType.WINDOW_UPDATE, 0, 0, u32(frame.payload.length)));
          if ((frame.flags & Flag.END_STREAM) === 0) this.#reply(frameBytes(FrameType.WINDOW_UPDATE, 0, frame.streamId, u32(frame.payload.length)));
        }
        break;
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE: {
        let payload = frame.payload;
        let start = 0;
        let end = payload.length;
        if ((frame.flags & Flag.PADDED) !== 0) {
          start = 1;
          end -= payload[0]!;
        }
        if (frame.type === FrameType.HEADERS && (frame.flags & Flag.PRIORITY) !== 0) start += 5;
        if (frame.type === FrameType.PUSH_PROMISE) start += 4;
        payload = payload.subarray(start, end);
        if ((frame.flags & Flag.END_HEADERS) !== 0) frame.fields = this.decoder.decode(payload, 0, payload.length) ?? [];
        else this.#block = { frame, parts: [payload] };
        break;
      }
      case FrameType.CONTINUATION: {
        const block = this.#block;
        if (block === undefined) break;
        block.parts.push(frame.payload);
        if ((frame.flags & Flag.END_HEADERS) !== 0) {
          this.#block = undefined;
          const whole = Buffer.concat(block.parts);
          block.frame.fields = this.decoder.decode(whole, 0, whole.length) ?? [];
        }
        break;
      }
    }
  }

  write(bytes: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  #reply(bytes: Buffer): void {
    if (this.#blockOpen) this.#deferred.push(bytes);
    else this.write(bytes);
  }

  frame(type: number, flags: number, streamId: number, payload?: Buffer): boolean {
    const ok = this.write(frameBytes(type, flags, streamId, payload));
    if (type === FrameType.HEADERS || type === FrameType.PUSH_PROMISE) this.#blockOpen = (flags & Flag.END_HEADERS) === 0;
    else if (type === FrameType.CONTINUATION && (flags & Flag.END_HEADERS) !== 0) this.#blockOpen = false;
    if (!this.#blockOpen && this.#deferred.length > 0) {
      for (const bytes of this.#deferred.splice(0)) this.write(bytes);
    }
    return ok;
  }

  /** HPACK-encodes `fields` with this connection's encoder (the server's decoder follows it). */
  encode(fields: string[]): Buffer {
    return this.encoder.encode(fields);
  }

  /** One HEADERS frame (END_HEADERS unless told otherwise), optionally padded. */
  headers(streamId: number, fields: string[], options: { endStream?: boolean; endHeaders?: boolean; pad?: number } = {}): void {
    const block = this.encode(fields);
    let flags = (options.endStream ? Flag.END_STREAM : 0) | (options.endHeaders === false ? 0 : Flag.END_HEADERS);
    let payload = block;
    if (options.pad !== undefined) {
      flags |= Flag.PADDED;
      payload = Buffer.concat([Buffer.from([options.pad]), block, Buffer.alloc(options.pad)]);
    }
    this.frame(FrameType.HEADERS, flags, streamId, payload);
  }

  /** A GET (or other method without a body) on `streamId`, ended by its HEADERS. */
  get(streamId: number, path = '/', extra: string[] = []): void {
    this.headers(streamId, requestFields('GET', path, extra), { endStream: true });
  }

  data(streamId: number, payload: Buffer, options: { endStream?: boolean; pad?: number } = {}): void {
    let flags = options.endStream ? Flag.END_STREAM : 0;
    let body = payload;
    if (options.pad !== undefined) {
      flags |= Flag.PADDED;
      body = Buffer.concat([Buffer.from([options.pad]), payload, Buffer.alloc(options.pad)]);
    }
    this.frame(FrameType.DATA, flags, streamId, body);
    this.#connWindow -= body.length;
    this.#streamCredit.set(streamId, (this.#streamCredit.get(streamId) ?? 0) - body.length);
  }

  rst(streamId: number, code: number): void {
    this.frame(FrameType.RST_STREAM, 0, streamId, u32(code));
  }

  windowUpdate(streamId: number, increment: number): void {
    this.frame(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment));
  }

  /** What we may send on `streamId` now (§6.9): the smaller of its window and the connection's. */
  sendWindow(streamId: number): number {
    const initial = this.serverSettings.get(SettingId.INITIAL_WINDOW_SIZE) ?? 65_535;
    return Math.min(this.#connWindow, initial + (this.#streamCredit.get(streamId) ?? 0));
  }

  /** Sends `body` as DATA frames of at most 16,384 bytes as the server's windows allow, END_STREAM on the last. */
  async sendBody(streamId: number, body: Buffer, timeoutMs = 10_000): Promise<void> {
    let offset = 0;
    do {
      await this.until(() => this.sendWindow(streamId) > 0 || offset === body.length, `window for stream ${streamId}`, timeoutMs);
      const size = Math.min(16_384, this.sendWindow(streamId), body.length - offset);
      this.data(streamId, body.subarray(offset, offset + size), { endStream: offset + size === body.length });
      offset += size;
    } while (offset < body.length);
  }

  /** A PING round trip: every frame the server sent in reply to what we sent before it has arrived once this resolves. */
  async roundTrip(timeoutMs = 5000): Promise<void> {
    const payload = Buffer.alloc(8);
    payload.writeDoubleBE(Math.random());
    this.frame(FrameType.PING, 0, 0, payload);
    await this.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.equals(payload), 'PING ACK', timeoutMs);
  }

  /** Resolves when `ready()` holds; rejects on timeout, or when the connection closes first. */
  until(ready: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    return this.#waiters.until(
      ready,
      () => (this.#closed ? new Error(`connection closed while waiting for ${what}; frames: ${this.describe()}`) : undefined),
      () => new Error(`no ${what} within ${timeoutMs} ms; frames: ${this.describe()}`),
      timeoutMs,
    );
  }


  /** The first received frame matching `match` (already received or still to come). */
  async waitFor(match: (frame: Frame) => boolean, what: string, timeoutMs = 5000): Promise<Frame> {
    let found: Frame | undefined;
    await this.until(() => (found = this.frames.find(match)) !== undefined, what, timeoutMs);
    return found!;
  }

  /** Every GOAWAY received so far, in order. */
  goaways(): Goaway[] {
    return this.frames.filter((f) => f.type === FrameType.GOAWAY).map(parseGoaway);
  }

  /** The server's GOAWAY number `index` (the first by default). */
  async goaway(timeoutMs = 5000, index = 0): Promise<Goaway> {
    await this.until(() => this.goaways().length > index, `GOAWAY #${index + 1}`, timeoutMs);
    return this.goaways()[index]!;
  }

  /** The code of the server's RST_STREAM on `streamId`. */
  async reset(streamId: number, timeoutMs = 5000): Promise<number> {
    const frame = await this.waitFor((f) => f.type === FrameType.RST_STREAM && f.streamId === streamId, `RST_STREAM on stream ${streamId}`, timeoutMs);
    return frame.payload.readUInt32BE(0);
  }

  /** Waits for the connection to close (after a GOAWAY, or on the server's own terms). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms; frames: ${this.describe()}`)), timeoutMs);
      void this.closed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Frames received on one stream. */
  streamFrames(streamId: number): Frame[] {
    return this.frames.filter((f) => f.streamId === streamId);
  }

  /** The response on `streamId`, once END_STREAM or RST_STREAM ended it. */
  async response(streamId: number, timeoutMs = 5000): Promise<H2Response> {
    const ended = (f: Frame): boolean => f.streamId === streamId && (f.type === FrameType.RST_STREAM || ((f.type === FrameType.DATA || f.type === FrameType.HEADERS) && (f.flags & Flag.END_STREAM) !== 0 && (f.type !== FrameType.HEADERS || f.fields !== undefined)));
    await this.waitFor(ended, `the end of stream ${streamId}`, timeoutMs);
    let head: string[] | undefined;
    let trailers: string[] | undefined;
    const body: Buffer[] = [];
    let reset: number | undefined;
    for (const f of this.streamFrames(streamId)) {
      if (f.type === FrameType.HEADERS) {
        const fields = f.fields ?? [];
        const status = fields[0] === ':status' ? Number(fields[1]) : 0;
        if (head === undefined || Number(head[1]) < 200) {
          if (status >= 200 || head === undefined) head = fields;
        } else {
          trailers = fields;
        }
      } else if (f.type === FrameType.DATA) {
        let payload = f.payload;
        if ((f.flags & Flag.PADDED) !== 0) payload = payload.subarray(1, payload.length - payload[0]!);
        body.push(payload);
      } else if (f.type === FrameType.RST_STREAM) {
        reset = f.payload.readUInt32BE(0);
      }
    }
    return { status: head === undefined ? 0 : Number(head[1]), headers: head ?? [], body: Buffer.concat(body), trailers, reset };
  }

  /** A short listing of the frames received, for assertion messages. */
  describe(): string {
    const names = new Map<number, string>(Object.entries(FrameType).map(([name, type]) => [type, name]));
    return this.frames
      .slice(-20)
      .map((f) => {
        let s = `${names.get(f.type) ?? f.type}(s${f.streamId},f${f.flags}`;
        if (f.type === FrameType.GOAWAY) {
          const g = parseGoaway(f);
          s += `,last ${g.lastStreamId},${codeName(g.code)},${JSON.stringify(g.debug)}`;
        }
        if (f.type === FrameType.RST_STREAM) s += `,${codeName(f.payload.readUInt32BE(0))}`;
        return `${s})`;
      })
      .join(' ');
  }

  destroy(): void {
    this.socket.destroy();
  }
}
