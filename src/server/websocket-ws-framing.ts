/**
 * ws's framing under an NgiWebSocket: ws's WebSocket class set on the transport (the socket
 * after an HTTP/1.1 Upgrade, or the stream of an RFC 8441 CONNECT). The framing that carries
 * permessage-deflate (RFC 7692), which NGI's own framing does not implement.
 */
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import type * as wsModule from 'ws';
import type { Fields } from '../interface/fields.ts';
import { noop } from './promises.ts';
import type { Framing, FramingEvents, WebSocketLimits } from './websocket-framing.ts';

/** ws exports these at runtime; @types/ws does not declare them. */
interface WsExtras {
  PerMessageDeflate: {
    new (options: object, isServer: boolean, maxPayload: number): { accept(offers: unknown[]): Record<string, unknown> };
    readonly extensionName: string;
  };
  extension: { parse(header: string): Record<string, unknown[]>; format(extensions: Record<string, unknown[]>): string };
}
type WsWebSocket = wsModule.WebSocket;

/**
 * ws is loaded on the first WebSocket it frames, not at start: with what it pulls in it is
 * ~2.4 MB of RSS that a server without WebSockets never needs. require() keeps that first use
 * synchronous.
 */
let ws: (typeof wsModule & WsExtras) | undefined;
function wsLibrary(): typeof wsModule & WsExtras {
  return (ws ??= createRequire(import.meta.url)('ws') as typeof wsModule & WsExtras);
}

/** A negotiated permessage-deflate: the response's header value, and the extension for ws. */
export interface Deflate {
  header: string;
  extensions: Record<string, unknown>;
}

/**
 * RFC 7692 negotiation, done here for both transports (ws does it only in its own HTTP/1.1
 * server). Returns the response header value and the extension map for ws, or undefined.
 */
export function negotiateDeflate(fields: Fields, limits: WebSocketLimits): Deflate | undefined {
  const offer = fields.get('sec-websocket-extensions');
  if (!limits.perMessageDeflate || offer === undefined) return undefined;
  let offers: Record<string, unknown[]>;
  try {
    offers = wsLibrary().extension.parse(offer);
  } catch {
    return undefined;
  }
  const { PerMessageDeflate, extension } = wsLibrary();
  const offered = offers[PerMessageDeflate.extensionName];
  if (!offered) return undefined;
  // Limits apply after decompression: ws's inflater checks maxPayload on inflated bytes.
  // ws 8.23 takes isServer and maxPayload in the options object (older 8.x took them as
  // arguments); without them the instance is a client's: it refuses every client offer
  // (`client_max_window_bits` without a value) and inflates without a bound.
  const deflate = new PerMessageDeflate({ isServer: true, maxPayload: limits.maxMessageSize }, true, limits.maxMessageSize);
  try {
    const params = deflate.accept(offered);
    return {
      header: extension.format({ [PerMessageDeflate.extensionName]: [params] }),
      extensions: { [PerMessageDeflate.extensionName]: deflate },
    };
  } catch {
    return undefined; // no acceptable offer: continue without compression
  }
}

export class WsFraming implements Framing {
  readonly compressing: boolean;
  readonly #ws: WsWebSocket;

  constructor(transport: Duplex, head: Buffer, deflate: Deflate | undefined, limits: WebSocketLimits, events: FramingEvents) {
    this.compressing = deflate !== undefined;
    // ws >= 8.19 needs autoPong and closeTimeout here, or every close ends as 1006. The
    // bounds below are the ones ws's own WebSocketServer sets (8.23): without them a peer that
    // floods Pings and never reads would queue Pongs without end (ws drops it after 60
    // unwritten), and a message could be split into any number of fragments or chunks.
    const socket = new (wsLibrary().WebSocket as unknown as new (address: null, protocols: undefined, options: object) => WsWebSocket)(null, undefined, {
      autoPong: true,
      maxPendingAutoPongs: 60,
      closeTimeout: limits.closeTimeout,
    });
    if (deflate) (socket as unknown as { _extensions: Record<string, unknown> })._extensions = deflate.extensions;
    (socket as unknown as { setSocket(s: Duplex, h: Buffer, o: object): void }).setSocket(transport, head, {
      maxPayload: limits.maxMessageSize,
      maxBufferedChunks: 256 * 1024,
      maxFragments: 16 * 1024,
      allowSynchronousEvents: true,
      skipUTF8Validation: false,
    });
    this.#ws = socket;
    socket.on('message', (data: Buffer, isBinary: boolean) => events.message(data, isBinary));
    socket.on('pong', () => events.pong());
    // Protocol errors (1002), invalid UTF-8 (1007) and oversize messages (1009) are answered
    // by ws with the right close code; the error itself needs no more handling here.
    socket.on('error', noop);
    socket.once('close', (code: number, reason: Buffer) => events.closed(code, reason.toString('utf8')));
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: string | Uint8Array, done?: (error?: Error | null) => void): void {
    this.#ws.send(data, { binary: typeof data !== 'string' }, done);
  }

  ping(data: Uint8Array | undefined, done: (error?: Error | null) => void): void {
    this.#ws.ping(data, undefined, done);
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  terminate(): void {
    this.#ws.terminate();
  }
}
