/**
 * Regression tests for the review fixes (early hints, request targets, HEAD/204 lengths,
 * partly-read bodies, Expect, HTTP/2 timeouts, cookies, Trailer, length mismatches with
 * trailers, abandoned request trailers, TLS client certificates, the access log), each
 * asserting what a real client on loopback observes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Exchange } from '../../src/interface/exchange.ts';
import type { Fields } from '../../src/interface/fields.ts';
import { isNgiError } from '../../src/interface/errors.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import { testCertificate, withServer, portOf, connectSession as connect } from '../helpers/server.ts';
import { run } from '../helpers/run.ts';
import { RawClient, delay, deferred, within } from '../helpers/raw.ts';

/** The server's error log, kept out of the test output. */
const logs: string[] = [];
const quiet: ServeOptions = { log: (line) => logs.push(line) };
const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = http2.constants;

const codeOf = (error: unknown): string => (isNgiError(error) ? error.code : `not an NgiError: ${String(error)}`);

interface H2Outcome {
  status: number | undefined;
  headers: http2.IncomingHttpHeaders | undefined;
  informational: http2.IncomingHttpHeaders[];
  continued: boolean;
  body: string;
  trailers: http2.IncomingHttpHeaders | undefined;
  ended: boolean;
  rstCode: number | undefined;
}

interface H2Options {
  /** Request body: sent with END_STREAM unless `keepOpen`. */
  body?: string;
  /** Write the body and leave the stream open (a client still sending). */
  keepOpen?: boolean;
  /** Send the body only once a 100 (Continue) arrives. */
  waitForContinue?: boolean;
}

/** One request on a node:http2 session; resolves when the stream closes, however it closes. */
function h2(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, options: H2Options = {}): Promise<H2Outcome> {
  return within(
    new Promise((resolve) => {
      const stream = session.request(headers, { endStream: options.body === undefined });
      const informational: http2.IncomingHttpHeaders[] = [];
      let response: http2.IncomingHttpHeaders | undefined;
      let trailers: http2.IncomingHttpHeaders | undefined;
      let continued = false;
      let ended = false;
      let text = '';
      stream.on('headers', (h) => informational.push(h));
      stream.on('continue', () => {
        continued = true;
        if (options.waitForContinue) stream.end(options.body);
      });
      stream.on('response', (h) => (response = h));
      stream.on('trailers', (h) => (trailers = h));
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (text += d));
      stream.on('end', () => (ended = true));
      stream.on('error', () => {});
      stream.on('close', () =>
        resolve({ status: response?.[':status'] as number | undefined, headers: response, informational, continued, body: text, trailers, ended, rstCode: stream.rstCode }),
      );
      if (options.body !== undefined && !options.waitForContinue) {
        if (options.keepOpen) stream.write(options.body);
        else stream.end(options.body);
      }
    }),
    8000,
    'HTTP/2 request',
  );
}

function closeSession(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise<void>((resolve) => {
    if (session.destroyed) return resolve();
    session.once('close', () => resolve());
    session.close();
    setTimeout(() => session.destroy(), 2000).unref();
  });
}

async function withSession<T>(url: string, fn: (s: http2.ClientHttp2Session) => Promise<T>, options: http2.SecureClientSessionOptions = {}): Promise<T> {
  const session = await connect(url, options);
  try {
    return await fn(session);
  } finally {
    await closeSession(session);
  }
}

/** node:http GET on its own connection: status, headers, body and trailers. */
function httpGet(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number | undefined; headers: http.IncomingHttpHeaders; body: string; trailers: NodeJS.Dict<string>; complete: boolean; error: string | undefined }> {
  return within(
    new Promise((resolve) => {
      const req = http.get(url, { headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        const done = (error: string | undefined): void => resolve({ status: res.statusCode, headers: res.headers, body, trailers: res.trailers, complete: res.complete, error });
        res.on('end', () => done(undefined));
        res.on('error', (e) => done(e.message));
        res.on('aborted', () => done('aborted'));
      });
      req.on('error', (e) => resolve({ status: undefined, headers: {}, body: '', trailers: {}, complete: false, error: e.message }));
    }),
    5000,
    'node:http request',
  );
}

// 1 ---------------------------------------------------------------------------------------

test('early hints: a 103 without a link field goes out on HTTP/1.1; an invalid hint value is a rejection, not a throw (both protocols)', async () => {
  const seen: { sync: string | undefined; rejection: string | undefined }[] = [];
  const app = async (ex: Exchange): Promise<void> => {
    const hints = ex.features.earlyHints;
    assert.ok(hints);
    if (ex.request.path === '/bad') {
      let promise: Promise<void> | undefined;
      let sync: string | undefined;
      try {
        promise = hints.send({ 'x-hint': 'a\r\nb' });
      } catch (error) {
        sync = codeOf(error);
      }
      let rejection: string | undefined;
      if (promise) {
        try {
          await promise;
          rejection = 'resolved';
        } catch (error) {
          rejection = codeOf(error);
        }
      }
      seen.push({ sync, rejection });
      return ex.response.send(200, {}, 'after bad hint');
    }
    // Bounded: a hint that never goes out must fail the test, not hang the server.
    await within(hints.send({ 'x-hint': 'a' }), 1000, 'early hint').catch(() => {});
    await delay(50);
    ex.response.send(200, {}, 'final');
  };
  await withServer(app, quiet, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const [hint, final] = await c.responses(2, 4000);
      assert.ok(hint && final);
      assert.match(c.text, /^HTTP\/1\.1 103 Early Hints\r\n/);
      assert.equal(hint.status, 103);
      assert.equal(hint.get('x-hint'), 'a');
      assert.equal(final.status, 200);
      assert.equal(final.body.toString(), 'final');
      // The bad hint: the response still comes, with no interim response before it.
      c.write('GET /bad HTTP/1.1\r\nHost: x\r\n\r\n');
      const [, , after] = await c.responses(3, 4000);
      assert.equal(after?.status, 200);
      assert.equal(after?.body.toString(), 'after bad hint');
      assert.ok(!/x-hint: a\r\nb/.test(c.text));
    } finally {
      c.destroy();
    }
    await withSession(server.url, async (session) => {
      const ok = await h2(session, { ':path': '/' });
      assert.deepEqual(ok.informational.map((h) => [h[':status'], h['x-hint']]), [[103, 'a']]);
      assert.equal(ok.status, 200);
      const bad = await h2(session, { ':path': '/bad' });
      assert.equal(bad.status, 200);
      assert.equal(bad.body, 'after bad hint');
      assert.deepEqual(bad.informational, []);
    });
  });
  assert.deepEqual(seen, [
    { sync: undefined, rejection: 'NGI_ERR_INVALID_FIELD_VALUE' },
    { sync: undefined, rejection: 'NGI_ERR_INVALID_FIELD_VALUE' },
  ]);
});

// 2 ---------------------------------------------------------------------------------------

test('absolute-form request target: the authority comes from the target, not Host (RFC 9112 §3.2.2)', async () => {
  const app = (ex: Exchange): void => {
    const r = ex.request;
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify({ authority: r.authority, path: r.path, query: r.query }));
  };
  await withServer(app, quiet, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET http://example.test:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n');
      const [res] = await c.responses(1);
      assert.equal(res?.status, 200);
      assert.deepEqual(JSON.parse(res!.body.toString()), { authority: 'example.test:8080', path: '/p', query: 'q=1' });
      // An absolute target without a path is the root.
      c.write('GET http://example.test?x=2 HTTP/1.1\r\nHost: other\r\n\r\n');
      const [, root] = await c.responses(2);
      assert.deepEqual(JSON.parse(root!.body.toString()), { authority: 'example.test', path: '/', query: 'x=2' });
      // Origin-form still takes Host.
      c.write('GET /o?z=3 HTTP/1.1\r\nHost: other\r\n\r\n');
      const [, , origin] = await c.responses(3);
      assert.deepEqual(JSON.parse(origin!.body.toString()), { authority: 'other', path: '/o', query: 'z=3' });
    } finally {
      c.destroy();
    }
  });
});

// 3 ---------------------------------------------------------------------------------------

test('HEAD and 204: no invented content-length: 0, a declared HEAD length is kept, 204 drops content-length (HTTP/1.1 and HTTP/2)', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    switch (ex.request.path) {
      case '/empty':
        return ex.response.send(200, {}, undefined);
      case '/42':
        return ex.response.send(200, { 'content-length': '42' });
      case '/204':
        return ex.response.send(204, { 'content-length': '5' });
      case '/204-start': {
        const w = ex.response.start(204, { 'content-length': '5' });
        return w.end();
      }
      default:
        return ex.response.send(200, {}, 'next');
    }
  };
  await withServer(app, quiet, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('HEAD /empty HTTP/1.1\r\nHost: x\r\n\r\n');
      const [empty] = await c.responses(1, 5000, { headIndexes: [0] });
      assert.equal(empty?.status, 200);
      assert.equal(empty?.get('content-length'), undefined, `HEAD /empty: ${JSON.stringify(c.text)}`);
      c.write('HEAD /42 HTTP/1.1\r\nHost: x\r\n\r\n');
      const [, declared] = await c.responses(2, 5000, { headIndexes: [0, 1] });
      assert.equal(declared?.status, 200);
      assert.equal(declared?.get('content-length'), '42');
      c.write('GET /204 HTTP/1.1\r\nHost: x\r\n\r\n');
      c.write('GET /204-start HTTP/1.1\r\nHost: x\r\n\r\n');
      // The GET after them proves no body bytes followed any of the heads.
      c.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
      const all = await c.responses(5, 5000, { headIndexes: [0, 1] });
      const [, , noContent, noContentStarted, next] = all;
      assert.equal(noContent?.status, 204);
      assert.equal(noContent?.get('content-length'), undefined, `204 (send): ${JSON.stringify(c.text)}`);
      assert.equal(noContentStarted?.status, 204);
      assert.equal(noContentStarted?.get('content-length'), undefined, `204 (start): ${JSON.stringify(c.text)}`);
      assert.equal(next?.status, 200);
      assert.equal(next?.body.toString(), 'next');
      assert.ok(c.text.endsWith('\r\n\r\nnext'), JSON.stringify(c.text));
    } finally {
      c.destroy();
    }
    await withSession(server.url, async (session) => {
      const empty = await h2(session, { ':method': 'HEAD', ':path': '/empty' });
      assert.equal(empty.status, 200);
      assert.equal(empty.headers?.['content-length'], undefined);
      const declared = await h2(session, { ':method': 'HEAD', ':path': '/42' });
      assert.equal(declared.status, 200);
      assert.equal(declared.headers?.['content-length'], '42');
      assert.equal(declared.body, '');
      assert.equal(declared.rstCode, NGHTTP2_NO_ERROR);
      for (const p of ['/204', '/204-start']) {
        const noContent = await h2(session, { ':path': p });
        assert.equal(noContent.status, 204, p);
        assert.equal(noContent.headers?.['content-length'], undefined, p);
        assert.equal(noContent.body, '');
      }
    });
  });
});

// 4 ---------------------------------------------------------------------------------------

test('HTTP/1.1 keep-alive: a partly read upload does not stall the next request on the connection', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const port = ex.connection.client.port;
    if (ex.request.path === '/upload') {
      let first = 0;
      for await (const chunk of ex.request.body) {
        first = chunk.byteLength;
        break;
      }
      return ex.response.send(200, {}, `first ${first > 0} port ${port}`);
    }
    ex.response.send(200, {}, `next port ${port}`);
  };
  // 768 KiB: beyond what the server buffers before it stops reading the socket, within the
  // 1 MiB it discards to keep a connection (a larger rest closes it: next test).
  const piece = 'u'.repeat(64 * 1024);
  const pieces = 12;
  const uploads: Record<string, string> = {
    chunked: 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    'content-length': `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${piece.length * pieces}\r\n\r\n`,
  };
  await withServer(app, { ...quiet, timeouts: { keepAlive: 20_000, request: 30_000 } }, async (server) => {
    for (const [framing, head] of Object.entries(uploads)) {
      const c = await RawClient.connect(portOf(server.url));
      try {
        const clientPort = c.socket.localPort;
        c.write(head);
        for (let i = 0; i < pieces; i++) c.write(framing === 'chunked' ? `${piece.length.toString(16)}\r\n${piece}\r\n` : piece);
        if (framing === 'chunked') c.write('0\r\n\r\n');
        const [upload] = await c.responses(1, 5000);
        assert.equal(upload?.status, 200, framing);
        assert.equal(upload?.body.toString(), `first true port ${clientPort}`);
        assert.notEqual(upload?.get('connection'), 'close', `${framing}: the connection is kept`);
        const sentAt = performance.now();
        c.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
        const [, next] = await c.responses(2, 4000);
        const elapsed = performance.now() - sentAt;
        assert.equal(next?.status, 200, framing);
        // Same client port: the same connection carried both.
        assert.equal(next?.body.toString(), `next port ${clientPort}`);
        assert.ok(elapsed < 2000, `${framing}: the second request was answered after ${elapsed.toFixed(0)} ms`);
        assert.equal(c.isClosed, false);
      } finally {
        c.destroy();
      }
    }
  });
});

test('HTTP/1.1: a partly read upload larger than the discard limit closes the connection after a complete response', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    for await (const _chunk of ex.request.body) break;
    ex.response.send(200, {}, 'partly read');
  };
  await withServer(app, { ...quiet, timeouts: { keepAlive: 20_000, request: 30_000 } }, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      const piece = 'u'.repeat(64 * 1024);
      c.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${piece.length * 64}\r\n\r\n`);
      // Written without waiting: the server stops reading, so the client's writes back up.
      for (let i = 0; i < 64; i++) c.write(piece);
      const [upload] = await c.responses(1, 5000);
      assert.equal(upload?.status, 200);
      assert.equal(upload?.body.toString(), 'partly read');
      // 4 MiB is not worth reading to keep the connection: the server closes it.
      await c.waitClosed(5000);
    } finally {
      c.destroy();
    }
  });
});

// 5 ---------------------------------------------------------------------------------------

test('HTTP/2 Expect: an unknown expectation is 417 before the app runs; 100-CONTINUE in any case gets its 100', async () => {
  let calls = 0;
  const app = async (ex: Exchange): Promise<void> => {
    calls++;
    await delay(100);
    ex.response.send(200, {}, `got ${await ex.request.body.text()}`);
  };
  await withServer(app, quiet, async (server) => {
    await withSession(server.url, async (session) => {
      const failed = await h2(session, { ':method': 'POST', ':path': '/', expect: 'something-else', 'content-length': '5' }, { body: 'hello' });
      assert.equal(failed.status, 417);
      assert.equal(failed.body, 'Expectation Failed\n');
      assert.equal(calls, 0, 'the app was not called');
      const cont = await h2(session, { ':method': 'POST', ':path': '/', expect: '100-CONTINUE', 'content-length': '5' }, { body: 'hello', waitForContinue: true });
      assert.equal(cont.continued, true, 'a 100 arrived');
      assert.equal(cont.status, 200);
      assert.equal(cont.body, 'got hello');
      assert.equal(calls, 1);
    });
  });
});

// 6 ---------------------------------------------------------------------------------------

test('HTTP/2 idle timeout: re-armed after a long stream ends; an idle session without streams is closed', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    await delay(1000);
    // '/reset': the client has reset the stream by now; nothing more is written.
    ex.response.send(200, {}, 'slow');
  };
  const sessionEnd = (session: http2.ClientHttp2Session): Promise<number> =>
    new Promise((resolve) => {
      const done = (): void => resolve(performance.now());
      session.once('goaway', done);
      session.once('close', done);
    });
  await withServer(app, { ...quiet, timeouts: { idle: 400 } }, async (server) => {
    const session = await connect(server.url);
    try {
      const ended = sessionEnd(session);
      const startedAt = performance.now();
      const r = await h2(session, { ':path': '/slow' });
      const streamEndedAt = performance.now();
      assert.equal(r.status, 200);
      assert.equal(r.body, 'slow');
      assert.ok(streamEndedAt - startedAt >= 900, 'the stream stayed open past the idle timeout');
      const endedAt = await within(ended, 3000, 'session closed by the server after the stream');
      const after = endedAt - streamEndedAt;
      assert.ok(after >= 200 && after < 1500, `closed ${after.toFixed(0)} ms after the stream ended`);
    } finally {
      session.destroy();
    }
    // A stream the client resets after the idle time: no frame follows its end, so only a
    // timer started over when the last stream ended can close the session.
    const resetSession = await connect(server.url);
    try {
      const ended = sessionEnd(resetSession);
      const stream = resetSession.request({ ':path': '/reset' });
      stream.on('error', () => {});
      stream.resume();
      await delay(700);
      const resetAt = performance.now();
      stream.close(NGHTTP2_CANCEL);
      const endedAt = await within(ended, 3000, 'session closed by the server after the reset stream');
      const after = endedAt - resetAt;
      assert.ok(after >= 200 && after < 1500, `closed ${after.toFixed(0)} ms after the stream was reset`);
    } finally {
      resetSession.destroy();
    }
    const idle = await connect(server.url);
    try {
      const connectedAt = performance.now();
      const endedAt = await within(sessionEnd(idle), 3000, 'idle session closed by the server');
      const after = endedAt - connectedAt;
      assert.ok(after >= 250 && after < 2000, `idle session closed after ${after.toFixed(0)} ms`);
    } finally {
      idle.destroy();
    }
  });
});

// 7 ---------------------------------------------------------------------------------------

test('HTTP/2 request timeout measures the client: a complete body waits for a slow app; a stalled body gets 408', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/slow-app') {
      await delay(800);
      return ex.response.send(200, {}, `echo ${await ex.request.body.text()}`);
    }
    // '/stalled': the app does not read; it waits for the exchange to be given up.
    await within(new Promise((resolve) => ex.signal.addEventListener('abort', resolve, { once: true })), 5000, 'cancellation').catch(() => {});
  };
  await withServer(app, { ...quiet, timeouts: { request: 300 } }, async (server) => {
    await withSession(server.url, async (session) => {
      const ok = await h2(session, { ':method': 'POST', ':path': '/slow-app' }, { body: 'whole body' });
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'echo whole body');
      assert.equal(ok.ended, true);
      assert.equal(ok.rstCode, NGHTTP2_NO_ERROR);
      const startedAt = performance.now();
      const stalled = await h2(session, { ':method': 'POST', ':path': '/stalled' }, { body: 'part of a body', keepOpen: true });
      const elapsed = performance.now() - startedAt;
      assert.ok(stalled.status === 408 || (stalled.status === undefined && stalled.rstCode !== NGHTTP2_NO_ERROR), `status ${stalled.status}, rstCode ${stalled.rstCode}`);
      if (stalled.status === 408) assert.equal(stalled.body, 'Request Timeout\n');
      assert.ok(elapsed >= 250 && elapsed < 4000, `given up after ${elapsed.toFixed(0)} ms`);
    });
  });
});

// 8 ---------------------------------------------------------------------------------------

test('cookies: two HTTP/1.1 Cookie lines read as "a=1; b=2"; a set-cookie array is two field lines', async () => {
  const app = (ex: Exchange): void => {
    const h = ex.request.headers;
    ex.response.send(200, { 'content-type': 'application/json', 'set-cookie': ['s=1; Path=/', 't=2; Path=/'] }, JSON.stringify({ cookie: h.get('cookie'), all: h.getAll('cookie') }));
  };
  await withServer(app, quiet, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n');
      const [res] = await c.responses(1);
      assert.ok(res);
      assert.deepEqual(JSON.parse(res.body.toString()), { cookie: 'a=1; b=2', all: ['a=1', 'b=2'] });
      assert.deepEqual(res.headers.filter(([n]) => n === 'set-cookie'), [['set-cookie', 's=1; Path=/'], ['set-cookie', 't=2; Path=/']]);
      assert.match(c.text, /\r\nset-cookie: s=1; Path=\/\r\nset-cookie: t=2; Path=\/\r\n/i);
    } finally {
      c.destroy();
    }
  });
});

// 9 ---------------------------------------------------------------------------------------

test('start(..., { trailers: [names] }) sends a Trailer field and the trailer arrives (node:http and node:http2)', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const w = ex.response.start(200, { 'content-type': 'text/plain' }, { trailers: ['x-checksum'] });
    await w.write('payload');
    await w.end({ 'x-checksum': 'abc123' });
  };
  await withServer(app, quiet, async (server) => {
    const one = await httpGet(`${server.url}/t`, { te: 'trailers' });
    assert.equal(one.status, 200);
    assert.equal(one.headers.trailer, 'x-checksum');
    assert.equal(one.body, 'payload');
    assert.equal(one.trailers['x-checksum'], 'abc123');
    await withSession(server.url, async (session) => {
      const two = await h2(session, { ':path': '/t', te: 'trailers' });
      assert.equal(two.status, 200);
      assert.equal(two.headers?.trailer, 'x-checksum');
      assert.equal(two.body, 'payload');
      assert.equal(two.trailers?.['x-checksum'], 'abc123');
    });
  });
});

// 10 --------------------------------------------------------------------------------------

test('content-length 10 with trailers, 3 bytes written: end(trailers) rejects with CONTENT_LENGTH_MISMATCH and the stream is reset', async () => {
  const results: string[] = [];
  const app = async (ex: Exchange): Promise<void> => {
    const w = ex.response.start(200, { 'content-length': '10' }, { trailers: true });
    await w.write('abc');
    try {
      await w.end({ x: '1' });
      results.push('resolved');
    } catch (error) {
      results.push(codeOf(error));
    }
  };
  await withServer(app, quiet, async (server) => {
    await withSession(server.url, async (session) => {
      const r = await h2(session, { ':path': '/', te: 'trailers' });
      assert.equal(r.status, 200);
      assert.equal(r.ended, false, 'no clean END_STREAM');
      assert.equal(r.trailers, undefined, 'no trailers');
      assert.equal(r.rstCode, NGHTTP2_INTERNAL_ERROR, `RST_STREAM from the server (rstCode ${r.rstCode})`);
    });
    // HTTP/1.1: the connection is closed before the chunked body's end.
    const one = await httpGet(`${server.url}/`, { te: 'trailers' });
    assert.equal(one.status, 200);
    assert.equal(one.complete, false);
    assert.ok(one.error, 'the client sees the response fail');
    assert.equal(one.trailers.x, undefined);
  });
  assert.deepEqual(results, ['NGI_ERR_CONTENT_LENGTH_MISMATCH', 'NGI_ERR_CONTENT_LENGTH_MISMATCH']);
});

// 11 --------------------------------------------------------------------------------------

test('request.body.trailers of an exchange that ended without reading its body rejects with STREAM_CLOSED (HTTP/2, upload still open)', async () => {
  // Wrapped: resolving a deferred with the promise itself would adopt its rejection.
  const stashed = deferred<{ trailers: Promise<Fields> }>();
  const app = (ex: Exchange): void => {
    stashed.resolve({ trailers: ex.request.body.trailers });
    ex.response.send(200, {}, 'answered without reading');
  };
  await withServer(app, quiet, async (server) => {
    await withSession(server.url, async (session) => {
      const r = await h2(session, { ':method': 'POST', ':path': '/' }, { body: 'still sending', keepOpen: true });
      assert.equal(r.status, 200);
      assert.equal(r.body, 'answered without reading');
      const { trailers } = await within(stashed.promise, 2000, 'the app ran');
      const outcome = await within(
        trailers.then(
          () => 'resolved',
          (error: unknown) => codeOf(error),
        ),
        3000,
        'request.body.trailers settles',
      );
      assert.equal(outcome, 'NGI_ERR_STREAM_CLOSED');
    });
  });
});

// 12 --------------------------------------------------------------------------------------

interface ClientCerts {
  ca: string;
  client: { cert: string; key: string };
  stranger: { cert: string; key: string };
  dir: string;
}

async function makeClientCerts(): Promise<ClientCerts> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ngi-mtls-'));
  const f = (name: string): string => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const steps: string[][] = [
    ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=NGI Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ['req', '-new', ...ec, '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=ngi-client'],
    ['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', '2', '-days', '2', '-out', f('client.crt')],
    ['req', '-x509', ...ec, '-keyout', f('stranger.key'), '-out', f('stranger.crt'), '-days', '2', '-subj', '/CN=stranger'],
  ];
  try {
    for (const args of steps) {
      const r = await run('openssl', args, { timeoutMs: 10_000 });
      assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
    }
    const read = (name: string): Promise<string> => readFile(f(name), 'utf8');
    return {
      ca: await read('ca.crt'),
      client: { cert: await read('client.crt'), key: await read('client.key') },
      stranger: { cert: await read('stranger.crt'), key: await read('stranger.key') },
      dir,
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

interface PeerReport {
  protocol: string;
  present: boolean;
  authorized: boolean | undefined;
  subject: string | undefined;
  issuer: string | undefined;
}

/** node:https (HTTP/1.1 by ALPN) with a client certificate. */
function httpsGet(url: string, identity: { cert: string; key: string }): Promise<{ status: number | undefined; body: string; error: string | undefined }> {
  return within(
    new Promise((resolve) => {
      const req = https.get(url, { ...identity, rejectUnauthorized: false, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body, error: undefined }));
        res.on('error', (e) => resolve({ status: res.statusCode, body, error: e.message }));
      });
      req.on('error', (e) => resolve({ status: undefined, body: '', error: e.message }));
    }),
    5000,
    'https request',
  );
}

test('TLS client certificates: verified against ca (CA-signed accepted, stranger refused); without ca only reported', async () => {
  const certs = await makeClientCerts();
  let calls = 0;
  const app = (ex: Exchange): void => {
    calls++;
    const tls = ex.connection.tls;
    const report: PeerReport = {
      protocol: ex.protocol,
      present: tls?.peerCertificate !== undefined,
      authorized: tls?.peerCertificateAuthorized,
      subject: tls?.peerCertificate?.subject,
      issuer: tls?.peerCertificate?.issuer,
    };
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify(report));
  };
  try {
    await withServer(app, { ...quiet, tls: { ...testCertificate(), requestCert: true, ca: certs.ca } }, async (server) => {
      // node:https over HTTP/1.1.
      const one = await httpsGet(`${server.url}/`, certs.client);
      assert.equal(one.status, 200, one.error);
      const seen = JSON.parse(one.body) as PeerReport;
      assert.equal(seen.protocol, 'http/1.1');
      assert.equal(seen.authorized, true);
      assert.match(seen.subject ?? '', /CN=ngi-client/);
      assert.match(seen.issuer ?? '', /CN=NGI Test CA/);
      // node:http2 over h2.
      await withSession(
        server.url,
        async (session) => {
          const r = await h2(session, { ':path': '/' });
          const h2seen = JSON.parse(r.body) as PeerReport;
          assert.equal(h2seen.protocol, 'h2');
          assert.equal(h2seen.authorized, true);
          assert.match(h2seen.subject ?? '', /CN=ngi-client/);
        },
        certs.client,
      );
      // curl with the client certificate.
      const curlOk = await run('curl', ['-s', '-k', '--http2', '--cert', path.join(certs.dir, 'client.crt'), '--key', path.join(certs.dir, 'client.key'), `${server.url}/`], { timeoutMs: 10_000 });
      assert.equal(curlOk.code, 0, curlOk.stderr);
      assert.equal((JSON.parse(curlOk.stdout.toString()) as PeerReport).authorized, true);
      const before = calls;
      // A self-signed certificate from outside the CA: refused at the handshake.
      const refused = await httpsGet(`${server.url}/`, certs.stranger);
      assert.equal(refused.status, undefined, `the stranger got an answer: ${refused.body}`);
      assert.ok(refused.error, 'the client sees the handshake fail');
      const curlRefused = await run('curl', ['-s', '-k', '--cert', path.join(certs.dir, 'stranger.crt'), '--key', path.join(certs.dir, 'stranger.key'), `${server.url}/`], { timeoutMs: 10_000 });
      assert.notEqual(curlRefused.code, 0, `curl with the stranger's certificate: ${curlRefused.stdout.toString()}`);
      assert.equal(calls, before, 'the app never ran for the stranger');
    });
    // requestCert without ca: the certificate is taken and reported as not authorized.
    await withServer(app, { ...quiet, tls: { ...testCertificate(), requestCert: true } }, async (server) => {
      const r = await httpsGet(`${server.url}/`, certs.stranger);
      assert.equal(r.status, 200, r.error);
      const seen = JSON.parse(r.body) as PeerReport;
      assert.equal(seen.present, true);
      assert.equal(seen.authorized, false);
      assert.match(seen.subject ?? '', /CN=stranger/);
    });
  } finally {
    await rm(certs.dir, { recursive: true, force: true });
  }
});

// 13 --------------------------------------------------------------------------------------

test('access log: an exchange the client reset before the answer is logged with status -, cancelled, and the client address', async () => {
  const lines: string[] = [];
  let arrived = deferred<void>();
  // Answers only once the client has gone (or after 5 s): the reset comes first however slow the machine.
  const app = async (ex: Exchange): Promise<void> => {
    arrived.resolve();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      ex.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    ex.response.send(200, {}, 'too late');
  };
  const waitForLine = async (pattern: RegExp): Promise<string> => {
    for (let i = 0; i < 150; i++) {
      const line = lines.find((l) => pattern.test(l));
      if (line) return line;
      await delay(20);
    }
    throw new Error(`no access log line matching ${pattern}; got ${JSON.stringify(lines)}`);
  };
  await withServer(app, { accessLog: true, log: (line) => lines.push(line) }, async (server) => {
    await withSession(server.url, async (session) => {
      const stream = session.request({ ':path': '/gone' });
      stream.on('error', () => {});
      stream.resume();
      await within(arrived.promise, 5000, 'the request at the app');
      stream.close(NGHTTP2_CANCEL);
      const line = await waitForLine(/ \/gone /);
      assert.match(line, /^127\.0\.0\.1 h2c GET \/gone - 0B [\d.]+ms cancelled$/);
    });
    arrived = deferred<void>();
    const c = await RawClient.connect(portOf(server.url));
    c.write('GET /gone-h1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(arrived.promise, 5000, 'the request at the app');
    c.destroy();
    const line = await waitForLine(/ \/gone-h1 /);
    assert.match(line, /^127\.0\.0\.1 http\/1\.1 GET \/gone-h1 - 0B [\d.]+ms cancelled$/);
  });
});
