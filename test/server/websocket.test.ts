/**
 * WebSockets as clients observe them: ws over HTTP/1.1 (cleartext and TLS), an RFC 8441
 * client over h2c and h2, and raw sockets for frames no well-behaved client sends. One
 * application serves every transport.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';

import type { Exchange } from '../../src/interface/exchange.ts';
import type { WebSocket as NgiWebSocket } from '../../src/interface/features.ts';
import type { ServerHandle } from '../../src/server/serve.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import { startServer, testCertificate, portOf } from '../helpers/server.ts';
import { RawClient, deferred, within } from '../helpers/raw.ts';
import { connectH2, h2WebSocket, openH2WebSocket, wsClosed, WsInbox, type WsReceived } from '../helpers/ws-h2.ts';
import { frame } from '../helpers/ws-frame.ts';

const cert = testCertificate();
const KiB = 1024;
const MiB = 1024 * 1024;

type Kind = 'h1' | 'h1-tls' | 'h2c' | 'h2';
const isH2 = (kind: Kind): boolean => kind === 'h2c' || kind === 'h2';
const isTls = (kind: Kind): boolean => kind === 'h1-tls' || kind === 'h2';

interface ClientOptions {
  path?: string;
  protocols?: string[];
  perMessageDeflate?: boolean;
  maxPayload?: number;
  autoPong?: boolean;
}

/** One client-side view of a handshake, whatever the transport. */
interface Client {
  readonly kind: Kind;
  /** Set when the handshake succeeded (101 on HTTP/1.1, 200 on HTTP/2). */
  readonly ws: WebSocket | undefined;
  /** What `ws` received, recorded from its 'open'. */
  readonly inbox: WsInbox | undefined;
  readonly status: number;
  readonly headers: IncomingHttpHeaders | http2.IncomingHttpHeaders;
  readonly body: string;
  /** The HTTP/2 stream carrying the WebSocket. */
  readonly stream?: http2.ClientHttp2Stream;
  /** Drops the connection (idempotent). */
  close(): void;
}

/**
 * A bag of things to close whatever happens in a test. Servers are closed strictly: a
 * close() that fails or takes over 5 s (an exchange that never finished) fails the test.
 */
class Scope {
  readonly #closers: { close: () => unknown; strict: boolean }[] = [];
  add<T extends { close(): unknown }>(thing: T, strict = false): T {
    this.#closers.push({ close: () => thing.close(), strict });
    return thing;
  }
  async closeAll(): Promise<void> {
    let failure: unknown;
    for (const { close, strict } of this.#closers.reverse()) {
      try {
        await within(Promise.resolve(close()), 5000, 'closing');
      } catch (error) {
        if (strict) failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}

async function withScope<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope();
  let result: T;
  try {
    result = await fn(scope);
  } catch (error) {
    await scope.closeAll().catch(() => {});
    throw error;
  }
  await scope.closeAll();
  return result;
}

async function server(scope: Scope, app: (ex: Exchange) => void | Promise<void>, options: ServeOptions = {}): Promise<ServerHandle> {
  return scope.add(await startServer(app, { log: () => {}, ...options }), true);
}

function openH1(url: string, kind: Kind, options: ClientOptions): Promise<Client> {
  const target = url.replace(/^http/, 'ws') + (options.path ?? '/ws');
  const ws = new WebSocket(target, options.protocols ?? [], {
    ...(isTls(kind) ? { ca: cert.cert } : {}),
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxPayload: options.maxPayload ?? 0,
    autoPong: options.autoPong ?? true,
    handshakeTimeout: 5000,
    closeTimeout: 3000,
  } as WebSocket.ClientOptions);
  return new Promise((resolve, reject) => {
    let headers: IncomingHttpHeaders = {};
    ws.once('upgrade', (res) => (headers = res.headers));
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => {});
      const inbox = new WsInbox(ws);
      resolve({ kind, ws, inbox, status: 101, headers, body: '', close: () => ws.terminate() });
    });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.once('end', () => {
        req.destroy();
        resolve({ kind, ws: undefined, inbox: undefined, status: res.statusCode ?? 0, headers: res.headers, body, close: () => req.destroy() });
      });
    });
    ws.once('error', reject);
  });
}

async function open(scope: Scope, srv: ServerHandle, kind: Kind, options: ClientOptions = {}): Promise<Client> {
  if (!isH2(kind)) return scope.add(await openH1(srv.url, kind, options));
  const r = await h2WebSocket(srv.url, { ...options, ...(isTls(kind) ? { ca: cert.cert } : {}) });
  scope.add(r);
  return { kind, ws: r.ws, inbox: r.inbox, status: r.status, headers: r.headers, body: r.body?.toString('utf8') ?? '', stream: r.stream, close: r.close };
}

/** Sends one message and returns the next one the client receives. */
async function roundTrip(client: Client, data: string | Buffer): Promise<WsReceived> {
  client.ws!.send(data, { binary: typeof data !== 'string' });
  return client.inbox!.next();
}

/** Polls `condition` every 10 ms; rejects after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1 WebSocket frames
// ---------------------------------------------------------------------------------------

const HANDSHAKE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function handshake(path: string, extra: Record<string, string> = {}, method = 'GET'): string {
  const fields: Record<string, string> = {
    host: '127.0.0.1',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': HANDSHAKE_KEY,
    'sec-websocket-version': '13',
    ...extra,
  };
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(fields)) if (value !== '') head += `${name}: ${value}\r\n`;
  return head + '\r\n';
}

interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

function parseFrames(data: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (at + 2 <= data.length) {
    const opcode = data[at]! & 0x0f;
    let length = data[at + 1]! & 0x7f;
    let pos = at + 2;
    if (length === 126) {
      if (pos + 2 > data.length) break;
      length = data.readUInt16BE(pos);
      pos += 2;
    } else if (length === 127) {
      if (pos + 8 > data.length) break;
      length = Number(data.readBigUInt64BE(pos));
      pos += 8;
    }
    if (pos + length > data.length) break;
    frames.push({ opcode, payload: data.subarray(pos, pos + length) });
    at = pos + length;
  }
  return frames;
}

/** A raw connection upgraded to WebSocket; `frames()` parses what the server sent after the 101. */
async function rawUpgrade(scope: Scope, port: number, path = '/ws'): Promise<{ raw: RawClient; frames(): ServerFrame[] }> {
  const raw = await RawClient.connect(port);
  scope.add({ close: () => raw.destroy() });
  raw.write(handshake(path));
  await raw.until((text) => text.includes('\r\n\r\n'));
  assert.match(raw.text, /^HTTP\/1\.1 101 /);
  const frames = (): ServerFrame[] => parseFrames(raw.data.subarray(raw.data.indexOf('\r\n\r\n') + 4));
  return { raw, frames };
}

/** Waits for the server's Close frame on a raw connection and returns its code. */
async function rawCloseCode(raw: RawClient, frames: () => ServerFrame[]): Promise<number> {
  const closeFrame = (): ServerFrame | undefined => frames().find((f) => f.opcode === 0x8);
  await raw.until(() => closeFrame() !== undefined).catch(() => {});
  const close = closeFrame();
  assert.ok(close, `no Close frame from the server; got ${JSON.stringify(raw.text)}`);
  return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
}

// ---------------------------------------------------------------------------------------
// 1. One application, every transport
// ---------------------------------------------------------------------------------------

interface Seen {
  transport: string;
  protocol: string;
  subprotocols: readonly string[];
  path: string;
  acceptError?: string | undefined;
}

function echoApp(seen: Seen[]): (ex: Exchange) => Promise<void> {
  return async (ex) => {
    const feature = ex.features.websocket;
    if (!feature) return ex.response.send(200, { 'content-type': 'text/plain' }, 'not a websocket\n');
    const record: Seen = { transport: feature.transport, protocol: ex.protocol, subprotocols: [...feature.subprotocols], path: ex.request.path };
    seen.push(record);
    if (ex.request.path === '/deny') {
      return ex.response.send(403, { 'content-type': 'text/plain', 'x-denied': 'yes' }, 'no websockets for you\n');
    }
    if (ex.request.path === '/bad-subprotocol') {
      try {
        await feature.accept({ subprotocol: 'never-offered' });
      } catch (error) {
        record.acceptError = (error as { code?: string }).code;
      }
      // The handshake is still unanswered: the application can deny it.
      return ex.response.send(409, { 'content-type': 'text/plain' }, `${record.acceptError}\n`);
    }
    const ws = await feature.accept({ subprotocol: feature.subprotocols[1] ?? '', headers: { 'x-extra': 'accepted' } });
    for await (const message of ws) await ws.send(message.data);
  };
}

const PROTOCOL: Record<Kind, string> = { h1: 'http/1.1', 'h1-tls': 'http/1.1', h2c: 'h2c', h2: 'h2' };
const TRANSPORT: Record<Kind, string> = { h1: 'http/1.1', 'h1-tls': 'http/1.1', h2c: 'h2', h2: 'h2' };

describe('one application over HTTP/1.1, HTTP/1.1+TLS, h2c and h2', () => {
  for (const kind of ['h1', 'h1-tls', 'h2c', 'h2'] as const) {
    it(`${kind}: echo, subprotocol, extra headers, denial and a bad accept()`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const seen: Seen[] = [];
        const srv = await server(scope, echoApp(seen), isTls(kind) ? { tls: cert } : {});
        assert.equal(srv.url.startsWith('https:'), isTls(kind));

        // Echo, subprotocol and extra fields.
        const client = await open(scope, srv, kind, { path: '/echo', protocols: ['chat.v1', 'chat.v2'] });
        assert.equal(client.status, isH2(kind) ? 200 : 101);
        const ws = client.ws!;
        assert.equal(client.headers['sec-websocket-protocol'], 'chat.v2');
        assert.equal(ws.protocol, 'chat.v2');
        assert.equal(client.headers['x-extra'], 'accepted');
        if (isH2(kind)) assert.equal(client.headers['sec-websocket-accept'], undefined, 'RFC 8441: no Sec-WebSocket-Accept');

        const text = await roundTrip(client, 'héllo, wörld');
        assert.equal(text.isBinary, false);
        assert.equal(text.data.toString('utf8'), 'héllo, wörld');
        const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x7f]);
        const binary = await roundTrip(client, bytes);
        assert.equal(binary.isBinary, true);
        assert.deepEqual(Buffer.from(binary.data), bytes);
        const big = Buffer.alloc(200 * KiB, 7);
        const bigReply = await roundTrip(client, big);
        assert.equal(bigReply.isBinary, true);
        assert.ok(Buffer.from(bigReply.data).equals(big));

        assert.equal(seen.length, 1);
        assert.deepEqual(seen[0], { transport: TRANSPORT[kind], protocol: PROTOCOL[kind], subprotocols: ['chat.v1', 'chat.v2'], path: '/echo' });

        ws.close(1000, 'done');
        assert.deepEqual(await wsClosed(ws), { code: 1000, reason: 'done' });

        // Denial: an ordinary response reaches the client.
        const denied = await open(scope, srv, kind, { path: '/deny' });
        assert.equal(denied.ws, undefined);
        assert.equal(denied.status, 403);
        assert.equal(denied.headers['x-denied'], 'yes');
        assert.equal(denied.body, 'no websockets for you\n');

        // accept() with a subprotocol the client did not offer rejects; the app then denies.
        const bad = await open(scope, srv, kind, { path: '/bad-subprotocol', protocols: ['a', 'b'] });
        assert.equal(bad.ws, undefined);
        assert.equal(bad.status, 409);
        assert.equal(bad.body, 'NGI_ERR_INVALID_OPTION\n');
        assert.equal(seen.at(-1)?.acceptError, 'NGI_ERR_INVALID_OPTION');
        assert.equal(seen.length, 3);
      }),
    );
  }
});

// ---------------------------------------------------------------------------------------
// 2. Handshake errors before the application runs
// ---------------------------------------------------------------------------------------

describe('handshake errors are answered before the application runs', () => {
  it('HTTP/1.1: bad or missing key 400, version 8 426, POST 405', { timeout: 15_000 }, () =>
    withScope(async (scope) => {
      let calls = 0;
      const srv = await server(scope, async (ex) => {
        calls++;
        await ex.response.send(200, {}, 'app');
      });
      const cases: { name: string; request: string; status: number; check?: (r: RawClient) => void }[] = [
        { name: 'missing key', request: handshake('/ws', { 'sec-websocket-key': '' }), status: 400 },
        { name: 'short key', request: handshake('/ws', { 'sec-websocket-key': 'c2hvcnQ=' }), status: 400 },
        { name: 'not base64', request: handshake('/ws', { 'sec-websocket-key': '!!!!!!!!!!!!!!!!!!!!!!==' }), status: 400 },
        { name: 'version 8', request: handshake('/ws', { 'sec-websocket-version': '8' }), status: 426 },
        { name: 'POST', request: handshake('/ws', {}, 'POST'), status: 405 },
      ];
      for (const c of cases) {
        const raw = await RawClient.connect(portOf(srv.url));
        scope.add({ close: () => raw.destroy() });
        raw.write(c.request);
        const [response] = await raw.responses(1);
        assert.equal(response!.status, c.status, `${c.name}: ${raw.text}`);
        assert.doesNotMatch(raw.text, /^HTTP\/1\.1 101/, c.name);
        if (c.status === 426) assert.equal(response!.get('sec-websocket-version'), '13');
        if (c.status === 405) assert.equal(response!.get('allow'), 'GET');
        await raw.waitClosed();
      }
      assert.equal(calls, 0, 'the application was called');
    }),
  );

  it('HTTP/2: an extended CONNECT with version 8 gets 426 with sec-websocket-version: 13', { timeout: 15_000 }, () =>
    withScope(async (scope) => {
      let calls = 0;
      const srv = await server(scope, async (ex) => {
        calls++;
        const ws = await ex.features.websocket!.accept();
        await ws.send('welcome');
        await ws.closed;
      });
      const session = scope.add(await connectH2(srv.url));
      const r = await openH2WebSocket(session, { version: '8' });
      assert.equal(r.status, 426);
      assert.equal(r.headers['sec-websocket-version'], '13');
      assert.equal(r.ws, undefined);
      assert.equal(calls, 0, 'the application was called');
      // The session lives on: a good handshake on the same connection reaches the app.
      const ok = await openH2WebSocket(session, {});
      assert.equal(ok.status, 200);
      assert.equal((await ok.inbox!.next()).data.toString(), 'welcome');
      assert.equal(calls, 1);
      ok.ws!.close();
      await wsClosed(ok.ws!);
    }),
  );
});

// ---------------------------------------------------------------------------------------
// 3. Close semantics
// ---------------------------------------------------------------------------------------

describe('close semantics', () => {
  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: client close, app close, handler return and handler throw`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const clientClose = deferred<{ closed: unknown; iterationEnded: boolean; messages: string[] }>();
        const appClose = deferred<unknown>();
        const logs: string[] = [];
        const srv = await server(
          scope,
          async (ex) => {
            const ws = await ex.features.websocket!.accept();
            switch (ex.request.path) {
              case '/client-closes': {
                const messages: string[] = [];
                for await (const m of ws) messages.push(m.data as string);
                clientClose.resolve({ closed: await ws.closed, iterationEnded: true, messages });
                return;
              }
              case '/app-closes':
                await ws.send('before close');
                appClose.resolve(await ws.close(4002, 'app says bye'));
                return;
              case '/returns':
                await ws.send('returning');
                return;
              case '/throws':
                await ws.send('throwing');
                throw new Error('boom after accept');
            }
          },
          { log: (line) => logs.push(line) },
        );

        const a = await open(scope, srv, kind, { path: '/client-closes' });
        a.ws!.send('one');
        a.ws!.send('two');
        a.ws!.close(4001, 'bye');
        const seenByApp = await within(clientClose.promise, 5000, 'the app seeing the close');
        assert.deepEqual(seenByApp, { closed: { code: 4001, reason: 'bye' }, iterationEnded: true, messages: ['one', 'two'] });
        assert.deepEqual(await wsClosed(a.ws!), { code: 4001, reason: 'bye' });

        const b = await open(scope, srv, kind, { path: '/app-closes' });
        const bClosed = wsClosed(b.ws!);
        assert.deepEqual(await bClosed, { code: 4002, reason: 'app says bye' });
        // ws echoes the code; the app's close() resolves with the peer's Close.
        assert.deepEqual(await within(appClose.promise, 5000, 'close() resolving'), { code: 4002, reason: 'app says bye' });

        const c = await open(scope, srv, kind, { path: '/returns' });
        const cClosed = wsClosed(c.ws!);
        assert.equal((await c.inbox!.next()).data.toString(), 'returning');
        assert.equal((await cClosed).code, 1000);

        const d = await open(scope, srv, kind, { path: '/throws' });
        const dClosed = wsClosed(d.ws!);
        assert.equal((await d.inbox!.next()).data.toString(), 'throwing');
        assert.equal((await dClosed).code, 1011);
        assert.ok(logs.some((l) => l.includes('boom after accept')), `the failure is logged: ${logs.join('\n')}`);
      }),
    );
  }
});

// ---------------------------------------------------------------------------------------
// 4. Limits
// ---------------------------------------------------------------------------------------

/** Accepts and echoes; records how each WebSocket ended. */
function echoRecording(closes: unknown[]): (ex: Exchange) => Promise<void> {
  return async (ex) => {
    const ws = await ex.features.websocket!.accept();
    for await (const m of ws) await ws.send(m.data);
    closes.push(await ws.closed);
  };
}

/**
 * The application's `closed` after the server failed the connection with `sent`: ws never
 * reads the peer's answering Close then, so RFC 6455 §7.1.5 makes it 1006; reporting the code
 * the server sent would be as good.
 */
function assertFailed(code: number, sent: number): void {
  assert.ok(code === 1006 || code === sent, `the application saw close ${code} (expected 1006 or ${sent})`);
}

describe('limits', () => {
  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: a message over maxMessageSize closes with 1009`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const closes: unknown[] = [];
        const srv = await server(scope, echoRecording(closes), { websocket: { maxMessageSize: 64 * KiB } });
        const client = await open(scope, srv, kind);
        // At the limit is fine.
        assert.equal((await roundTrip(client, Buffer.alloc(64 * KiB))).data.length, 64 * KiB);
        const closed = wsClosed(client.ws!);
        client.ws!.send(Buffer.alloc(64 * KiB + 1));
        assert.equal((await closed).code, 1009);
        await until(() => closes.length === 1, 3000, 'the app to see the close');
        assertFailed((closes[0] as { code: number }).code, 1009);
      }),
    );
  }

  it('h1 raw: invalid UTF-8 in a text frame closes with 1007', { timeout: 15_000 }, () =>
    withScope(async (scope) => {
      const closes: unknown[] = [];
      const srv = await server(scope, echoRecording(closes));
      const { raw, frames } = await rawUpgrade(scope, portOf(srv.url));
      // A valid message first: the connection works, and the echo comes back unmasked.
      raw.write(frame(0x1, Buffer.from('ok')));
      await raw.until(() => frames().some((f) => f.opcode === 0x1));
      assert.equal(frames()[0]!.payload.toString(), 'ok');
      raw.write(frame(0x1, Buffer.from([0x68, 0x69, 0xff, 0xfe])));
      assert.equal(await rawCloseCode(raw, frames), 1007);
      await raw.waitClosed();
      await until(() => closes.length === 1, 3000, 'the app to see the close');
      assertFailed((closes[0] as { code: number }).code, 1007);
    }),
  );

  for (const [name, bytes] of [
    ['an unmasked client frame', frame(0x1, Buffer.from('hi'), { mask: false })],
    ['a reserved opcode (0x3)', frame(0x3, Buffer.from('hi'))],
    ['a fragmented control frame', frame(0x9, Buffer.from('hi'), { fin: false })],
  ] as const) {
    it(`h1 raw: ${name} closes with 1002`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const closes: unknown[] = [];
        const srv = await server(scope, echoRecording(closes));
        const { raw, frames } = await rawUpgrade(scope, portOf(srv.url));
        raw.write(bytes);
        assert.equal(await rawCloseCode(raw, frames), 1002);
        await raw.waitClosed();
        await until(() => closes.length === 1, 3000, 'the app to see the close');
        assertFailed((closes[0] as { code: number }).code, 1002);
      }),
    );
  }

  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: with pingInterval 200 a client that does not answer pings is dropped; one that does stays`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const closes: { code: number }[] = [];
        const srv = await server(
          scope,
          async (ex) => {
            const ws = await ex.features.websocket!.accept();
            for await (const m of ws) await ws.send(m.data);
            closes.push(await ws.closed);
          },
          { websocket: { pingInterval: 200 } },
        );
        const silent = await open(scope, srv, kind, { autoPong: false });
        const healthy = await open(scope, srv, kind, { autoPong: true });
        let pings = 0;
        silent.ws!.on('ping', () => pings++);
        const openedAt = Date.now();
        const silentClosed = wsClosed(silent.ws!, 3000);
        const dropped = await silentClosed;
        const after = Date.now() - openedAt;
        assert.equal(dropped.code, 1006, 'dropped without a closing handshake');
        assert.ok(pings >= 1, 'the server pinged');
        assert.ok(after < 1000, `dropped after ${after} ms`);
        // Over the same period (and more) the answering client stays connected and usable.
        await sleep(Math.max(0, 1200 - after));
        assert.equal(healthy.ws!.readyState, WebSocket.OPEN);
        assert.equal((await roundTrip(healthy, 'still here')).data.toString(), 'still here');
        assert.deepEqual(closes.map((c) => c.code), [1006]);
      }),
    );
  }
});

// ---------------------------------------------------------------------------------------
// 5. Backpressure
// ---------------------------------------------------------------------------------------

describe('backpressure', () => {
  for (const [kind, reader] of [
    ['h1', 'iteration'],
    ['h2c', 'iteration'],
    ['h1', 'receive()'],
    ['h2c', 'receive()'],
  ] as const) {
    it(`${kind}: an application that does not read holds the client back (${reader})`, { timeout: 30_000 }, () =>
      withScope(async (scope) => {
        const MESSAGE = 64 * KiB;
        const COUNT = 1024; // 64 MiB
        const release = deferred<void>();
        const srv = await server(scope, async (ex) => {
          const ws = await ex.features.websocket!.accept();
          let messages = 0;
          let bytes = 0;
          if (reader === 'receive()') {
            // The first message's handler holds every later one back until the release.
            await ws.receive(async (m) => {
              await release.promise;
              messages++;
              bytes += m.type === 'binary' ? m.data.length : Buffer.byteLength(m.data);
              if (messages === COUNT) await ws.send(`${messages}:${bytes}`);
            });
            return;
          }
          await release.promise;
          for await (const m of ws) {
            messages++;
            bytes += m.type === 'binary' ? m.data.length : Buffer.byteLength(m.data);
            if (messages === COUNT) break;
          }
          await ws.send(`${messages}:${bytes}`);
          await ws.closed;
        });
        const client = await open(scope, srv, kind);
        const ws = client.ws!;
        const payload = Buffer.alloc(MESSAGE, 0x61);
        // A well-behaved sender: the next message once the transport took the previous one.
        // (Queuing all 64 MiB at once would say nothing: node hands a socket's whole queue to
        // one writev, so bufferedAmount and the send callbacks stay put until all of it is
        // written, whether the server reads or not.)
        let sent = 0;
        const sender = (async () => {
          for (let i = 0; i < COUNT; i++) {
            await new Promise<void>((resolve, reject) => ws.send(payload, (error) => (error ? reject(error) : resolve())));
            sent++;
          }
        })();
        sender.catch(() => {});
        // Until the sender stops moving (a slow machine takes longer to fill the buffers on
        // the way), bounded: the assertions below then say how far it got.
        await sleep(1500);
        let stalledAt = sent;
        for (let waited = 0; waited < 10_000; waited += 300) {
          await sleep(300);
          if (sent === stalledAt) break;
          stalledAt = sent;
        }
        await sleep(300);
        assert.equal(sent, stalledAt, 'the client makes no progress while the application sleeps');
        // Taken so far: the server's 1 MiB queue plus socket buffers (or the stream window).
        assert.ok(stalledAt < COUNT / 4, `${stalledAt} of ${COUNT} messages (${((stalledAt * MESSAGE) / MiB).toFixed(1)} MiB) left the client while the application slept`);
        const transport = kind === 'h1' ? (ws as unknown as { _socket: { writableLength: number } })._socket : client.stream!;
        assert.ok(transport.writableLength >= MESSAGE, `the client holds the pending message (writableLength ${transport.writableLength})`);
        assert.ok(ws.bufferedAmount >= MESSAGE, `bufferedAmount ${ws.bufferedAmount}`);

        const reply = client.inbox!.next(20_000);
        release.resolve();
        assert.equal((await reply).data.toString(), `${COUNT}:${COUNT * MESSAGE}`);
        await within(sender, 5000, 'the client to finish sending');
        assert.equal(sent, COUNT);
        assert.equal(ws.bufferedAmount, 0);
        ws.close();
        assert.equal((await wsClosed(ws)).code, 1005);
      }),
    );
  }

  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: send() stalls for a client that does not read`, { timeout: 30_000 }, () =>
      withScope(async (scope) => {
        const MESSAGE = 64 * KiB;
        const COUNT = 1024; // 64 MiB
        let completed = 0;
        let serverSocket: NgiWebSocket | undefined;
        const done = deferred<void>();
        const srv = await server(scope, async (ex) => {
          const ws = await ex.features.websocket!.accept();
          serverSocket = ws;
          const payload = new Uint8Array(MESSAGE);
          for (let i = 0; i < COUNT; i++) {
            await ws.send(payload);
            completed++;
          }
          done.resolve();
          await ws.closed;
        });
        const client = await open(scope, srv, kind);
        const ws = client.ws!;
        const transport = kind === 'h1' ? (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket : client.stream!;
        transport.pause();
        let received = 0;
        let receivedBytes = 0;
        ws.on('message', (data: Buffer) => {
          received++;
          receivedBytes += data.length;
        });
        await sleep(1000);
        const stalledAt = completed;
        await sleep(300);
        assert.equal(completed, stalledAt, 'no send() completes while the client does not read');
        assert.ok(stalledAt < COUNT / 4, `${stalledAt} of ${COUNT} sends (${((stalledAt * MESSAGE) / MiB).toFixed(1)} MiB) completed while the client was paused`);
        assert.ok(serverSocket!.bufferedAmount > 0, 'the pending send is counted in bufferedAmount');
        transport.resume();
        await within(done.promise, 20_000, 'every send() to complete');
        await until(() => received === COUNT, 10_000, 'the client to receive everything');
        assert.equal(receivedBytes, COUNT * MESSAGE);
        assert.equal(serverSocket!.bufferedAmount, 0);
        ws.close(1000);
        assert.equal((await wsClosed(ws)).code, 1000);
      }),
    );
  }
});

// ---------------------------------------------------------------------------------------
// 6. permessage-deflate
// ---------------------------------------------------------------------------------------

describe('permessage-deflate', () => {
  const compressible = 'All work and no play makes Jack a dull boy. '.repeat(Math.ceil(MiB / 44)).slice(0, MiB);

  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: negotiated when enabled; a compressible 1 MiB text echoes`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const srv = await server(scope, echoRecording([]), { websocket: { perMessageDeflate: true } });
        const client = await open(scope, srv, kind, { perMessageDeflate: true });
        const header = client.headers['sec-websocket-extensions'];
        assert.equal(typeof header, 'string', 'the server answered with sec-websocket-extensions');
        assert.match(header as string, /^permessage-deflate\b/);
        assert.match(client.ws!.extensions, /permessage-deflate/);
        let wireBytes = 0;
        const transport = kind === 'h1' ? (client.ws as unknown as { _socket: NodeJS.ReadableStream })._socket : client.stream!;
        transport.on('data', (chunk: Buffer) => (wireBytes += chunk.length));
        const reply = await roundTrip(client, compressible);
        assert.equal(reply.isBinary, false);
        assert.equal(reply.data.toString(), compressible);
        assert.ok(wireBytes < MiB / 10, `the echo came back compressed (${wireBytes} bytes on the wire)`);
      }),
    );

    it(`${kind}: not negotiated when the option is off`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const srv = await server(scope, echoRecording([]));
        const client = await open(scope, srv, kind, { perMessageDeflate: true });
        assert.equal(client.headers['sec-websocket-extensions'], undefined);
        assert.equal(client.ws!.extensions, '');
        assert.equal((await roundTrip(client, compressible)).data.toString(), compressible);
      }),
    );

    it(`${kind}: limits apply after decompression (1009)`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const closes: { code: number }[] = [];
        const srv = await server(scope, echoRecording(closes as unknown[]), { websocket: { perMessageDeflate: true, maxMessageSize: 256 * KiB } });
        const client = await open(scope, srv, kind, { perMessageDeflate: true });
        assert.match(client.ws!.extensions, /permessage-deflate/);
        const closed = wsClosed(client.ws!);
        let sentBytes = 0;
        const transport = kind === 'h1' ? (client.ws as unknown as { _socket: { write(...args: unknown[]): boolean } })._socket : (client.stream! as unknown as { write(...args: unknown[]): boolean });
        const write = transport.write.bind(transport);
        transport.write = (chunk: Buffer, ...rest: unknown[]) => {
          sentBytes += chunk.length;
          return write(chunk, ...rest);
        };
        // 1 MiB that deflates to a few KiB: well under the limit on the wire, over it inflated.
        client.ws!.send(Buffer.alloc(MiB, 0x61), { binary: true, compress: true });
        assert.equal((await closed).code, 1009);
        assert.ok(sentBytes < 256 * KiB, `the compressed message was ${sentBytes} bytes on the wire`);
        await until(() => closes.length === 1, 3000, 'the app to see the close');
        assertFailed(closes[0]!.code, 1009);
      }),
    );
  }
});

// ---------------------------------------------------------------------------------------
// 7. receive(): the callback way to read
// ---------------------------------------------------------------------------------------

/** Sends each message and collects `count` replies as text. */
async function replies(client: Client, messages: string[], count: number): Promise<string[]> {
  for (const m of messages) client.ws!.send(m);
  const got: string[] = [];
  while (got.length < count) got.push((await client.inbox!.next()).data.toString('utf8'));
  return got;
}

describe('receive()', () => {
  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: messages in order, one handler at a time, those that came before receive() first; resolves with the peer's close`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const gate = deferred<void>();
        const outcome = deferred<{ handled: string[]; maxActive: number; calledInsideReceive: boolean; closed: unknown; sameAsClosed: boolean }>();
        const srv = await server(scope, async (ex) => {
          const ws = await ex.features.websocket!.accept();
          await ws.send('accepted');
          await gate.promise;
          const handled: string[] = [];
          let active = 0;
          let maxActive = 0;
          let returned = false;
          let calledInsideReceive = false;
          const done = ws.receive((m) => {
            if (!returned) calledInsideReceive = true;
            const text = m.data as string;
            handled.push(text);
            active++;
            maxActive = Math.max(maxActive, active);
            if (!text.startsWith('slow')) {
              active--;
              return ws.send(`echo ${text}`);
            }
            // A pending promise: the next message must wait for it.
            return sleep(200).then(() => {
              active--;
              return ws.send(`echo ${text}`);
            });
          });
          returned = true;
          const closed = await done;
          outcome.resolve({ handled, maxActive, calledInsideReceive, closed, sameAsClosed: closed === (await ws.closed) });
        });
        const client = await open(scope, srv, kind);
        assert.equal((await client.inbox!.next()).data.toString(), 'accepted');
        // These arrive while the application has not called receive() yet: they queue.
        for (const m of ['a', 'b', 'c']) client.ws!.send(m);
        await sleep(100);
        gate.resolve();
        const got = await replies(client, ['slow 1', 'd', 'slow 2', 'e'], 7);
        assert.deepEqual(got, ['a', 'b', 'c', 'slow 1', 'd', 'slow 2', 'e'].map((m) => `echo ${m}`));
        client.ws!.close(4001, 'bye');
        const seen = await within(outcome.promise, 5000, 'receive() to resolve');
        assert.deepEqual(seen.handled, ['a', 'b', 'c', 'slow 1', 'd', 'slow 2', 'e']);
        assert.equal(seen.maxActive, 1, 'the handler never runs while a promise it returned is pending');
        assert.equal(seen.calledInsideReceive, false, 'queued messages are handled after receive() returned');
        assert.deepEqual(seen.closed, { code: 4001, reason: 'bye' });
        assert.equal(seen.sameAsClosed, true);
        assert.deepEqual(await wsClosed(client.ws!), { code: 4001, reason: 'bye' });
      }),
    );

    it(`${kind}: a handler that throws or rejects stops delivery and rejects receive(); rethrown, the peer gets 1011`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const logs: string[] = [];
        const srv = await server(
          scope,
          async (ex) => {
            const ws = await ex.features.websocket!.accept();
            const mode = ex.request.path.slice(1);
            const handler = (m: { data: string | Uint8Array }): void | Promise<void> => {
              if (m.data !== 'bad') return ws.send(`echo ${String(m.data)}`);
              if (mode === 'sync') throw new Error('bad message (sync)');
              return Promise.reject(new Error(`bad message (${mode})`));
            };
            if (mode === 'rethrow') {
              await ws.receive(handler);
              return;
            }
            try {
              await ws.receive(handler);
              await ws.send('receive() resolved');
            } catch (error) {
              // The WebSocket is still open: the application answers and chooses the code.
              await ws.send(`caught: ${(error as Error).message}`);
              await ws.close(4400, 'bad input');
            }
          },
          { log: (line) => logs.push(line) },
        );
        for (const mode of ['sync', 'async']) {
          const client = await open(scope, srv, kind, { path: `/${mode}` });
          const closed = wsClosed(client.ws!);
          const got = await replies(client, ['ok', 'bad', 'after'], 2);
          assert.deepEqual(got, ['echo ok', `caught: bad message (${mode})`]);
          assert.deepEqual(await closed, { code: 4400, reason: 'bad input' });
          assert.equal(client.inbox!.pending, 0, `nothing was handled after the failure: ${mode}`);
        }
        const client = await open(scope, srv, kind, { path: '/rethrow' });
        const closed = wsClosed(client.ws!);
        assert.deepEqual(await replies(client, ['ok', 'bad'], 1), ['echo ok']);
        assert.equal((await closed).code, 1011);
        assert.ok(logs.some((l) => l.includes('bad message (rethrow)')), `the failure is logged: ${logs.join('\n')}`);
      }),
    );
  }

  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: a peer that leaves while a send() waits for the transport fails receive() with NGI_ERR_STREAM_CLOSED, which is not logged as an application error`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const logs: string[] = [];
        const failure = deferred<string | undefined>();
        const sending = deferred<void>();
        const srv = await server(
          scope,
          async (ex) => {
            const ws = await ex.features.websocket!.accept();
            const big = new Uint8Array(4 * MiB);
            try {
              // Each message is answered with 4 MiB: more than the transport takes at once.
              await ws.receive(() => {
                const sent = ws.send(big);
                sending.resolve();
                return sent;
              });
              failure.resolve('resolved');
            } catch (error) {
              failure.resolve((error as { code?: string }).code);
              throw error;
            }
          },
          { log: (line) => logs.push(line) },
        );
        const client = await open(scope, srv, kind);
        const transport = kind === 'h1' ? (client.ws as unknown as { _socket: { pause(): void } })._socket : client.stream!;
        transport.pause();
        client.ws!.send('go');
        await within(sending.promise, 5000, 'the server to start sending');
        await sleep(50);
        client.close();
        assert.equal(await within(failure.promise, 5000, 'receive() to settle'), 'NGI_ERR_STREAM_CLOSED');
        await sleep(200);
        assert.deepEqual(logs.filter((l) => l.includes('application error')), []);
      }),
    );
  }

  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: after a failure under a flood the closing handshake still completes (messages discarded, reading resumed): receive()'s catch and a handler that returns with messages unread`, { timeout: 20_000 }, () =>
      withScope(async (scope) => {
        const outcomes: Record<string, unknown> = {};
        const done = { receive: deferred<void>(), returns: deferred<void>() };
        const srv = await server(
          scope,
          async (ex) => {
            const ws = await ex.features.websocket!.accept();
            const started = Date.now();
            if (ex.request.path === '/receive') {
              try {
                // The first message holds the rest back until the queue is over its limit and reading pauses.
                await ws.receive(() => sleep(300).then(() => Promise.reject(new Error('stop'))));
              } catch {
                outcomes.receive = { closed: await ws.close(4400, 'bad input'), ms: Date.now() - started };
                done.receive.resolve();
              }
              return;
            }
            // Reads one message, then returns with the rest queued and reading paused.
            for await (const m of ws) {
              void m;
              await sleep(300);
              break;
            }
            void ws.closed.then((closed) => {
              outcomes.returns = { closed, ms: Date.now() - started };
              done.returns.resolve();
            });
          },
          { websocket: { maxQueuedBytes: 64 * KiB, closeTimeout: 4000 } },
        );
        for (const path of ['/receive', '/returns'] as const) {
          const client = await open(scope, srv, kind, { path });
          const closed = wsClosed(client.ws!, 10_000);
          const chunk = Buffer.alloc(16 * KiB, 0x62);
          for (let i = 0; i < 64; i++) client.ws!.send(chunk);
          const expected = path === '/receive' ? { code: 4400, reason: 'bad input' } : { code: 1000, reason: '' };
          assert.deepEqual(await closed, expected);
          await within(done[path === '/receive' ? 'receive' : 'returns'].promise, 10_000, 'the server to see the close');
          const outcome = outcomes[path.slice(1)] as { closed: unknown; ms: number };
          // The peer's answering Close was read: its code, well before closeTimeout (then 1006).
          assert.deepEqual(outcome.closed, expected);
          assert.ok(outcome.ms < 3000, `${path}: the closing handshake took until ${outcome.ms} ms`);
        }
      }),
    );
  }

  it('iteration first: receive() is refused with NGI_ERR_BODY_CONSUMED, the iteration keeps working', { timeout: 15_000 }, () =>
    withScope(async (scope) => {
      const refusal = deferred<string | undefined>();
      const srv = await server(scope, async (ex) => {
        const ws = await ex.features.websocket!.accept();
        const iterator = ws[Symbol.asyncIterator]();
        refusal.resolve(await ws.receive(() => {}).then(() => 'resolved', (error: unknown) => (error as { code?: string }).code));
        const first = await iterator.next();
        await ws.send(`iterated ${String(first.value?.data)}`);
        await ws.closed;
      });
      const client = await open(scope, srv, 'h1');
      assert.equal(await within(refusal.promise, 5000, 'the app'), 'NGI_ERR_BODY_CONSUMED');
      assert.deepEqual(await replies(client, ['x'], 1), ['iterated x']);
      client.ws!.close();
    }),
  );

  it('receive() first: a second receive() and iteration are refused, the first keeps working; a handler that is not a function', { timeout: 15_000 }, () =>
    withScope(async (scope) => {
      const codes = deferred<Record<string, string | undefined>>();
      const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code;
      const srv = await server(scope, async (ex) => {
        const ws = await ex.features.websocket!.accept();
        const seen: Record<string, string | undefined> = {};
        seen.notAFunction = await ws.receive('nope' as never).then(() => 'resolved', codeOf);
        const done = ws.receive((m) => ws.send(`received ${String(m.data)}`));
        seen.secondReceive = await ws.receive(() => {}).then(() => 'resolved', codeOf);
        try {
          ws[Symbol.asyncIterator]();
          seen.iteration = 'allowed';
        } catch (error) {
          seen.iteration = codeOf(error);
        }
        codes.resolve(seen);
        await done;
      });
      const client = await open(scope, srv, 'h1');
      assert.deepEqual(await within(codes.promise, 5000, 'the app'), {
        notAFunction: 'NGI_ERR_INVALID_OPTION',
        secondReceive: 'NGI_ERR_BODY_CONSUMED',
        iteration: 'NGI_ERR_BODY_CONSUMED',
      });
      assert.deepEqual(await replies(client, ['y'], 1), ['received y']);
      client.ws!.close();
    }),
  );
});

// ---------------------------------------------------------------------------------------
// 8. Shutdown
// ---------------------------------------------------------------------------------------

describe('shutdown with WebSockets open', () => {
  it('close() sends 1001 on both transports, completes the handshakes and resolves', { timeout: 15_000 }, () =>
    withScope(async (scope) => {
      const closes: { code: number }[] = [];
      const srv = await startServer(echoRecording(closes as unknown[]), { log: () => {} });
      scope.add(srv);
      const h1 = await open(scope, srv, 'h1');
      const h2 = await open(scope, srv, 'h2c');
      assert.equal((await roundTrip(h1, 'x')).data.toString(), 'x');
      assert.equal((await roundTrip(h2, 'y')).data.toString(), 'y');
      const h1Closed = wsClosed(h1.ws!);
      const h2Closed = wsClosed(h2.ws!);
      const started = Date.now();
      await within(srv.close(), 5000, 'server.close()');
      const took = Date.now() - started;
      assert.deepEqual(await h1Closed, { code: 1001, reason: 'server shutting down' });
      assert.deepEqual(await h2Closed, { code: 1001, reason: 'server shutting down' });
      // The server saw the client's Close: the handshake completed (not 1006).
      assert.deepEqual(closes.map((c) => c.code).sort(), [1001, 1001]);
      assert.ok(took < 2000, `close() took ${took} ms`);
    }),
  );

  for (const kind of ['h1', 'h2c'] as const) {
    it(`${kind}: a client that never answers the Close does not hold close() past drain + closeTimeout`, { timeout: 15_000 }, () =>
      withScope(async (scope) => {
        const DRAIN = 1000;
        const CLOSE_TIMEOUT = 500;
        const closes: { code: number }[] = [];
        const srv = await startServer(echoRecording(closes as unknown[]), { log: () => {}, timeouts: { drain: DRAIN }, websocket: { closeTimeout: CLOSE_TIMEOUT } });
        scope.add(srv);
        let received: () => Buffer;
        let transportClosed: () => boolean;
        if (kind === 'h1') {
          const { raw } = await rawUpgrade(scope, portOf(srv.url));
          received = () => raw.data.subarray(raw.data.indexOf('\r\n\r\n') + 4);
          transportClosed = () => raw.isClosed;
        } else {
          const session = scope.add(await connectH2(srv.url));
          const r = await openH2WebSocket(session, { attach: false });
          assert.equal(r.status, 200);
          const chunks: Buffer[] = [];
          r.stream.on('data', (c: Buffer) => chunks.push(c));
          received = () => Buffer.concat(chunks);
          transportClosed = () => r.stream.closed || r.stream.destroyed;
        }
        await sleep(50);
        const started = Date.now();
        await within(srv.close(), DRAIN + CLOSE_TIMEOUT + 3000, 'server.close()');
        const took = Date.now() - started;
        assert.ok(took <= DRAIN + CLOSE_TIMEOUT + 1000, `close() took ${took} ms`);
        // The client was told (1001) even though it never answered.
        const close = parseFrames(received()).find((f) => f.opcode === 0x8);
        assert.ok(close, 'a Close frame reached the client');
        assert.equal(close.payload.readUInt16BE(0), 1001);
        await until(transportClosed, 2000, 'the transport to close');
        assert.deepEqual(closes.map((c) => c.code), [1006]);
      }),
    );
  }
});
