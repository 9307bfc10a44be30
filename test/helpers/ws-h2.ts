/**
 * A WebSocket client over HTTP/2 extended CONNECT (RFC 8441) for tests: node:http2's client
 * for the stream, ws's framing over it (ws >= 8.14.1 runs over any Duplex). ws negotiates
 * permessage-deflate only in its own HTTP/1.1 handshake, so it is done here by hand.
 */
import http2 from 'node:http2';
import { WebSocket } from 'ws';
import * as wsModule from 'ws';

/** ws exports these at runtime; @types/ws does not declare them. */
interface WsExtras {
  PerMessageDeflate: {
    new (options: object, isServer?: boolean, maxPayload?: number): { accept(offers: unknown[]): Record<string, unknown> };
    readonly extensionName: string;
  };
  extension: { parse(header: string): Record<string, unknown[]> };
}
const { PerMessageDeflate, extension } = wsModule as unknown as WsExtras;

const origins = new WeakMap<http2.ClientHttp2Session, URL>();

/** An HTTP/2 session that has received the server's SETTINGS. */
export async function connectH2(url: string, ca?: string | Buffer, timeoutMs = 5000): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, ca !== undefined ? { ca } : {});
  origins.set(session, new URL(url));
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no SETTINGS from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    session.once('remoteSettings', () => {
      clearTimeout(timer);
      resolve();
    });
    session.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  return session;
}

export interface H2WebSocketOptions {
  path?: string;
  /** Sec-WebSocket-Version; default '13'. */
  version?: string;
  /** Offered subprotocols (Sec-WebSocket-Protocol). */
  protocols?: string[];
  /** Offer permessage-deflate (client_max_window_bits) and wire it if the server accepts. */
  perMessageDeflate?: boolean;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Client-side maxPayload; default 0 (none). */
  maxPayload?: number;
  /** Answer pings (default true). */
  autoPong?: boolean;
  /** false: leave the accepted stream bare (no ws framing), for clients that misbehave. */
  attach?: boolean;
  closeTimeout?: number;
  timeoutMs?: number;
}

export interface H2WebSocketResult {
  readonly stream: http2.ClientHttp2Stream;
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  /** Present when the server answered :status 200. */
  readonly ws: WebSocket | undefined;
  /** Every message `ws` received, recorded from the moment it opened. */
  readonly inbox: WsInbox | undefined;
  /** The response body, read to its end, when the server answered anything else. */
  readonly body: Buffer | undefined;
}

/** Opens an RFC 8441 WebSocket stream on `session`. */
export async function openH2WebSocket(session: http2.ClientHttp2Session, options: H2WebSocketOptions = {}): Promise<H2WebSocketResult> {
  const remote = session.remoteSettings as http2.Settings & { enableConnectProtocol?: boolean };
  if (remote.enableConnectProtocol !== true) throw new Error('the server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL');
  const url = origins.get(session);
  if (url === undefined) throw new Error('openH2WebSocket: use a session from connectH2()');
  const tls = url.protocol === 'https:';
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':path': options.path ?? '/ws',
    ':scheme': tls ? 'https' : 'http',
    ':authority': url.host,
    'sec-websocket-version': options.version ?? '13',
    ...options.headers,
  };
  if (options.protocols?.length) headers['sec-websocket-protocol'] = options.protocols.join(', ');
  if (options.perMessageDeflate) headers['sec-websocket-extensions'] = 'permessage-deflate; client_max_window_bits';
  const maxPayload = options.maxPayload ?? 0;
  const stream = session.request(headers, { endStream: false });
  stream.on('error', () => {});
  const timeoutMs = options.timeoutMs ?? 5000;
  const response = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no response to the extended CONNECT within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.once('response', (h) => {
      clearTimeout(timer);
      resolve(h);
    });
    stream.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`the CONNECT stream closed without a response (rstCode ${stream.rstCode})`));
    });
  });
  const status = Number(response[':status']);
  if (status !== 200) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
    });
    return { stream, status, headers: response, ws: undefined, inbox: undefined, body: Buffer.concat(chunks) };
  }
  if (options.attach === false) return { stream, status, headers: response, ws: undefined, inbox: undefined, body: undefined };
  const ws = new (WebSocket as unknown as new (a: null, p: undefined, o: object) => WebSocket)(null, undefined, {
    autoPong: options.autoPong ?? true,
    closeTimeout: options.closeTimeout ?? 3000,
  });
  const internals = ws as unknown as {
    _isServer: boolean;
    _extensions: Record<string, unknown>;
    _protocol: string;
    setSocket(socket: unknown, head: Buffer, opts: object): void;
  };
  // A client masks its frames (RFC 6455 §5.3).
  internals._isServer = false;
  const accepted = response['sec-websocket-extensions'];
  if (options.perMessageDeflate && typeof accepted === 'string') {
    const deflate = new PerMessageDeflate({ isServer: false, maxPayload }, false, maxPayload);
    const params = extension.parse(accepted)[PerMessageDeflate.extensionName];
    if (params) {
      deflate.accept(params);
      internals._extensions = { [PerMessageDeflate.extensionName]: deflate };
    }
  }
  const protocol = response['sec-websocket-protocol'];
  if (typeof protocol === 'string') internals._protocol = protocol;
  ws.on('error', () => {});
  internals.setSocket(stream, Buffer.alloc(0), { maxPayload, allowSynchronousEvents: true });
  // Recorded at once: buffered DATA can be delivered before the caller's await resumes.
  const inbox = new WsInbox(ws);
  return { stream, status, headers: response, ws, inbox, body: undefined };
}

/** Connects, opens one WebSocket, and returns both; `close()` ends the session. */
export async function h2WebSocket(url: string, options: H2WebSocketOptions & { ca?: string | Buffer } = {}): Promise<H2WebSocketResult & { session: http2.ClientHttp2Session; close(): void }> {
  const session = await connectH2(url, options.ca);
  try {
    const result = await openH2WebSocket(session, options);
    return { ...result, session, close: () => session.destroy() };
  } catch (error) {
    session.destroy();
    throw error;
  }
}

/** Resolves with a ws client's close code and reason (rejects after `ms`). */
export function wsClosed(ws: WebSocket, ms = 5000): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) {
    const w = ws as unknown as { _closeCode: number; _closeMessage: Buffer };
    return Promise.resolve({ code: w._closeCode, reason: w._closeMessage.toString() });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the WebSocket did not close within ${ms} ms`)), ms);
    ws.once('close', (code: number, reason: Buffer) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

export interface WsReceived {
  data: Buffer;
  isBinary: boolean;
}

/**
 * Records a ws client's messages from the moment it is created (create it synchronously in
 * 'open', or messages that arrive with the handshake's response can be missed).
 */
export class WsInbox {
  readonly messages: WsReceived[] = [];
  #read = 0;
  #closed: { code: number } | undefined;
  #wake: (() => void) | undefined;

  constructor(ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.messages.push({ data, isBinary });
      this.#wake?.();
    });
    ws.once('close', (code: number) => {
      this.#closed = { code };
      this.#wake?.();
    });
  }

  /** Messages received but not yet returned by next(). */
  get pending(): number {
    return this.messages.length - this.#read;
  }

  /** The next message not yet returned (rejects after `ms` or once closed with none left). */
  next(ms = 5000): Promise<WsReceived> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.#read < this.messages.length) {
          resolve(this.messages[this.#read++]!);
          return true;
        }
        if (this.#closed) {
          reject(new Error(`the WebSocket closed (${this.#closed.code}) before a message arrived`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.#wake = undefined;
        reject(new Error(`no message within ${ms} ms`));
      }, ms);
      this.#wake = () => {
        if (check()) {
          clearTimeout(timer);
          this.#wake = undefined;
        }
      };
    });
  }
}
