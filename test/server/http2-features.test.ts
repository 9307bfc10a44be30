/**
 * Issue 4 with real clients: server push (node:http2, nghttp, examples/webpush), 103 Early
 * Hints (curl, nghttp, undici, node:http), priority (RFC 9218 scheduling on one connection),
 * flow control for applications (setUploadRate, configurable windows), h2c Upgrade (curl
 * --http2, nghttp -u) and draining (server shutdown, client GOAWAY, the two-step GOAWAY).
 *
 * Wire-level facts come from a forwarding TCP relay on 127.0.0.1 that parses the HTTP/2
 * frames in both directions (the approach of flow-control.test.ts), or from a minimal raw
 * HTTP/2 client where a client must behave in a way node:http2 cannot be made to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request as undiciRequest } from 'undici';

import type { Exchange, FlowControlFeature, Http2PeerSettings } from '../../src/index.ts';
import { stream1Frames } from '../../src/core/h2c-upgrade.ts';
import { HTTP2_PREFACE } from '../../src/core/preface.ts';
import webpush from '../../examples/webpush/app.ts';
import { startServer, testCertificate, withServer, connectSession as connect, TEST_HTTP2_ENGINE } from '../helpers/server.ts';
import { run } from '../helpers/run.ts';
import { delay, deferred, RawClient, within } from '../helpers/raw.ts';
import { FrameReader, startRelay, type Frame } from '../helpers/h2-relay.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

// ---------------------------------------------------------------------------------------
// HTTP/2 frames on the wire

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const PRIORITY_UPDATE = 0x10;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_PADDED = 0x8;

const goawayLastStreamId = (f: Frame): number => f.payload.readUInt32BE(0) & 0x7fff_ffff;

/** SETTINGS parameters (id → value) of a non-ACK SETTINGS frame. */
function settingsOf(f: Frame): Map<number, number> {
  const out = new Map<number, number>();
  for (let at = 0; at + 6 <= f.payload.length; at += 6) out.set(f.payload.readUInt16BE(at), f.payload.readUInt32BE(at + 2));
  return out;
}

/** The promised stream id of a PUSH_PROMISE frame (RFC 9113 §6.6). */
function promisedStreamId(f: Frame): number {
  const at = f.flags & FLAG_PADDED ? 1 : 0;
  return f.payload.readUInt32BE(at) & 0x7fff_ffff;
}

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** A GET as HEADERS (END_STREAM | END_HEADERS, HPACK literals) on any client stream id. */
function getHeaders(streamId: number, requestPath: string, authority: string): Buffer {
  const bytes = Buffer.from(stream1Frames({ method: 'GET', path: requestPath, authority, fields: [], body: Buffer.alloc(0) }));
  bytes.writeUInt32BE(streamId, 5);
  return bytes;
}

// ---------------------------------------------------------------------------------------
// Clients

/** Closes a session gracefully, destroying it if that takes more than a second. */
async function closeSession(session: http2.ClientHttp2Session): Promise<void> {
  if (session.destroyed) return;
  const closed = once(session, 'close');
  session.close();
  const timer = setTimeout(() => session.destroy(), 1000);
  await closed;
  clearTimeout(timer);
}

interface H2Response {
  readonly id: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly informational: http2.IncomingHttpHeaders[];
  readonly body: Buffer;
  readonly rstCode: number | undefined;
  /** performance.now() when the stream ended. */
  readonly endedAt: number;
}

function h2get(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    const informational: http2.IncomingHttpHeaders[] = [];
    const chunks: Buffer[] = [];
    let final: http2.IncomingHttpHeaders | undefined;
    let endedAt = 0;
    stream.on('headers', (h) => informational.push(h));
    stream.on('response', (h) => (final = h));
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => (endedAt = performance.now()));
    stream.on('error', reject);
    stream.on('close', () => {
      if (final === undefined) reject(new Error(`stream closed without a response (rstCode ${stream.rstCode})`));
      else resolve({ id: stream.id!, headers: final, informational, body: Buffer.concat(chunks), rstCode: stream.rstCode, endedAt: endedAt || performance.now() });
    });
  });
}

/** One HTTP/1.1 request on its own connection. */
function h1request(url: string, options: http.RequestOptions = {}, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves once `condition()` holds; rejects after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}

interface Child {
  readonly pid: number;
  output(): string;
  readonly exited: Promise<number | null>;
  /** SIGKILL by pid if it is still running. */
  stop(): Promise<void>;
}

/** A long-running client program whose output is read while it runs. */
function startChild(command: string, args: string[]): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  child.stderr.on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    pid: child.pid!,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
  };
}

/** Indices of the regexp's matches in `text`, in order. */
function positions(text: string, re: RegExp): number[] {
  return [...text.matchAll(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'))].map((m) => m.index!);
}

// =======================================================================================
// 1. Server push

test('push: node:http2 receives a PUSH_PROMISE (:path, fields) and the pushed response on a normal request', { timeout: 15_000 }, async () => {
  const seen = deferred<{ hadPush: boolean; pushed: { method: string; path: string; query: string; headers: [string, string][] } }>();
  const app = async (ex: Exchange): Promise<void> => {
    const push = ex.features.push;
    if (ex.request.path !== '/' || !push) return ex.response.send(200, {}, push ? 'other' : 'no push');
    const pushed = await push.push({ path: '/style.css?v=1', headers: { 'x-pushed': 'yes' } });
    pushed.response.send(200, { 'content-type': 'text/css' }, 'body { color: red }');
    seen.resolve({ hadPush: true, pushed: { method: pushed.request.method, path: pushed.request.path, query: pushed.request.query, headers: [...pushed.request.headers].map(([n, v]) => [n, v]) } });
    ex.response.send(200, { 'content-type': 'text/html' }, '<link rel=stylesheet href=/style.css?v=1>');
  };
  await withServer(app, {}, async (server) => {
    const session = await connect(server.url);
    try {
      const promised = deferred<{ request: http2.IncomingHttpHeaders; response: http2.IncomingHttpHeaders; body: string }>();
      session.on('stream', (stream: http2.ClientHttp2Stream, request: http2.IncomingHttpHeaders) => {
        let response: http2.IncomingHttpHeaders = {};
        let body = '';
        stream.on('push', (h: http2.IncomingHttpHeaders) => (response = h));
        stream.setEncoding('utf8');
        stream.on('data', (d: string) => (body += d));
        stream.on('end', () => promised.resolve({ request, response, body }));
      });
      const main = await within(h2get(session, { ':path': '/' }), 5000, 'the parent response');
      assert.equal(main.headers[':status'], 200);
      assert.equal(main.body.toString(), '<link rel=stylesheet href=/style.css?v=1>');
      const push = await within(promised.promise, 5000, 'the pushed response');
      assert.equal(push.request[':method'], 'GET');
      assert.equal(push.request[':path'], '/style.css?v=1');
      assert.equal(push.request[':scheme'], 'http');
      assert.equal(push.request[':authority'], new URL(server.url).host);
      assert.equal(push.request['x-pushed'], 'yes');
      assert.equal(push.response[':status'], 200);
      assert.equal(push.response['content-type'], 'text/css');
      assert.equal(push.body, 'body { color: red }');
      const { pushed } = await seen.promise;
      assert.deepEqual(pushed, { method: 'GET', path: '/style.css', query: 'v=1', headers: [['x-pushed', 'yes']] });
    } finally {
      await closeSession(session);
    }
  });
});

test('push on a long-lived stream (examples/webpush, node:http2): two notifications arrive as pushes promised on the open subscription', { timeout: 15_000 }, async () => {
  const server = await startServer(webpush);
  const relay = await startRelay(server.url);
  const session = await connect(relay.url);
  try {
    const pushes: { id: number; path: string | undefined; status: unknown; body: string; ended: boolean }[] = [];
    session.on('stream', (stream: http2.ClientHttp2Stream, request: http2.IncomingHttpHeaders) => {
      const p = { id: stream.id!, path: request[':path'], status: undefined as unknown, body: '', ended: false };
      pushes.push(p);
      stream.on('push', (h: http2.IncomingHttpHeaders) => (p.status = h[':status']));
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (p.body += d));
      stream.on('end', () => (p.ended = true));
    });
    const sub = session.request({ ':path': '/subscribe' });
    sub.on('error', () => {});
    let subBody = '';
    let subEnded = false;
    sub.setEncoding('utf8');
    sub.on('data', (d: string) => (subBody += d));
    sub.on('end', () => (subEnded = true));
    await waitFor(() => subBody.includes('\n'), 5000, 'the subscription greeting');
    assert.equal(subBody, 'subscribed: notifications arrive as pushes\n');

    const first = await h1request(`${server.url}/notify`, { method: 'POST' }, 'first message');
    assert.equal(first.status, 202);
    assert.deepEqual(JSON.parse(first.text), { id: 1, delivered: 1 });
    await waitFor(() => pushes[0]?.ended === true, 5000, 'the first pushed response');
    assert.ok(!sub.closed && !subEnded, 'the subscription is still open after the first push');

    const second = await h1request(`${server.url}/notify`, { method: 'POST' }, 'second message');
    assert.deepEqual(JSON.parse(second.text), { id: 2, delivered: 1 });
    await waitFor(() => pushes[1]?.ended === true, 5000, 'the second pushed response');
    assert.ok(!sub.closed && !subEnded, 'the subscription is still open after the second push');

    assert.deepEqual(pushes.map(({ path, status, body }) => ({ path, status, body })), [
      { path: '/notifications/1', status: 200, body: 'first message' },
      { path: '/notifications/2', status: 200, body: 'second message' },
    ]);
    assert.equal(subBody, 'subscribed: notifications arrive as pushes\n', 'no fallback lines on the subscription');
    // On the wire: both PUSH_PROMISE frames ride on the subscription stream, which had not ended.
    const promises = relay.frames.filter((f) => f.dir === 's2c' && f.type === PUSH_PROMISE);
    assert.equal(promises.length, 2);
    for (const p of promises) assert.equal(p.streamId, sub.id, 'PUSH_PROMISE is sent on the subscription stream');
    assert.deepEqual(promises.map(promisedStreamId), pushes.map((p) => p.id));
    for (const id of pushes.map((p) => p.id)) assert.equal(id % 2, 0, 'pushed streams are server-initiated (even)');
    const subEnd = relay.frames.findIndex((f) => f.dir === 's2c' && f.streamId === sub.id && (f.type === DATA || f.type === HEADERS) && (f.flags & FLAG_END_STREAM) !== 0);
    assert.equal(subEnd, -1, 'no END_STREAM on the subscription');
  } finally {
    session.destroy();
    await relay.close();
    await server.close();
  }
});

test('push on a long-lived stream with nghttp -v: PUSH_PROMISE frames on the subscription and the pushed bodies', { timeout: 15_000 }, async () => {
  const server = await startServer(webpush);
  // Not -n: nghttp prints response bodies, pushed ones included, between its frame log.
  const nghttp = startChild('nghttp', ['-v', `${server.url}/subscribe`]);
  try {
    await waitFor(() => nghttp.output().includes('subscribed: notifications arrive as pushes'), 5000, 'nghttp to subscribe');
    assert.deepEqual(JSON.parse((await h1request(`${server.url}/notify`, { method: 'POST' }, 'hello one')).text), { id: 1, delivered: 1 });
    assert.deepEqual(JSON.parse((await h1request(`${server.url}/notify`, { method: 'POST' }, 'hello two')).text), { id: 2, delivered: 1 });
    await waitFor(() => nghttp.output().includes('hello two'), 5000, 'the second pushed body');
    assert.equal(nghttp.output().includes('bye'), false, 'the subscription is still open');
    // Shutdown drains the subscription ('bye'), after which nghttp exits by itself.
    await server.close();
    assert.equal(await within(nghttp.exited, 5000, 'nghttp to exit'), 0, nghttp.output());
    const out = nghttp.output();
    const sub = /recv \(stream_id=(\d+)\) :status: 200/.exec(out);
    assert.ok(sub, out);
    const subId = Number(sub[1]);
    const promises = [...out.matchAll(/recv PUSH_PROMISE frame <length=\d+, flags=0x04, stream_id=(\d+)>\s+; END_HEADERS\s+\(padlen=0, promised_stream_id=(\d+)\)/g)];
    assert.equal(promises.length, 2, out);
    for (const m of promises) assert.equal(Number(m[1]), subId, 'promised on the subscription stream');
    const [p1, p2] = promises.map((m) => Number(m[2]));
    assert.match(out, new RegExp(`recv \\(stream_id=${subId}\\) :path: /notifications/1`));
    assert.match(out, new RegExp(`recv \\(stream_id=${subId}\\) :path: /notifications/2`));
    assert.match(out, new RegExp(`recv \\(stream_id=${p1}\\) :status: 200`));
    assert.match(out, new RegExp(`recv \\(stream_id=${p2}\\) :status: 200`));
    assert.match(out, /hello one/);
    assert.match(out, /hello two/);
    // Both pushes came before the subscription ended.
    const end = out.search(new RegExp(`recv DATA frame <length=\\d+, flags=0x01, stream_id=${subId}>`));
    assert.ok(end > out.lastIndexOf('hello two'), 'END_STREAM on the subscription after both pushes');
  } finally {
    await nghttp.stop();
    await server.close();
  }
});

test('push absent: a client with enablePush false, and HTTP/1.1; webpush falls back to lines', { timeout: 15_000 }, async () => {
  const pushSeen: { protocol: string; push: boolean }[] = [];
  const probe = (ex: Exchange): void => {
    pushSeen.push({ protocol: ex.protocol, push: ex.features.push !== undefined });
    ex.response.send(200, {}, 'ok');
  };
  await withServer(probe, {}, async (server) => {
    for (const enablePush of [true, false]) {
      const session = await connect(server.url, { settings: { enablePush } });
      await within(h2get(session, { ':path': '/' }), 5000, 'request');
      await closeSession(session);
    }
    await h1request(`${server.url}/`);
  });
  assert.deepEqual(pushSeen, [
    { protocol: 'h2c', push: true },
    { protocol: 'h2c', push: false },
    { protocol: 'http/1.1', push: false },
  ]);

  const server = await startServer(webpush);
  try {
    // HTTP/2 with SETTINGS_ENABLE_PUSH = 0.
    const session = await connect(server.url, { settings: { enablePush: false } });
    let pushed = 0;
    session.on('stream', () => pushed++);
    const sub = session.request({ ':path': '/subscribe' });
    sub.on('error', () => {});
    let h2Body = '';
    sub.setEncoding('utf8');
    sub.on('data', (d: string) => (h2Body += d));
    // HTTP/1.1.
    let h1Body = '';
    const h1 = http.get(`${server.url}/subscribe`, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => (h1Body += d));
    });
    h1.on('error', () => {});
    await waitFor(() => h2Body.includes('\n') && h1Body.includes('\n'), 5000, 'both subscriptions');
    assert.deepEqual(JSON.parse((await h1request(`${server.url}/notify`, { method: 'POST' }, 'one')).text), { id: 1, delivered: 2 });
    assert.deepEqual(JSON.parse((await h1request(`${server.url}/notify`, { method: 'POST' }, 'two')).text), { id: 2, delivered: 2 });
    const lines = 'subscribed: notifications arrive as lines\nnotification 1: one\nnotification 2: two\n';
    await waitFor(() => h2Body === lines && h1Body === lines, 5000, `the fallback lines (h2 ${JSON.stringify(h2Body)}, http/1.1 ${JSON.stringify(h1Body)})`);
    assert.equal(pushed, 0, 'no push reached the client that disabled push');
    assert.ok(!sub.closed, 'the HTTP/2 subscription is still open');
    session.destroy();
    h1.destroy();

    // A client that disables push on a subscription that started with it: pushes, then lines.
    const later = await connect(server.url);
    const laterPushes: string[] = [];
    later.on('stream', (stream: http2.ClientHttp2Stream) => {
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (text += d));
      stream.on('end', () => laterPushes.push(text));
    });
    const laterSub = later.request({ ':path': '/subscribe' });
    laterSub.on('error', () => {});
    let laterBody = '';
    laterSub.setEncoding('utf8');
    laterSub.on('data', (d: string) => (laterBody += d));
    await waitFor(() => laterBody.includes('\n'), 5000, 'the third subscription');
    await h1request(`${server.url}/notify`, { method: 'POST' }, 'pushed');
    await waitFor(() => laterPushes.length === 1, 5000, 'the push');
    later.settings({ enablePush: false });
    await once(later, 'localSettings'); // the server has applied SETTINGS_ENABLE_PUSH = 0
    await h1request(`${server.url}/notify`, { method: 'POST' }, 'as a line');
    await waitFor(() => laterBody.includes('as a line'), 5000, `the fallback line (${JSON.stringify(laterBody)})`);
    assert.deepEqual(laterPushes, ['pushed']);
    assert.equal(laterBody, 'subscribed: notifications arrive as pushes\nnotification 4: as a line\n');
    later.destroy();
  } finally {
    await server.close();
  }
});

test('push(): POST or a relative path rejects NGI_ERR_INVALID_OPTION; after the parent stream closed, NGI_ERR_PUSH_REFUSED', { timeout: 15_000 }, async () => {
  const outcome = deferred<Record<string, string>>();
  const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: unknown) => String((e as { code?: unknown }).code));
  const app = async (ex: Exchange): Promise<void> => {
    const push = ex.features.push;
    if (!push) return ex.response.send(500, {}, 'no push');
    const result: Record<string, string> = {};
    result.post = await codeOf(push.push({ path: '/x', method: 'POST' as unknown as 'GET' }));
    result.relative = await codeOf(push.push({ path: 'x.css' }));
    result.absoluteUrl = await codeOf(push.push({ path: 'http://example.com/x' }));
    result.head = await codeOf(push.push({ path: '/h', method: 'HEAD' }).then((p) => p.response.send(200, { 'content-type': 'text/plain' })));
    ex.response.send(200, {}, 'parent');
    try {
      await waitFor(() => ex.features.push === undefined, 3000, 'features.push to go away with the parent stream');
      result.featureAfterClose = 'absent';
    } catch {
      result.featureAfterClose = 'still present';
    }
    result.afterClose = await codeOf(push.push({ path: '/late' }));
    outcome.resolve(result);
  };
  await withServer(app, {}, async (server) => {
    const session = await connect(server.url);
    try {
      const promised: (string | undefined)[] = [];
      session.on('stream', (stream: http2.ClientHttp2Stream, h: http2.IncomingHttpHeaders) => {
        promised.push(`${h[':method']} ${h[':path']}`);
        stream.resume();
      });
      const res = await within(h2get(session, { ':path': '/' }), 5000, 'parent');
      assert.equal(res.body.toString(), 'parent');
      assert.deepEqual(await within(outcome.promise, 5000, 'the app'), {
        post: 'NGI_ERR_INVALID_OPTION',
        relative: 'NGI_ERR_INVALID_OPTION',
        absoluteUrl: 'NGI_ERR_INVALID_OPTION',
        head: 'resolved',
        featureAfterClose: 'absent',
        afterClose: 'NGI_ERR_PUSH_REFUSED',
      });
      assert.deepEqual(promised, ['HEAD /h'], 'only the valid push was promised');
    } finally {
      await closeSession(session);
    }
  });
});

// =======================================================================================
// 2. 103 Early Hints

const LINK_A = '</a.css>; rel=preload; as=style';
const LINK_B = '</b.js>; rel=preload; as=script';
const LINK_C = '</c.woff2>; rel=preload; as=font; crossorigin';

async function hintsApp(ex: Exchange): Promise<void> {
  const hints = ex.features.earlyHints;
  if (!hints) return ex.response.send(500, {}, 'no early hints');
  await hints.send({ link: LINK_A });
  await hints.send({ link: [LINK_B, LINK_C] });
  await delay(50);
  ex.response.send(200, { 'content-type': 'text/plain', link: LINK_A }, `final ${ex.protocol}`);
}

test('103 Early Hints with curl -v: two 103 heads with their link fields before the 200, HTTP/1.1, h2c and h2', { timeout: 15_000 }, async () => {
  const check = (stderr: string, statusLine: (s: number) => RegExp): void => {
    const heads = stderr.split('\n').filter((l) => l.startsWith('< ')).map((l) => l.slice(2).trim()).filter((l) => l !== '');
    const i103 = heads.flatMap((l, i) => (statusLine(103).test(l) ? [i] : []));
    const i200 = heads.findIndex((l) => statusLine(200).test(l));
    assert.equal(i103.length, 2, stderr);
    assert.ok(i200 > i103[1]!, `both 103s precede the 200:\n${stderr}`);
    assert.deepEqual(heads.slice(i103[0]! + 1, i103[1]!), [`link: ${LINK_A}`]);
    assert.deepEqual(heads.slice(i103[1]! + 1, i200), [`link: ${LINK_B}`, `link: ${LINK_C}`]);
  };
  await withServer(hintsApp, {}, async (server) => {
    const h1 = await run('curl', ['-sv', '--http1.1', `${server.url}/`], { timeoutMs: 10_000 });
    assert.equal(h1.code, 0, h1.stderr);
    assert.equal(h1.stdout.toString(), 'final http/1.1');
    check(h1.stderr, (s) => new RegExp(`^HTTP/1\\.1 ${s}\\b`));
    const h2c = await run('curl', ['-sv', '--http2-prior-knowledge', `${server.url}/`], { timeoutMs: 10_000 });
    assert.equal(h2c.code, 0, h2c.stderr);
    assert.equal(h2c.stdout.toString(), 'final h2c');
    check(h2c.stderr, (s) => new RegExp(`^HTTP/2 ${s}\\b`));
  });
  await withServer(hintsApp, { tls: testCertificate() }, async (server) => {
    const h2 = await run('curl', ['-skv', '--http2', `${server.url}/`], { timeoutMs: 10_000 });
    assert.equal(h2.code, 0, h2.stderr);
    assert.equal(h2.stdout.toString(), 'final h2');
    check(h2.stderr, (s) => new RegExp(`^HTTP/2 ${s}\\b`));
  });
});

test('103 Early Hints with nghttp -v: two HEADERS with :status 103 before the :status 200', { timeout: 15_000 }, async () => {
  await withServer(hintsApp, {}, async (server) => {
    const r = await run('nghttp', ['-v', `${server.url}/`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.toString();
    const s103 = positions(out, /recv \(stream_id=\d+\) :status: 103/);
    const s200 = positions(out, /recv \(stream_id=\d+\) :status: 200/);
    assert.equal(s103.length, 2, out);
    assert.equal(s200.length, 1, out);
    assert.ok(s103[1]! < s200[0]!, 'the 103s come first');
    const first = out.slice(s103[0], s103[1]);
    const second = out.slice(s103[1], s200[0]);
    assert.ok(first.includes(`link: ${LINK_A}`) && !first.includes(LINK_B), first);
    assert.ok(second.includes(`link: ${LINK_B}`) && second.includes(`link: ${LINK_C}`), second);
    // Each 103 is its own HEADERS frame without END_STREAM.
    assert.equal(positions(out.slice(0, s200[0]), /recv HEADERS frame <length=\d+, flags=0x04, stream_id=\d+>/).length, 2, out);
    assert.match(out, /final h2c/);
  });
});

test("103 Early Hints with undici (onInfo) and node:http ('information') over HTTP/1.1", { timeout: 15_000 }, async () => {
  await withServer(hintsApp, {}, async (server) => {
    const agent = new Agent();
    try {
      const infos: { statusCode: number; headers: Record<string, string | string[]> }[] = [];
      const res = await undiciRequest(`${server.url}/`, { dispatcher: agent, onInfo: (info) => infos.push(info) });
      const infosAtResponse = infos.length;
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'final http/1.1');
      assert.equal(infosAtResponse, 2, 'both 103s were reported before the response');
      assert.deepEqual(infos.map((i) => [i.statusCode, i.headers.link]), [
        [103, LINK_A],
        [103, [LINK_B, LINK_C]],
      ]);
    } finally {
      await agent.close();
    }
    const information: [number | undefined, string | undefined][] = [];
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(`${server.url}/`, { agent: false }, resolve);
      req.on('information', (info) => information.push([info.statusCode, info.headers.link as string | undefined]));
      req.on('error', reject);
    });
    res.resume();
    assert.equal(res.statusCode, 200);
    assert.deepEqual(information, [
      [103, LINK_A],
      [103, `${LINK_B}, ${LINK_C}`],
    ]);
  });
});

// =======================================================================================
// 3. Priority

test('features.priority reflects the priority header (RFC 9218 §4), on HTTP/2 and HTTP/1.1', { timeout: 15_000 }, async () => {
  const app = (ex: Exchange): void => {
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify(ex.features.priority ?? null));
  };
  const cases: [string | undefined, { urgency: number; incremental: boolean }][] = [
    ['u=1, i', { urgency: 1, incremental: true }],
    [undefined, { urgency: 3, incremental: false }],
    ['u=0, i=?1', { urgency: 0, incremental: true }],
    ['u=7;foo=bar, i=?0', { urgency: 7, incremental: false }],
    ['u=9, i=?2, x', { urgency: 3, incremental: false }],
    ['u=one, i="yes"', { urgency: 3, incremental: false }],
    ['garbage!!', { urgency: 3, incremental: false }],
    ['u=5, u=2', { urgency: 2, incremental: false }],
  ];
  await withServer(app, {}, async (server) => {
    const session = await connect(server.url);
    try {
      for (const [field, expected] of cases) {
        const headers: http2.OutgoingHttpHeaders = { ':path': '/' };
        if (field !== undefined) headers.priority = field;
        const res = await within(h2get(session, headers), 5000, 'request');
        assert.deepEqual(JSON.parse(res.body.toString()), expected, `h2, priority: ${field}`);
        const h1 = await h1request(`${server.url}/`, { headers: field === undefined ? {} : { priority: field } });
        assert.deepEqual(JSON.parse(h1.text), expected, `http/1.1, priority: ${field}`);
      }
    } finally {
      await closeSession(session);
    }
  });
});

test('SETTINGS_NO_RFC7540_PRIORITIES (0x9) = 1 is advertised', { timeout: 15_000 }, async () => {
  await withServer((ex: Exchange) => ex.response.send(200, {}, 'ok'), {}, async (server) => {
    const relay = await startRelay(server.url);
    const session = await connect(relay.url, { remoteCustomSettings: [9] });
    try {
      assert.equal(session.remoteSettings.customSettings?.[9], 1, `remoteSettings: ${JSON.stringify(session.remoteSettings)}`);
      const settings = relay.frames.find((f) => f.dir === 's2c' && f.type === SETTINGS && (f.flags & FLAG_ACK) === 0);
      assert.ok(settings);
      assert.equal(settingsOf(settings).get(0x9), 1, 'on the wire, in the first SETTINGS frame');
    } finally {
      await closeSession(session);
      await relay.close();
    }
  });
});

test('PRIORITY_UPDATE frames (RFC 9218 §7.1) are accepted and not observable: features.priority comes from the header field', { timeout: 15_000 }, async () => {
  const app = (ex: Exchange): void => {
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify({ path: ex.request.path, ...ex.features.priority }));
  };
  await withServer(app, {}, async (server) => {
    const authority = new URL(server.url).host;
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    try {
      await once(socket, 'connect');
      const received: { type: number; flags: number; streamId: number; payload: Buffer }[] = [];
      const reader = new FrameReader(0, (type, flags, streamId, payload) => {
        received.push({ type, flags, streamId, payload });
        if (type === SETTINGS && (flags & FLAG_ACK) === 0) socket.write(frame(SETTINGS, FLAG_ACK, 0));
      });
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      const priorityUpdate = (streamId: number, value: string): Buffer => {
        const id = Buffer.alloc(4);
        id.writeUInt32BE(streamId);
        return frame(PRIORITY_UPDATE, 0, 0, Buffer.concat([id, Buffer.from(value, 'latin1')]));
      };
      const headers1 = Buffer.from(stream1Frames({ method: 'GET', path: '/one', authority, fields: ['priority', 'u=5'], body: Buffer.alloc(0) }));
      socket.write(Buffer.concat([
        HTTP2_PREFACE,
        frame(SETTINGS, 0, 0),
        // For an idle stream (RFC 9218 §7.1 allows it), then for the open stream 1.
        priorityUpdate(3, 'u=0, i'),
        headers1,
        priorityUpdate(1, 'u=1'),
        getHeaders(3, '/three', authority),
      ]));
      await waitFor(() => [1, 3].every((id) => received.some((f) => f.type === DATA && f.streamId === id && (f.flags & FLAG_END_STREAM) !== 0)), 5000, 'both responses');
      const body = (id: number): unknown => JSON.parse(Buffer.concat(received.filter((f) => f.type === DATA && f.streamId === id).map((f) => f.payload)).toString());
      assert.deepEqual(body(1), { path: '/one', urgency: 5, incremental: false });
      assert.deepEqual(body(3), { path: '/three', urgency: 3, incremental: false });
      assert.equal(received.some((f) => f.type === GOAWAY || f.type === RST_STREAM), false, 'no GOAWAY, no RST_STREAM');
    } finally {
      socket.destroy();
    }
  });
});

/** 8 MiB for /big, 256 KiB otherwise, written in awaited 64 KiB chunks. */
async function sizedApp(ex: Exchange): Promise<void> {
  const size = ex.request.path === '/big' ? 8 * MiB : 256 * KiB;
  const body = ex.response.start(200, { 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(64 * KiB, 0x61);
  for (let sent = 0; sent < size; sent += chunk.length) await body.write(chunk);
  await body.end();
}

interface RaceResult {
  big: H2Response;
  small: H2Response;
  /** DATA bytes of the big response on the wire between the small one's first and last DATA frame. */
  bigDuringSmall: number;
}

/** One connection: GET /big, then ~20 ms later GET /small, with the given priority fields. */
async function race(serverUrl: string, bigPriority: string | undefined, smallPriority: string | undefined): Promise<RaceResult> {
  const relay = await startRelay(serverUrl);
  const session = await connect(relay.url);
  try {
    const big = h2get(session, { ':path': '/big', ...(bigPriority ? { priority: bigPriority } : {}) });
    await delay(20);
    const small = h2get(session, { ':path': '/small', ...(smallPriority ? { priority: smallPriority } : {}) });
    const [b, s] = await within(Promise.all([big, small]), 10_000, 'both responses');
    const data = relay.frames.filter((f) => f.dir === 's2c' && f.type === DATA);
    const first = data.findIndex((f) => f.streamId === s.id);
    const last = data.findLastIndex((f) => f.streamId === s.id);
    const bigDuringSmall = data.slice(first, last + 1).filter((f) => f.streamId === b.id).reduce((n, f) => n + f.payload.length, 0);
    return { big: b, small: s, bigDuringSmall };
  } finally {
    await closeSession(session);
    await relay.close();
  }
}

test('priority scheduling on one connection: a small u=0 response started after a large u=7 one finishes first, barely interleaved', { timeout: 15_000 }, async () => {
  await withServer(sizedApp, {}, async (server) => {
    const urgent = await race(server.url, 'u=7', 'u=0');
    assert.equal(urgent.big.body.length, 8 * MiB);
    assert.equal(urgent.small.body.length, 256 * KiB);
    assert.ok(urgent.small.endedAt < urgent.big.endedAt, 'the urgent response finished first');
    // Control, same sizes and order, same urgency: RFC 9218 serves the earlier stream first,
    // so the big response keeps most of the connection while the small one trickles.
    const equal = await race(server.url, 'u=3', 'u=3');
    assert.ok(
      urgent.bigDuringSmall < 192 * KiB,
      `while the u=0 response was sent, the u=7 one got ${urgent.bigDuringSmall} bytes (same urgency: ${equal.bigDuringSmall})`,
    );
    assert.ok(equal.bigDuringSmall > 2 * urgent.bigDuringSmall, `same urgency interleaves more: ${equal.bigDuringSmall} vs ${urgent.bigDuringSmall} bytes`);
  });
});

test(
  'concurrent responses on one connection end with END_STREAM, never RST_STREAM(NO_ERROR) (nghttp processes both)',
  {
    timeout: 15_000,
  },
  async () => {
    await withServer(sizedApp, {}, async (server) => {
      for (let i = 0; i < 3; i++) {
        const r = await run('nghttp', ['-nv', '--no-dep', `${server.url}/big`, `${server.url}/small`], { timeoutMs: 10_000 });
        const out = r.stdout.toString();
        const resets = out.match(/recv RST_STREAM frame <length=4, flags=0x00, stream_id=\d+>\s+\(error_code=[A-Z_]+\(0x[0-9a-f]+\)\)/g) ?? [];
        assert.deepEqual(resets, [], `run ${i + 1}: the server reset a response instead of ending it`);
        assert.doesNotMatch(out + r.stderr, /Some requests were not processed/);
        assert.equal(r.code, 0, r.stderr);
      }
    });
  },
);

// =======================================================================================
// 4. Flow control

interface ReadProgress {
  bytes: number;
  /** The exchange's flow control, to lift the limit when a test is done with it. */
  flow?: FlowControlFeature;
}

/** Reads the body under setUploadRate(rate) and reports how long it took; `read` is shared with the test. */
function rateLimitedApp(rate: number, read: ReadProgress): (ex: Exchange) => Promise<void> {
  return async (ex) => {
    const flow = ex.features.flowControl;
    if (!flow) return ex.response.send(500, {}, 'no flowControl');
    flow.setUploadRate(rate);
    read.flow = flow;
    const t0 = performance.now();
    try {
      for await (const chunk of ex.request.body) read.bytes += chunk.length;
    } catch {
      return; // the client went away
    }
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify({ bytes: read.bytes, ms: Math.round(performance.now() - t0), protocol: ex.protocol }));
  };
}

test('setUploadRate(256 KiB/s), HTTP/2: 1 MiB takes 4 s ± 25%; the client never gets ahead of the app by more than the stream window', { timeout: 15_000 }, async () => {
  const read = { bytes: 0 };
  await withServer(rateLimitedApp(256 * KiB, read), {}, async (server) => {
    const relay = await startRelay(server.url);
    const session = await connect(relay.url);
    try {
      const initialWindow = settingsOf(relay.frames.find((f) => f.dir === 's2c' && f.type === SETTINGS && (f.flags & FLAG_ACK) === 0)!).get(0x4) ?? 65_535;
      const t0 = performance.now();
      const stream = session.request({ ':method': 'POST', ':path': '/upload' });
      for (let i = 0; i < 16; i++) stream.write(Buffer.alloc(64 * KiB, i));
      stream.end();
      const done = h2body(stream);
      const samples: { at: number; sent: number; read: number; queued: number }[] = [];
      const sampler = setInterval(() => samples.push({ at: performance.now() - t0, sent: relay.dataBytes('c2s', stream.id!), read: read.bytes, queued: stream.writableLength }), 100);
      const { status, text } = await within(done, 10_000, 'the upload');
      clearInterval(sampler);
      const elapsed = performance.now() - t0;
      assert.equal(status, 200);
      const report = JSON.parse(text) as { bytes: number; ms: number; protocol: string };
      assert.equal(report.protocol, 'h2c');
      assert.equal(report.bytes, MiB);
      assert.ok(report.ms >= 3000 && report.ms <= 5000, `the app read 1 MiB in ${report.ms} ms`);
      assert.ok(elapsed >= 3000 && elapsed <= 5000, `the client's upload took ${elapsed.toFixed(0)} ms`);
      assert.equal(relay.dataBytes('c2s', stream.id!), MiB);
      const slack = 64 * KiB; // what node's Readable may hold between the window and the app
      assert.ok(samples.length >= 20, `${samples.length} samples`);
      for (const s of samples) {
        assert.ok(s.sent <= s.read + initialWindow + slack, `at ${s.at.toFixed(0)} ms the client had sent ${s.sent} bytes, the app had read ${s.read} (window ${initialWindow})`);
      }
      const held = samples.filter((s) => s.at > 500 && s.at < 3000);
      assert.ok(held.length > 0 && held.every((s) => s.queued > 0), 'meanwhile the rest of the body waited in the client');
    } finally {
      await closeSession(session);
      await relay.close();
    }
  });
});

function h2body(stream: http2.ClientHttp2Stream): Promise<{ status: unknown; text: string }> {
  return new Promise((resolve, reject) => {
    let status: unknown;
    let text = '';
    stream.on('response', (h) => (status = h[':status']));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (text += d));
    stream.on('error', reject);
    stream.on('close', () => resolve({ status, text }));
  });
}

test('setUploadRate(256 KiB/s), HTTP/1.1: 1 MiB takes 4 s ± 25%', { timeout: 15_000 }, async () => {
  const read = { bytes: 0 };
  await withServer(rateLimitedApp(256 * KiB, read), {}, async (server) => {
    const t0 = performance.now();
    const res = await within(
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${server.url}/upload`, { method: 'POST', agent: false, headers: { 'content-length': String(MiB) } }, (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (d: string) => (text += d));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        for (let i = 0; i < 16; i++) req.write(Buffer.alloc(64 * KiB, i));
        req.end();
      }),
      10_000,
      'the upload',
    );
    const elapsed = performance.now() - t0;
    assert.equal(res.status, 200);
    const report = JSON.parse(res.text) as { bytes: number; ms: number; protocol: string };
    assert.equal(report.protocol, 'http/1.1');
    assert.equal(report.bytes, MiB);
    assert.ok(report.ms >= 3000 && report.ms <= 5000, `the app read 1 MiB in ${report.ms} ms`);
    assert.ok(elapsed >= 3000 && elapsed <= 5000, `the client's upload took ${elapsed.toFixed(0)} ms`);
  });
});

test('setUploadRate, HTTP/1.1: the client is held back through TCP (write() returns false, the socket stops taking bytes)', { timeout: 15_000 }, async () => {
  const read: ReadProgress = { bytes: 0 };
  const RATE = 256 * KiB;
  const BODY = 256 * MiB; // far more than loopback socket buffers hold
  await withServer(rateLimitedApp(RATE, read), {}, async (server) => {
    const req = http.request(`${server.url}/upload`, { method: 'POST', agent: false, headers: { 'content-length': String(BODY) } });
    req.on('error', () => {});
    let flushed = 0; // bytes the kernel took (write callbacks that fired)
    let lastFlushAt = performance.now();
    let longestStall = 0;
    let refused = 0;
    let stop = false;
    const chunk = Buffer.alloc(64 * KiB, 0x62);
    const t0 = performance.now();
    const writer = (async () => {
      let offered = 0;
      while (!stop && offered < BODY) {
        offered += chunk.length;
        const ok = req.write(chunk, () => {
          const now = performance.now();
          longestStall = Math.max(longestStall, now - lastFlushAt);
          lastFlushAt = now;
          flushed += chunk.length;
        });
        if (!ok) {
          refused++;
          await new Promise<void>((resolve) => {
            const timer = setInterval(() => stop && done(), 50);
            const done = (): void => {
              clearInterval(timer);
              req.off('drain', done);
              resolve();
            };
            req.once('drain', done);
          });
        }
      }
    })();
    try {
      await delay(2500);
      longestStall = Math.max(longestStall, performance.now() - lastFlushAt);
      const elapsed = (performance.now() - t0) / 1000;
      assert.ok(refused > 0, 'req.write() returned false');
      assert.ok(longestStall >= 400, `the socket stopped taking bytes for a while (longest stall ${longestStall.toFixed(0)} ms)`);
      assert.ok(read.bytes <= RATE * elapsed + 64 * KiB, `the app read at the rate: ${read.bytes} bytes in ${elapsed.toFixed(1)} s`);
      assert.ok(read.bytes >= RATE * 1.5, `the app kept reading: ${read.bytes} bytes`);
      // What left the client is what the app read plus what socket buffers hold, not the body.
      assert.ok(flushed <= read.bytes + 12 * MiB, `the client had flushed ${(flushed / MiB).toFixed(1)} MiB, the app had read ${(read.bytes / MiB).toFixed(2)} MiB`);
      assert.ok(req.writableLength > 0, 'the client still holds data it could not send');
    } finally {
      stop = true;
      req.destroy();
      await writer;
      // The server notices the client has gone only once it has read what the socket
      // buffers still hold (megabytes, at 256 KiB/s): lift the limit so that is quick.
      read.flow?.setUploadRate(null);
    }
  });
});

test('configurable windows: streamWindow 1 MiB is SETTINGS_INITIAL_WINDOW_SIZE, connectionWindow 4 MiB a connection WINDOW_UPDATE; a non-reading app stops the client at 1 MiB', { timeout: 15_000 }, async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const app = async (ex: Exchange): Promise<void> => {
    await gate;
    let n = 0;
    for await (const chunk of ex.request.body) n += chunk.length;
    ex.response.send(200, {}, String(n));
  };
  await withServer(app, { limits: { streamWindow: MiB, connectionWindow: 4 * MiB } }, async (server) => {
    const relay = await startRelay(server.url);
    const session = await connect(relay.url);
    try {
      assert.equal(session.remoteSettings.initialWindowSize, MiB);
      const stream = session.request({ ':method': 'POST', ':path': '/' });
      for (let i = 0; i < 32; i++) stream.write(Buffer.alloc(64 * KiB)); // 2 MiB
      stream.end();
      const done = h2body(stream);
      await waitFor(() => relay.dataBytes('c2s', stream.id!) >= MiB, 5000, 'the client to fill the stream window');
      await delay(500);
      assert.equal(relay.dataBytes('c2s', stream.id!), MiB, 'the client stopped at the 1 MiB stream window');
      const serverSettings = relay.frames.find((f) => f.dir === 's2c' && f.type === SETTINGS && (f.flags & FLAG_ACK) === 0)!;
      assert.equal(settingsOf(serverSettings).get(0x4), MiB, 'SETTINGS_INITIAL_WINDOW_SIZE on the wire');
      const firstData = relay.frames.findIndex((f) => f.dir === 'c2s' && f.type === DATA);
      const raise = relay.frames.findIndex((f) => f.dir === 's2c' && f.type === WINDOW_UPDATE && f.streamId === 0);
      assert.ok(raise >= 0 && raise < firstData, 'a connection WINDOW_UPDATE came before any DATA');
      assert.equal(relay.frames[raise]!.payload.readUInt32BE(0) & 0x7fff_ffff, 4 * MiB - 65_535, 'it raised the connection window to 4 MiB');
      release();
      const res = await within(done, 5000, 'the upload');
      assert.equal(res.status, 200);
      assert.equal(res.text, String(2 * MiB));
    } finally {
      release();
      await closeSession(session);
      await relay.close();
    }
  });
});

test(
  'the connection window bounds what a non-reading application buffers (spec/http.md §2: credit only for consumed bytes)',
  {
    timeout: 15_000,
    todo:
      'both HTTP/2 engines return connection-level credit as DATA arrives, whether or not the application reads (only ' +
      'stream credit waits for reads), so one unread stream cannot stall the others: with connectionWindow 4 MiB and ' +
      'streamWindow 1 MiB, six unread uploads buffer 6 MiB. limits.connectionWindow only sets the initial credit; ' +
      'buffered request data is bounded by streams x streamWindow (docs/server-behavior.md §11)',
  },
  async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = async (ex: Exchange): Promise<void> => {
      await gate;
      ex.response.send(200, {}, String((await ex.request.body.bytes({ limit: 4 * MiB })).length));
    };
    await withServer(app, { limits: { streamWindow: MiB, connectionWindow: 4 * MiB } }, async (server) => {
      const relay = await startRelay(server.url);
      const session = await connect(relay.url);
      try {
        const streams = Array.from({ length: 6 }, () => {
          const stream = session.request({ ':method': 'POST', ':path': '/' });
          stream.on('error', () => {});
          for (let i = 0; i < 16; i++) stream.write(Buffer.alloc(64 * KiB));
          stream.end();
          return { stream, done: h2body(stream) };
        });
        await delay(1000);
        const total = streams.reduce((n, { stream }) => n + relay.dataBytes('c2s', stream.id!), 0);
        const granted = relay.frames.filter((f) => f.dir === 's2c' && f.type === WINDOW_UPDATE && f.streamId === 0).map((f) => f.payload.readUInt32BE(0) & 0x7fff_ffff);
        release();
        await within(Promise.all(streams.map((s) => s.done)), 10_000, 'the uploads');
        assert.ok(total <= 4 * MiB, `the application had read nothing, yet ${(total / MiB).toFixed(1)} MiB crossed a 4 MiB connection window (connection WINDOW_UPDATEs: ${granted.join(', ')})`);
      } finally {
        release();
        await closeSession(session);
        await relay.close();
      }
    });
  },
);

// =======================================================================================
// 5. h2c Upgrade

interface UpgradeEcho {
  protocol: string;
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: string;
  bodyLength: number;
  streamId: number | undefined;
}

async function upgradeEchoApp(ex: Exchange): Promise<void> {
  const body = await ex.request.body.text({ limit: MiB });
  const echo: UpgradeEcho = {
    protocol: ex.protocol,
    method: ex.request.method,
    path: ex.request.path,
    query: ex.request.query,
    headers: [...ex.request.headers].map(([n, v]) => [n, v]),
    body: body.length > 64 ? `${body.slice(0, 16)}...` : body,
    bodyLength: body.length,
    streamId: ex.features.http2?.streamId,
  };
  ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify(echo));
}

test('h2c Upgrade with curl --http2 on http:// (GET, POST with a body): 101, then the request as stream 1', { timeout: 15_000 }, async () => {
  await withServer(upgradeEchoApp, {}, async (server) => {
    const get = await run('curl', ['-sv', '--http2', '-H', 'x-custom: v1', '-H', 'x-custom: v2', `${server.url}/a/b?x=1&y=2`], { timeoutMs: 10_000 });
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stderr, /^> Upgrade: h2c\r?$/m);
    assert.match(get.stderr, /^< HTTP\/1\.1 101 Switching Protocols\r?$/m);
    assert.match(get.stderr, /^< HTTP\/2 200 ?\r?$/m);
    const g = JSON.parse(get.stdout.toString()) as UpgradeEcho;
    assert.equal(g.protocol, 'h2c');
    assert.equal(g.streamId, 1);
    assert.equal(g.method, 'GET');
    assert.equal(g.path, '/a/b');
    assert.equal(g.query, 'x=1&y=2');
    assert.deepEqual(g.headers.filter(([n]) => n === 'x-custom'), [['x-custom', 'v1'], ['x-custom', 'v2']]);
    assert.equal(new Map(g.headers).get('user-agent')?.startsWith('curl/'), true);
    for (const hop of ['connection', 'upgrade', 'http2-settings', 'host']) assert.ok(!g.headers.some(([n]) => n === hop), `no ${hop} field`);
    assert.equal(g.body, '');

    const post = await run('curl', ['-sv', '--http2', '-H', 'content-type: text/plain', '--data-binary', 'hello upgraded body', `${server.url}/post?q=1`], { timeoutMs: 10_000 });
    assert.equal(post.code, 0, post.stderr);
    assert.match(post.stderr, /^< HTTP\/1\.1 101 Switching Protocols\r?$/m);
    const p = JSON.parse(post.stdout.toString()) as UpgradeEcho;
    assert.equal(p.protocol, 'h2c');
    assert.equal(p.method, 'POST');
    assert.equal(p.path, '/post');
    assert.equal(p.query, 'q=1');
    assert.equal(p.body, 'hello upgraded body');
    assert.equal(new Map(p.headers).get('content-type'), 'text/plain');

    // The largest body the upgrade carries: 65,535 bytes, the initial windows.
    const dir = mkdtempSync(path.join(tmpdir(), 'ngi-h2c-'));
    try {
      const file = path.join(dir, 'body.bin');
      writeFileSync(file, Buffer.alloc(65_535, 0x7a));
      const max = await run('curl', ['-sv', '--http2', '--data-binary', `@${file}`, `${server.url}/max`], { timeoutMs: 10_000 });
      assert.equal(max.code, 0, max.stderr);
      assert.match(max.stderr, /^< HTTP\/1\.1 101 Switching Protocols\r?$/m);
      const m = JSON.parse(max.stdout.toString()) as UpgradeEcho;
      assert.equal(m.protocol, 'h2c');
      assert.equal(m.bodyLength, 65_535);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('h2c Upgrade with nghttp -u (GET)', { timeout: 15_000 }, async () => {
  await withServer(upgradeEchoApp, {}, async (server) => {
    const r = await run('nghttp', ['-uv', `${server.url}/ng/path?z=1`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.toString();
    assert.match(out, /HTTP Upgrade request\s+GET \/ng\/path\?z=1 HTTP\/1\.1/);
    assert.match(out, /HTTP Upgrade response\s+HTTP\/1\.1 101 Switching Protocols/);
    assert.match(out, /HTTP Upgrade success/);
    assert.match(out, /recv \(stream_id=1\) :status: 200/);
    const json = /\{"protocol".*?\}(?=\[)/.exec(out)?.[0] ?? /\{"protocol"[^\n]*\}/.exec(out)?.[0];
    assert.ok(json, out);
    const echo = JSON.parse(json) as UpgradeEcho;
    assert.equal(echo.protocol, 'h2c');
    assert.equal(echo.method, 'GET');
    assert.equal(echo.path, '/ng/path');
    assert.equal(echo.query, 'z=1');
    assert.equal(echo.streamId, 1);
    assert.ok(echo.headers.some(([n, v]) => n === 'user-agent' && v.startsWith('nghttp2/')));
  });
});

test('h2c Upgrade refused: a body over 65,535 bytes → 413 and close; a chunked body → 501', { timeout: 15_000 }, async () => {
  let calls = 0;
  const app = async (ex: Exchange): Promise<void> => {
    calls++;
    await upgradeEchoApp(ex);
  };
  await withServer(app, {}, async (server) => {
    const upgrade = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';
    const big = await RawClient.connect(Number(new URL(server.url).port));
    try {
      big.write(`POST /big HTTP/1.1\r\nHost: x\r\n${upgrade}Content-Length: 65536\r\n\r\n`);
      big.write(Buffer.alloc(65_536, 0x61));
      const [res] = await big.responses(1);
      assert.equal(res!.status, 413);
      assert.equal(res!.get('connection'), 'close');
      await big.waitClosed();
      assert.doesNotMatch(big.text, /101 Switching Protocols/);
    } finally {
      big.destroy();
    }
    const chunked = await RawClient.connect(Number(new URL(server.url).port));
    try {
      chunked.write(`POST /chunked HTTP/1.1\r\nHost: x\r\n${upgrade}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
      const [res] = await chunked.responses(1);
      assert.equal(res!.status, 501);
      await chunked.waitClosed();
      assert.doesNotMatch(chunked.text, /101 Switching Protocols/);
    } finally {
      chunked.destroy();
    }
    assert.equal(calls, 0, 'the application saw neither request');
  });
});

test(
  'a refused h2c Upgrade (413, body unread) releases its socket: no file descriptor stays open, shutdown does not wait for it',
  {
    timeout: 15_000,
    skip: existsSync('/proc/self/fd') ? false : 'needs /proc/self/fd',
  },
  async () => {
    const server = await startServer(upgradeEchoApp);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const baseline = fds();
    let extra = 0;
    let closeMs = 0;
    try {
      for (let i = 0; i < 10; i++) {
        const client = await RawClient.connect(Number(new URL(server.url).port));
        client.write(`POST /big HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 65536\r\n\r\n`);
        client.write(Buffer.alloc(65_536, 0x61));
        const [res] = await client.responses(1);
        assert.equal(res!.status, 413);
        await client.waitClosed();
        client.destroy();
      }
      await delay(500);
      extra = fds() - baseline;
    } finally {
      const t0 = performance.now();
      await server.close();
      closeMs = performance.now() - t0;
    }
    assert.ok(extra <= 2, `${extra} file descriptors more than before 10 refused upgrades whose clients have gone`);
    assert.ok(closeMs < 1000, `server.close() took ${closeMs.toFixed(0)} ms with no exchange in flight`);
  },
);

test('Upgrade: h2c over TLS is ignored: the request is served as HTTP/1.1', { timeout: 15_000 }, async () => {
  await withServer(upgradeEchoApp, { tls: testCertificate() }, async (server) => {
    const r = await run('curl', ['-skv', '--http1.1', '-H', 'Connection: Upgrade, HTTP2-Settings', '-H', 'Upgrade: h2c', '-H', 'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA', `${server.url}/tls?t=1`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /101/);
    assert.match(r.stderr, /^< HTTP\/1\.1 200 OK\r?$/m);
    const echo = JSON.parse(r.stdout.toString()) as UpgradeEcho;
    assert.equal(echo.protocol, 'http/1.1');
    assert.equal(echo.path, '/tls');
    assert.equal(echo.query, 't=1');
    assert.equal(echo.streamId, undefined);
    assert.equal(new Map(echo.headers).get('upgrade'), 'h2c');
  });
});

// =======================================================================================
// 6. Drain

/** Starts a response, then waits for the drain signal (up to 5 s) and ends it. */
function longLivedApp(log: { path: string; protocol: string; drainedAfter: number; draining: boolean }[]): (ex: Exchange) => Promise<void> {
  return async (ex) => {
    const drain = ex.features.drain;
    if (!drain) return ex.response.send(500, {}, 'no drain');
    const body = ex.response.start(200, { 'content-type': 'text/plain' });
    await body.write('start\n');
    const t0 = performance.now();
    const drained = await new Promise<boolean>((resolve) => {
      if (drain.signal.aborted) return resolve(true);
      const timer = setTimeout(() => resolve(false), 5000);
      drain.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      }, { once: true });
    });
    log.push({ path: ex.request.path, protocol: ex.protocol, drainedAfter: drained ? performance.now() - t0 : -1, draining: drain.draining });
    await delay(100); // the response goes on after the signal
    await body.end('bye\n');
  };
}

test('drain on server.close(): in-flight long-lived responses on HTTP/2 and HTTP/1.1 see drain.signal abort and still finish; GOAWAY(2^31-1), PING ACK, GOAWAY(last id)', { timeout: 15_000 }, async () => {
  const log: { path: string; protocol: string; drainedAfter: number; draining: boolean }[] = [];
  const server = await startServer(longLivedApp(log));
  const relay = await startRelay(server.url);
  const session = await connect(relay.url);
  try {
    const stream = session.request({ ':path': '/h2' });
    const h2 = h2body(stream);
    let h1Text = '';
    const h1 = new Promise<void>((resolve, reject) => {
      const req = http.get(`${server.url}/h1`, { agent: false }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => (h1Text += d));
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    let h2Text = '';
    stream.on('data', (d: string) => (h2Text += d));
    await waitFor(() => h2Text === 'start\n' && h1Text === 'start\n', 5000, 'both responses to start');
    await delay(100);
    const closing = server.close();
    const [h2res] = await within(Promise.all([h2, h1]), 5000, 'both responses to finish');
    await within(closing, 5000, 'server.close()');
    assert.equal(h2res.status, 200);
    assert.equal(h2res.text, 'start\nbye\n');
    assert.equal(h1Text, 'start\nbye\n');
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    assert.deepEqual(log.map((l) => [l.path, l.protocol, l.draining]).sort(), [['/h1', 'http/1.1', true], ['/h2', 'h2c', true]]);
    for (const l of log) assert.ok(l.drainedAfter >= 0 && l.drainedAfter < 2000, `${l.path}: drain.signal aborted (${l.drainedAfter.toFixed(0)} ms)`);

    const goaways = relay.frames.flatMap((f, i) => (f.dir === 's2c' && f.type === GOAWAY ? [{ i, last: goawayLastStreamId(f), code: f.payload.readUInt32BE(4) }] : []));
    assert.ok(goaways.length >= 2, `two GOAWAYs: ${JSON.stringify(goaways)}`);
    assert.deepEqual(goaways.slice(0, 2).map((g) => [g.last, g.code]), [[2 ** 31 - 1, 0], [stream.id, 0]]);
    const ack = relay.frames.findIndex((f) => f.dir === 'c2s' && f.type === PING && (f.flags & FLAG_ACK) !== 0);
    assert.ok(ack >= 0 && ack < goaways[1]!.i, 'the final GOAWAY came after the client acknowledged the PING');
    const end = relay.frames.findIndex((f) => f.dir === 's2c' && f.type === DATA && f.streamId === stream.id && (f.flags & FLAG_END_STREAM) !== 0);
    assert.ok(end > goaways[1]!.i, 'the in-flight stream ended normally after the final GOAWAY');
    assert.equal(relay.frames.some((f) => f.dir === 's2c' && f.type === RST_STREAM), false, 'no stream was reset');
  } finally {
    session.destroy();
    await relay.close();
    await server.close();
  }
});

test(
  'two-step GOAWAY order on the wire: GOAWAY(2^31-1), then the server PING, then GOAWAY(last id)',
  {
    timeout: 15_000,
  },
  async () => {
    const log: { path: string; protocol: string; drainedAfter: number; draining: boolean }[] = [];
    const server = await startServer(longLivedApp(log));
    const relay = await startRelay(server.url);
    const session = await connect(relay.url);
    try {
      const stream = session.request({ ':path': '/h2' });
      const done = h2body(stream);
      await waitFor(() => relay.frames.some((f) => f.dir === 's2c' && f.type === DATA), 5000, 'the response to start');
      await within(Promise.all([server.close(), done]), 8000, 'shutdown');
      // The relay forwards asynchronously: on a loaded machine the final GOAWAY can still be on
      // its way through it when shutdown has resolved.
      await waitFor(() => relay.frames.filter((f) => f.dir === 's2c' && f.type === GOAWAY).length >= 2, 5000, 'the final GOAWAY through the relay').catch(() => {});
      const s2c = relay.frames.filter((f) => f.dir === 's2c');
      const order = s2c.filter((f) => f.type === GOAWAY || (f.type === PING && (f.flags & FLAG_ACK) === 0)).map((f) => (f.type === PING ? 'PING' : `GOAWAY(${goawayLastStreamId(f)})`));
      assert.deepEqual(order.slice(0, 3), [`GOAWAY(${2 ** 31 - 1})`, 'PING', `GOAWAY(${stream.id})`]);
    } finally {
      session.destroy();
      await relay.close();
      await server.close();
    }
  },
);

test(
  'two-step GOAWAY: a request that crosses the first GOAWAY (arrives before the PING ACK) is served, not refused',
  {
    timeout: 15_000,
    // NGI's own framing serves it (a real test there); on node:http2 it stays a known gap.
    todo:
      TEST_HTTP2_ENGINE === 'ngi'
        ? false
        : 'silently ignored: after session.goaway(NO_ERROR, 2^31-1) (src/server/http2.ts) nghttp2 accepts no new stream at all ' +
          '(it marks GOAWAY sent whatever the last stream id), so no stream event, no RST_STREAM, and the final GOAWAY says last=1; ' +
          'the same happens on a bare node:http2 server. Node exposes no nghttp2_submit_shutdown_notice',
  },
  async () => {
    const paths: string[] = [];
    const app = async (ex: Exchange): Promise<void> => {
      paths.push(ex.request.path);
      const body = ex.response.start(200, { 'content-type': 'text/plain' });
      await body.write(`start ${ex.request.path}\n`);
      await delay(ex.request.path === '/long' ? 800 : 10);
      await body.end(`end ${ex.request.path}\n`);
    };
    const server = await startServer(app);
    const authority = new URL(server.url).host;
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    try {
      await once(socket, 'connect');
      // A raw client: it holds back its PING ACK and opens stream 3 right after the first
      // GOAWAY. To the server that is the same as a request sent just before the GOAWAY
      // reached the client, i.e. one that crossed it on the wire.
      socket.write(Buffer.concat([HTTP2_PREFACE, frame(SETTINGS, 0, 0), getHeaders(1, '/long', authority)]));
      const received: { type: number; flags: number; streamId: number; payload: Buffer }[] = [];
      let pendingPing: Buffer | undefined;
      let sent3 = false;
      const reader = new FrameReader(0, (type, flags, streamId, payload) => {
        received.push({ type, flags, streamId, payload });
        if (type === SETTINGS && (flags & FLAG_ACK) === 0) socket.write(frame(SETTINGS, FLAG_ACK, 0));
        if (type === PING && (flags & FLAG_ACK) === 0) pendingPing = payload;
        if (type === GOAWAY && (payload.readUInt32BE(0) & 0x7fff_ffff) === 2 ** 31 - 1 && !sent3) {
          sent3 = true;
          socket.write(getHeaders(3, '/crossing', authority));
          setTimeout(() => {
            if (pendingPing) socket.write(frame(PING, FLAG_ACK, 0, pendingPing));
          }, 50);
        }
      });
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      await waitFor(() => received.some((f) => f.type === DATA && f.streamId === 1), 5000, 'the first response to start');
      const closing = server.close();
      await within(once(socket, 'close'), 8000, 'the connection to close');
      await closing;
      assert.ok(sent3, 'the client saw the first GOAWAY and sent stream 3');
      const lastIds = received.filter((f) => f.type === GOAWAY).map((f) => f.payload.readUInt32BE(0) & 0x7fff_ffff);
      assert.deepEqual(paths, ['/long', '/crossing'], `the application saw: ${paths.join(', ')}; GOAWAY last ids ${lastIds.join(', ')}`);
      assert.ok(received.some((f) => f.type === DATA && f.streamId === 3 && (f.flags & FLAG_END_STREAM) !== 0), 'stream 3 was answered');
      assert.ok(lastIds.at(-1)! >= 3, `the final GOAWAY covers stream 3 (last ids ${lastIds.join(', ')})`);
    } finally {
      socket.destroy();
      await server.close();
    }
  },
);

test('drain when the CLIENT sends GOAWAY (session.goaway(), session.close()): drain.signal aborts, the response still finishes', { timeout: 15_000 }, async () => {
  const log: { path: string; protocol: string; drainedAfter: number; draining: boolean }[] = [];
  await withServer(longLivedApp(log), {}, async (server) => {
    for (const how of ['goaway', 'close'] as const) {
      const session = await connect(server.url);
      try {
        const stream = session.request({ ':path': `/${how}` });
        const done = h2body(stream);
        let text = '';
        stream.on('data', (d: string) => (text += d));
        await waitFor(() => text === 'start\n', 5000, 'the response to start');
        if (how === 'goaway') session.goaway(http2.constants.NGHTTP2_NO_ERROR);
        else session.close();
        const res = await within(done, 5000, 'the response');
        assert.equal(res.status, 200);
        assert.equal(res.text, 'start\nbye\n', `${how}: the response finished`);
        assert.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      } finally {
        session.destroy();
      }
    }
  });
  assert.deepEqual(log.map((l) => [l.path, l.draining]), [['/goaway', true], ['/close', true]]);
  for (const l of log) assert.ok(l.drainedAfter >= 0 && l.drainedAfter < 2000, `${l.path}: drain.signal aborted (${l.drainedAfter.toFixed(0)} ms after the response started)`);
});

test('features.http2.peerSettings reflects the client SETTINGS (enablePush false, initialWindowSize 123456, maxConcurrentStreams 7)', { timeout: 15_000 }, async () => {
  const seen: Http2PeerSettings[] = [];
  const app = (ex: Exchange): void => {
    const settings = ex.features.http2?.peerSettings;
    if (settings) seen.push({ ...settings });
    ex.response.send(200, {}, 'ok');
  };
  await withServer(app, {}, async (server) => {
    const session = await connect(server.url, { settings: { enablePush: false, initialWindowSize: 123_456, maxConcurrentStreams: 7 } });
    try {
      await within(h2get(session, { ':path': '/' }), 5000, 'request');
      // SETTINGS may change during the connection; the next exchange reads them afresh.
      session.settings({ enablePush: true, initialWindowSize: 200_000 });
      await once(session, 'localSettings');
      await within(h2get(session, { ':path': '/' }), 5000, 'request');
    } finally {
      await closeSession(session);
    }
  });
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.enablePush, false);
  assert.equal(seen[0]!.initialWindowSize, 123_456);
  assert.equal(seen[0]!.maxConcurrentStreams, 7);
  assert.equal(seen[0]!.maxFrameSize, 16_384);
  assert.equal(seen[1]!.enablePush, true);
  assert.equal(seen[1]!.initialWindowSize, 200_000);
  assert.equal(seen[1]!.maxConcurrentStreams, 7);
});

test(
  'peerSettings: a setting the peer did not send has its initial value (spec/features.md §10: maxHeaderListSize undefined)',
  {
    timeout: 15_000,
  },
  async () => {
    let settings: unknown;
    const app = (ex: Exchange): void => {
      settings = ex.features.http2?.peerSettings;
      ex.response.send(200, {}, 'ok');
    };
    await withServer(app, {}, async (server) => {
      const relay = await startRelay(server.url);
      const session = await connect(relay.url);
      try {
        await within(h2get(session, { ':path': '/' }), 5000, 'request');
        const clientSettings = relay.frames.find((f) => f.dir === 'c2s' && f.type === SETTINGS && (f.flags & FLAG_ACK) === 0)!;
        assert.equal(settingsOf(clientSettings).has(0x6), false, 'the client sent no SETTINGS_MAX_HEADER_LIST_SIZE');
      } finally {
        await closeSession(session);
        await relay.close();
      }
    });
    assert.deepEqual(settings, { enablePush: true, maxConcurrentStreams: 2 ** 32 - 1, initialWindowSize: 65_535, maxFrameSize: 16_384, maxHeaderListSize: undefined, enableConnectProtocol: false });
  },
);
