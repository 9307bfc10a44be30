/**
 * A forwarding TCP proxy on 127.0.0.1 that records every HTTP/2 frame of the cleartext
 * connections through it, both ways, so tests can assert what crossed the wire.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { HTTP2_PREFACE } from '../../src/core/preface.ts';

const DATA = 0x0;
const SETTINGS = 0x4;
const WINDOW_UPDATE = 0x8;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const FLAG_ACK = 0x1;

export interface Frame {
  /** c2s: client to server. */
  readonly dir: 'c2s' | 's2c';
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
  /** ms since the relay started. */
  readonly at: number;
}

/** Incremental frame reader over one direction of a connection. */
export class FrameReader {
  #buffer: Buffer = Buffer.alloc(0);
  #skip: number;

  constructor(prefaceBytes: number, readonly onFrame: (type: number, flags: number, streamId: number, payload: Buffer) => void) {
    this.#skip = prefaceBytes;
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, this.#buffer.length);
      this.#skip -= n;
      this.#buffer = this.#buffer.subarray(n);
    }
    while (this.#skip === 0 && this.#buffer.length >= 9) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) break;
      this.onFrame(this.#buffer[3]!, this.#buffer[4]!, this.#buffer.readUInt32BE(5) & 0x7fff_ffff, Buffer.from(this.#buffer.subarray(9, 9 + length)));
      this.#buffer = this.#buffer.subarray(9 + length);
    }
  }
}

export interface Relay {
  readonly url: string;
  readonly frames: Frame[];
  /** DATA payload bytes (padding included) in one direction on a stream. */
  dataBytes(dir: Frame['dir'], streamId: number): number;
  close(): Promise<void>;
}

/** A forwarding proxy that records every HTTP/2 frame of the (cleartext) connections through it. */
export async function startRelay(target: string): Promise<Relay> {
  const { port, hostname } = new URL(target);
  const frames: Frame[] = [];
  const sockets = new Set<net.Socket>();
  const t0 = performance.now();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const record = (dir: Frame['dir']) => (type: number, flags: number, streamId: number, payload: Buffer) =>
      frames.push({ dir, type, flags, streamId, payload, at: performance.now() - t0 });
    const toServer = new FrameReader(HTTP2_PREFACE.length, record('c2s'));
    const toClient = new FrameReader(0, record('s2c'));
    client.on('data', (chunk: Buffer) => {
      toServer.push(chunk);
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      toClient.push(chunk);
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', teardown);
      s.on('close', teardown);
      s.on('close', () => sockets.delete(s));
    }
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    frames,
    dataBytes: (dir, id) => frames.filter((f) => f.dir === dir && f.type === DATA && f.streamId === id).reduce((n, f) => n + f.payload.length, 0),
    async close() {
      for (const s of sockets) s.destroy();
      proxy.close();
      await once(proxy, 'close');
    },
  };
}

/** Flow-control books of one connection, from the frames that crossed the wire (RFC 9113 §6.9). */
export interface FlowControlBooks {
  /** Flow-controlled DATA bytes the client sent on a stream (frame payload, padding included). */
  dataSent(streamId: number): number;
  /** WINDOW_UPDATE increments the server granted for a stream (0: the connection). */
  windowGranted(streamId: number): number;
  /** The server's SETTINGS_INITIAL_WINDOW_SIZE (65,535 unless it announced another). */
  initialWindow(): number;
  /** The client's send window for a stream, as the frames define it. */
  sendWindow(streamId: number): number;
}

export function flowControlBooks(relay: Relay): FlowControlBooks {
  const initialWindow = (): number => {
    let value = 65_535;
    for (const f of relay.frames) {
      if (f.dir !== 's2c' || f.type !== SETTINGS || (f.flags & FLAG_ACK) !== 0) continue;
      for (let at = 0; at + 6 <= f.payload.length; at += 6) {
        if (f.payload.readUInt16BE(at) === SETTINGS_INITIAL_WINDOW_SIZE) value = f.payload.readUInt32BE(at + 2);
      }
    }
    return value;
  };
  const windowGranted = (id: number): number =>
    relay.frames.filter((f) => f.dir === 's2c' && f.type === WINDOW_UPDATE && f.streamId === id).reduce((n, f) => n + (f.payload.readUInt32BE(0) & 0x7fff_ffff), 0);
  const dataSent = (id: number): number => relay.dataBytes('c2s', id);
  return { dataSent, windowGranted, initialWindow, sendWindow: (id) => initialWindow() + windowGranted(id) - dataSent(id) };
}
