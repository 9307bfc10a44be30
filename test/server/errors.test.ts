/**
 * Failure handling as clients observe it, on HTTP/1.1 and HTTP/2: application errors,
 * invalid responses, resets both ways, limits, timeouts and malformed requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import { Agent, request as undiciRequest } from 'undici';
import type { Exchange } from '../../src/interface/exchange.ts';
import { NgiError, isNgiError } from '../../src/interface/errors.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import { withServer, portOf, TEST_HTTP2_ENGINE } from '../helpers/server.ts';
import { RawClient, delay, deferred, parseResponses, within } from '../helpers/raw.ts';

/** The server's error log, kept out of the test output. */
const logs: string[] = [];
const quiet: ServeOptions = { log: (line) => logs.push(line) };
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = http2.constants;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP/1.1 request with undici on its own connection. */
async function h1(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const agent = new Agent();
  try {
    const res = await undiciRequest(url, { dispatcher: agent, method: (options.method ?? 'GET') as 'GET', ...(options.headers ? { headers: options.headers } : {}), ...(options.body !== undefined ? { body: options.body } : {}) });
    return { status: res.statusCode, headers: res.headers as Reply['headers'], body: await res.body.text() };
  } finally {
    await agent.close();
  }
}

interface H2Outcome {
  status: number | undefined;
  headers: http2.IncomingHttpHeaders | undefined;
  body: string;
  rstCode: number | undefined;
}

/** One request on a node:http2 session; resolves when the stream closes, however it closes. */
function h2(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | string[]): Promise<H2Outcome> {
  return within(
    new Promise((resolve) => {
      const stream = session.request(headers, { endStream: body === undefined });
      let response: http2.IncomingHttpHeaders | undefined;
      let text = '';
      stream.on('response', (h) => (response = h));
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (text += d));
      stream.on('error', () => {});
      stream.on('close', () => resolve({ status: response?.[':status'] as number | undefined, headers: response, body: text, rstCode: stream.rstCode }));
      if (typeof body === 'string') stream.end(body);
      else if (Array.isArray(body)) {
        for (const part of body) stream.write(part);
        stream.end();
      }
    }),
    8000,
    'HTTP/2 request',
  );
}

async function withSession<T>(url: string, fn: (s: http2.ClientHttp2Session) => Promise<T>, options: http2.ClientSessionOptions = {}): Promise<T> {
  const session = http2.connect(url, options);
  session.on('error', () => {});
  try {
    return await fn(session);
  } finally {
    await new Promise<void>((resolve) => {
      if (session.destroyed) return resolve();
      session.once('close', () => resolve());
      session.close();
      setTimeout(() => session.destroy(), 2000).unref();
    });
  }
}

/** Runs `fn` against a server for each protocol: HTTP/1.1 with undici, h2c with node:http2. */
async function onBoth(app: (ex: Exchange) => unknown, options: ServeOptions, fn: (server: { url: string }, request: (path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{ status: number | undefined; body: string; headers: Record<string, unknown> }>, protocol: 'h1' | 'h2') => Promise<void>): Promise<void> {
  await withServer(app as (ex: Exchange) => void, { ...quiet, ...options }, async (server) => {
    await fn(server, async (path, init = {}) => {
      const r = await h1(`${server.url}${path}`, init);
      return { status: r.status, body: r.body, headers: r.headers };
    }, 'h1');
    await withSession(server.url, (session) =>
      fn(server, async (path, init = {}) => {
        const r = await h2(session, { ':method': init.method ?? 'GET', ':path': path, ...init.headers }, init.body);
        return { status: r.status, body: r.body, headers: (r.headers ?? {}) as Record<string, unknown> };
      }, 'h2'),
    );
  });
}

test('an app that throws before responding gets 500 without details; debug: true shows the stack', async () => {
  const app = (): void => {
    throw new Error('boom-secret');
  };
  await onBoth(app, {}, async (_server, request, protocol) => {
    const r = await request('/');
    assert.equal(r.status, 500, protocol);
    assert.equal(r.body, 'Internal Server Error\n', protocol);
    assert.ok(!r.body.includes('boom-secret'));
  });
  await onBoth(app, { debug: true }, async (_server, request, protocol) => {
    const r = await request('/');
    assert.equal(r.status, 500, protocol);
    assert.match(r.body, /Error: boom-secret\n\s+at /, protocol);
    assert.match(r.body, /errors\.test\.ts/);
  });
});

test('an async rejection and a handler that returns without responding both get 500', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    await delay(5);
    if (ex.request.path === '/reject') throw new TypeError('async failure');
    // '/silent': returns without a response.
  };
  await onBoth(app, {}, async (_server, request, protocol) => {
    for (const path of ['/reject', '/silent']) {
      const r = await request(path);
      assert.equal(r.status, 500, `${protocol} ${path}`);
      assert.equal(r.body, 'Internal Server Error\n');
    }
  });
});

test('invalid response fields: send() throws synchronously, nothing is sent, an uncaught throw is a 500', async () => {
  const errors: unknown[] = [];
  const app = (ex: Exchange): void => {
    const bad = ex.request.path === '/name' ? { 'x bad name': 'v' } : { 'x-a': 'a\r\nx-injected: yes' };
    try {
      ex.response.send(200, bad, 'never');
    } catch (error) {
      errors.push(error);
      assert.equal(ex.response.state, 'pending', 'a refused send() leaves the response pending');
      if (ex.request.path === '/recover') return ex.response.send(200, { 'x-a': 'clean' }, 'recovered');
      throw error;
    }
  };
  await onBoth(app, {}, async (server, request, protocol) => {
    errors.length = 0;
    const r = await request('/value');
    assert.equal(r.status, 500, protocol);
    assert.equal(r.headers['x-injected'], undefined);
    assert.equal(r.headers['x-a'], undefined);
    assert.ok(!r.body.includes('never'));
    const n = await request('/name');
    assert.equal(n.status, 500);
    const recovered = await request('/recover');
    assert.equal(recovered.status, 200);
    assert.equal(recovered.body, 'recovered');
    assert.equal(recovered.headers['x-a'], 'clean');
    assert.deepEqual(errors.map((e) => (isNgiError(e) ? e.code : String(e))), ['NGI_ERR_INVALID_FIELD_VALUE', 'NGI_ERR_INVALID_FIELD_NAME', 'NGI_ERR_INVALID_FIELD_VALUE']);
    if (protocol === 'h1') {
      // On the wire: no injected line, whatever a lenient client would parse.
      const c = await RawClient.connect(portOf(server.url));
      try {
        c.write('GET /value HTTP/1.1\r\nHost: x\r\n\r\n');
        const [res] = await c.responses(1);
        assert.equal(res?.status, 500);
        assert.ok(!/x-injected/i.test(c.text), c.text);
      } finally {
        c.destroy();
      }
    }
  });
});

test('a throw after start(): HTTP/2 stream reset INTERNAL_ERROR, HTTP/1.1 connection closed mid-body', async () => {
  logs.length = 0;
  const app = async (ex: Exchange): Promise<void> => {
    const w = ex.response.start(200, { 'content-type': 'text/plain' });
    await w.write('partial');
    await delay(20);
    if (ex.request.path === '/throw') throw new Error('after start');
    // '/open': returns with the body still open.
  };
  await withServer(app, quiet, async (server) => {
    for (const path of ['/throw', '/open']) {
      await withSession(server.url, async (session) => {
        const r = await h2(session, { ':path': path });
        assert.equal(r.status, 200, path);
        assert.equal(r.body, 'partial');
        assert.equal(r.rstCode, NGHTTP2_INTERNAL_ERROR, path);
      });
      // undici: the headers arrive, then reading the body fails.
      const agent = new Agent();
      try {
        const res = await undiciRequest(`${server.url}${path}`, { dispatcher: agent });
        assert.equal(res.statusCode, 200);
        await assert.rejects(res.body.text(), /other side closed|terminated|aborted|socket/i);
      } finally {
        await agent.close();
      }
      // node:http: the response is aborted before its end.
      const outcome = await within(
        new Promise<{ complete: boolean; error: string | undefined; body: string }>((resolve) => {
          const req = http.get(`${server.url}${path}`, { agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('error', (e) => resolve({ complete: res.complete, error: e.message, body }));
            res.on('end', () => resolve({ complete: res.complete, error: undefined, body }));
          });
          req.on('error', (e) => resolve({ complete: false, error: e.message, body: '' }));
        }),
        5000,
        'node:http request',
      );
      assert.equal(outcome.complete, false, path);
      assert.equal(outcome.body, 'partial');
      assert.ok(outcome.error, `${path}: the client sees an error`);
    }
    assert.equal(logs.filter((l) => l.includes('Error: after start')).length, 3);
    assert.equal(logs.filter((l) => l.includes('NGI_ERR_INCOMPLETE_RESPONSE')).length, 3);
  });
});

test('a client reset mid-response aborts exchange.signal and rejects the pending write with STREAM_CLOSED', async () => {
  logs.length = 0;
  let observed = deferred<{ aborted: boolean; reason: unknown; writeError: unknown; pendingAtAbort: boolean }>();
  const app = async (ex: Exchange): Promise<void> => {
    let pending = false;
    let pendingAtAbort = false;
    ex.signal.addEventListener('abort', () => (pendingAtAbort = pending));
    const w = ex.response.start(200, { 'content-type': 'application/octet-stream' });
    const chunk = new Uint8Array(16 * 1024);
    try {
      // Bounded: 4096 x 16 KiB = 64 MiB, far more than any buffer on the way.
      for (let i = 0; i < 4096; i++) {
        pending = true;
        await w.write(chunk);
        pending = false;
      }
      observed.resolve({ aborted: ex.signal.aborted, reason: ex.signal.reason, writeError: undefined, pendingAtAbort });
      await w.end();
    } catch (error) {
      observed.resolve({ aborted: ex.signal.aborted, reason: ex.signal.reason, writeError: error, pendingAtAbort });
      throw error;
    }
  };
  const check = async (label: string): Promise<void> => {
    const seen = await within(observed.promise, 5000, `${label}: app outcome`);
    assert.ok(seen.aborted, `${label}: signal aborted`);
    assert.ok(isNgiError(seen.reason) && seen.reason.code === 'NGI_ERR_STREAM_CLOSED', `${label}: reason ${String(seen.reason)}`);
    assert.ok(isNgiError(seen.writeError), `${label}: write rejected with ${String(seen.writeError)}`);
    assert.equal(seen.writeError.code, 'NGI_ERR_STREAM_CLOSED');
    assert.ok(seen.pendingAtAbort, `${label}: a write was waiting for the transport when the client reset`);
  };
  await withServer(app, quiet, async (server) => {
    await withSession(server.url, async (session) => {
      const stream = session.request({ ':path': '/big' });
      stream.on('error', () => {});
      // Read nothing: the server's writes stop at the flow-control window.
      stream.pause();
      await within(new Promise((resolve) => stream.once('response', resolve)), 5000, 'response head');
      await delay(200);
      stream.close(NGHTTP2_CANCEL);
      await check('h2');
      // The session is still usable.
      observed = deferred();
      const stream2 = session.request({ ':path': '/big' });
      stream2.on('error', () => {});
      stream2.pause();
      await within(new Promise((resolve) => stream2.once('response', resolve)), 5000, 'second response head');
      stream2.close(NGHTTP2_CANCEL);
      await check('h2, second stream');
    });
    observed = deferred();
    const c = await RawClient.connect(portOf(server.url));
    c.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.until((t) => t.includes('\r\n\r\n'), 5000);
    c.socket.pause();
    await delay(300);
    c.destroy();
    await check('h1');
    // A write failing because the client left is not an application error.
    await delay(50);
    assert.deepEqual(logs.filter((l) => l.includes('STREAM_CLOSED')), []);
  });
});

test('431 for an oversize HTTP/1.1 header section, before the app runs', async () => {
  let calls = 0;
  const app = (ex: Exchange): void => {
    calls++;
    ex.response.send(200, {}, 'ok');
  };
  await withServer(app, { ...quiet, limits: { maxHeaderSize: 2048 } }, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`);
      const [res] = await c.responses(1);
      assert.equal(res?.status, 431);
      await c.waitClosed(2000);
    } finally {
      c.destroy();
    }
    assert.equal(calls, 0);
    assert.equal((await h1(`${server.url}/`, { headers: { 'x-small': 'a'.repeat(500) } })).status, 200);
  });
});

test('HTTP/2 header lists: limits.maxHeaderSize is advertised and enforced, the session lives on', async () => {
  const sizes: number[] = [];
  const app = (ex: Exchange): void => {
    let size = 0;
    for (const [name, value] of ex.request.headers) size += name.length + value.length;
    sizes.push(size);
    ex.response.send(200, {}, 'ok');
  };
  // Random base64 values: HPACK cannot shrink them much.
  const noise = (n: number): string => randomBytes(n).toString('base64').slice(0, n);
  await withServer(app, { ...quiet, limits: { maxHeaderSize: 2048 } }, async (server) => {
    await withSession(
      server.url,
      async (session) => {
        await within(new Promise((resolve) => session.once('remoteSettings', resolve)), 5000, 'settings');
        // The HTTP/1.1 header limit is advertised as SETTINGS_MAX_HEADER_LIST_SIZE.
        assert.equal(session.remoteSettings.maxHeaderListSize, 2048);
        // Within the limit: taken.
        const fits = await h2(session, { ':path': '/', 'x-a': noise(1500) });
        assert.equal(fits.status, 200);
        // 8 fields of 400 bytes (3.2 KB) are over it: refused before the app runs.
        const many: http2.OutgoingHttpHeaders = { ':path': '/' };
        for (let i = 0; i < 8; i++) many[`x-f${i}`] = noise(400);
        const big = await h2(session, many);
        assert.equal(big.status, undefined);
        assert.ok(big.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM || big.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM, `rst code ${big.rstCode}`);
        assert.equal(sizes.length, 1, 'the app was not called for the oversize list');
        // More than 128 field lines (maxHeaderListPairs) are refused with ENHANCE_YOUR_CALM.
        const pairs: http2.OutgoingHttpHeaders = { ':path': '/' };
        for (let i = 0; i < 130; i++) pairs[`x-p${i}`] = 'v';
        const refused = await h2(session, pairs);
        assert.equal(refused.status, undefined);
        assert.equal(refused.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        assert.equal(sizes.length, 1, 'the app was not called');
        // The session survives both refusals.
        const next = await h2(session, { ':path': '/', 'x-small': 'a'.repeat(500) });
        assert.equal(next.status, 200);
        assert.equal(next.body, 'ok');
      },
      { maxSendHeaderBlockLength: 1 << 20 },
    );
    // One field over nghttp2's 64 KiB HPACK limit is a connection error: GOAWAY
    // COMPRESSION_ERROR. The server survives and takes new connections.
    const goaway = deferred<number>();
    await withSession(
      server.url,
      async (session) => {
        session.once('goaway', (code) => goaway.resolve(code));
        const huge = await h2(session, { ':path': '/', 'x-huge': noise(100_000) });
        assert.equal(huge.status, undefined);
        // NGI's own framing does not buffer a header block that large: ENHANCE_YOUR_CALM.
        const expected = TEST_HTTP2_ENGINE === 'ngi' ? http2.constants.NGHTTP2_ENHANCE_YOUR_CALM : http2.constants.NGHTTP2_COMPRESSION_ERROR;
        assert.equal(await within(goaway.promise, 3000, 'GOAWAY'), expected);
      },
      { maxSendHeaderBlockLength: 1 << 20 },
    );
    await withSession(server.url, async (session) => {
      assert.equal((await h2(session, { ':path': '/' })).status, 200);
    });
    // The app ran for the fitting list, the request after the refusals, and the last one.
    assert.equal(sizes.length, 3);
  });
});

test('413 when Content-Length exceeds limits.maxBodySize, before the app runs', async () => {
  let calls = 0;
  const app = async (ex: Exchange): Promise<void> => {
    calls++;
    ex.response.send(200, {}, await ex.request.body.text());
  };
  await withServer(app, { ...quiet, limits: { maxBodySize: 1000 } }, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n');
      const [res] = await c.responses(1);
      assert.equal(res?.status, 413);
      assert.equal(res?.body.toString(), 'Content Too Large\n');
      // The unread body makes the connection unusable: it is closed.
      assert.equal(res?.get('connection'), 'close');
      await c.waitClosed(2000);
    } finally {
      c.destroy();
    }
    await withSession(server.url, async (session) => {
      const r = await h2(session, { ':method': 'POST', ':path': '/', 'content-length': '5000' }, 'x'.repeat(5000));
      assert.equal(r.status, 413);
      assert.equal(r.body, 'Content Too Large\n');
    });
    assert.equal(calls, 0, 'the handler was never called');
    // At the limit, it is served.
    assert.equal((await h1(`${server.url}/`, { method: 'POST', body: 'y'.repeat(1000) })).body.length, 1000);
    assert.equal(calls, 1);
  });
});

test('413 when a body without a length grows past limits.maxBodySize while the app reads it', async () => {
  const codes: string[] = [];
  const app = async (ex: Exchange): Promise<void> => {
    try {
      const body = await ex.request.body.bytes();
      ex.response.send(200, {}, `read ${body.length}`);
    } catch (error) {
      codes.push(isNgiError(error) ? error.code : String(error));
      throw error;
    }
  };
  await withServer(app, { ...quiet, limits: { maxBodySize: 1000 } }, async (server) => {
    const chunked = await within(
      new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
        const req = http.request(`${server.url}/`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
        for (let i = 0; i < 3; i++) req.write('z'.repeat(600));
        req.end();
      }),
      5000,
      'chunked upload',
    );
    assert.equal(chunked.status, 413);
    assert.equal(chunked.body, 'Content Too Large\n');
    await withSession(server.url, async (session) => {
      const r = await h2(session, { ':method': 'POST', ':path': '/' }, ['z'.repeat(600), 'z'.repeat(600), 'z'.repeat(600)]);
      assert.equal(r.status, 413);
      const small = await h2(session, { ':method': 'POST', ':path': '/' }, ['z'.repeat(400), 'z'.repeat(400)]);
      assert.equal(small.status, 200);
      assert.equal(small.body, 'read 800');
    });
    assert.deepEqual(codes, ['NGI_ERR_BODY_TOO_LARGE', 'NGI_ERR_BODY_TOO_LARGE']);
  });
});

test('body.json() on invalid JSON is a 400', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const value = await ex.request.body.json();
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify({ value }));
  };
  await onBoth(app, {}, async (_server, request, protocol) => {
    const bad = await request('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": 1,' });
    assert.equal(bad.status, 400, protocol);
    assert.equal(bad.body, 'Bad Request\n');
    const good = await request('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": 1}' });
    assert.equal(good.status, 200);
    assert.equal(good.body, '{"value":{"a":1}}');
  });
});

test('408 for a slow HTTP/1.1 header section (slowloris), then the connection closes', async () => {
  let calls = 0;
  const app = (ex: Exchange): void => {
    calls++;
    ex.response.send(200, {}, 'ok');
  };
  await withServer(app, { ...quiet, timeouts: { headers: 500 } }, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET / HTTP/1.1\r\nHost: x\r\n');
      // One header line every 100 ms: never finishing, always sending.
      for (let i = 0; i < 30 && c.text === '' && !c.isClosed; i++) {
        c.write(`X-Slow-${i}: ${i}\r\n`);
        await delay(100);
      }
      await c.waitClosed(3000);
      const [res] = parseResponses(c.data);
      assert.equal(res?.status, 408);
      assert.ok(c.closedAt !== undefined && c.closedAt >= 450 && c.closedAt < 2500, `closed after ${c.closedAt} ms`);
    } finally {
      c.destroy();
    }
    assert.equal(calls, 0);
    // A connection that sends nothing at all is closed too.
    const idle = await RawClient.connect(portOf(server.url));
    try {
      await idle.waitClosed(3000);
      assert.ok(idle.closedAt !== undefined && idle.closedAt < 2500);
    } finally {
      idle.destroy();
    }
    assert.equal((await h1(`${server.url}/`)).status, 200);
  });
});

test('408 for an HTTP/2 request body that stalls past timeouts.request', async () => {
  const outcome = deferred<{ aborted: boolean; reason: unknown; readError: unknown }>();
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/stream') {
      const w = ex.response.start(200, { 'content-type': 'text/plain' });
      await w.write('streaming;');
      await ex.request.body.text();
      return w.end('never');
    }
    try {
      const text = await ex.request.body.text();
      ex.response.send(200, {}, text);
      outcome.resolve({ aborted: ex.signal.aborted, reason: ex.signal.reason, readError: undefined });
    } catch (error) {
      outcome.resolve({ aborted: ex.signal.aborted, reason: ex.signal.reason, readError: error });
      throw error;
    }
  };
  await withServer(app, { ...quiet, timeouts: { request: 500 } }, async (server) => {
    await withSession(server.url, async (session) => {
      const startedAt = performance.now();
      const r = await within(
        new Promise<{ status: unknown; body: string }>((resolve) => {
          const stream = session.request({ ':method': 'POST', ':path': '/' }, { endStream: false });
          stream.write('start of a body that never ends');
          let status: unknown;
          let body = '';
          stream.on('response', (h) => (status = h[':status']));
          stream.setEncoding('utf8');
          stream.on('data', (d: string) => (body += d));
          stream.on('error', () => {});
          stream.on('close', () => resolve({ status, body }));
        }),
        5000,
        'stalled upload',
      );
      const elapsed = performance.now() - startedAt;
      assert.equal(r.status, 408);
      assert.equal(r.body, 'Request Timeout\n');
      assert.ok(elapsed >= 450 && elapsed < 3000, `answered after ${elapsed.toFixed(0)} ms`);
      const seen = await within(outcome.promise, 3000, 'app outcome');
      assert.ok(seen.aborted);
      assert.ok(isNgiError(seen.reason) && seen.reason.code === 'NGI_ERR_REQUEST_TIMEOUT');
      assert.ok(seen.readError instanceof NgiError, `the pending read failed: ${String(seen.readError)}`);
      // The session survives: a complete request on it is served.
      const ok = await h2(session, { ':method': 'POST', ':path': '/' }, 'quick');
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'quick');
      // A response already streaming when the upload stalls is reset, never ended cleanly.
      const started = await within(
        new Promise<{ status: unknown; body: string; ended: boolean; rstCode: number | undefined }>((resolve) => {
          const stream = session.request({ ':method': 'POST', ':path': '/stream' }, { endStream: false });
          stream.write('some');
          let status: unknown;
          let body = '';
          let ended = false;
          stream.on('response', (h) => (status = h[':status']));
          stream.setEncoding('utf8');
          stream.on('data', (d: string) => (body += d));
          stream.on('end', () => (ended = true));
          stream.on('error', () => {});
          stream.on('close', () => resolve({ status, body, ended, rstCode: stream.rstCode }));
        }),
        5000,
        'stalled upload with a started response',
      );
      assert.equal(started.status, 200);
      assert.equal(started.body, 'streaming;');
      assert.equal(started.ended, false, 'no END_STREAM');
      assert.ok(started.rstCode === NGHTTP2_INTERNAL_ERROR || started.rstCode === NGHTTP2_CANCEL, `rstCode ${started.rstCode}`);
    });
  });
});

test('malformed HTTP/1.1 requests get 400 and the server keeps serving', async () => {
  let calls = 0;
  const app = (ex: Exchange): void => {
    calls++;
    ex.response.send(200, {}, 'ok');
  };
  const malformed: Record<string, string> = {
    'TE and CL': 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
    'bare LF': 'GET / HTTP/1.1\nHost: x\n\n',
    'space before colon': 'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
    'conflicting Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n',
    'no Host': 'GET / HTTP/1.1\r\n\r\n',
  };
  await withServer(app, quiet, async (server) => {
    for (const [name, bytes] of Object.entries(malformed)) {
      const c = await RawClient.connect(portOf(server.url));
      try {
        c.write(bytes);
        await c.waitClosed(3000);
        const [res] = parseResponses(c.data);
        assert.equal(res?.status, 400, `${name}: ${JSON.stringify(c.text)}`);
      } finally {
        c.destroy();
      }
      const fine = await h1(`${server.url}/after`);
      assert.equal(fine.status, 200, `served after ${name}`);
    }
    // Only the well-formed requests reached the app.
    assert.equal(calls, Object.keys(malformed).length);
  });
});
