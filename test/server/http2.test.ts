/**
 * HTTP/2 conformance with real clients on loopback: curl (h2c prior knowledge and h2 over
 * TLS), nghttp (several streams on one connection), undici (allowH2) and node:http2's
 * client (trailers, 1xx, settings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Agent, request as undiciRequest } from 'undici';
import type { Exchange } from '../../src/interface/exchange.ts';
import type { Http2PeerSettings } from '../../src/interface/features.ts';
import type { TlsInfo } from '../../src/interface/connection.ts';
import { testCertificate, withServer, portOf, connectSession as connect } from '../helpers/server.ts';
import { run } from '../helpers/run.ts';
import { delay, deferred, parseResponses, within } from '../helpers/raw.ts';


interface Echo {
  protocol: string;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: string;
  connectionId: number;
  streamId: number | undefined;
  tls: TlsInfo | undefined;
  peerSettings: Http2PeerSettings | undefined;
}

async function echoApp(ex: Exchange): Promise<void> {
  const r = ex.request;
  const echo: Echo = {
    protocol: ex.protocol,
    method: r.method,
    scheme: r.scheme,
    authority: r.authority,
    path: r.path,
    query: r.query,
    headers: [...r.headers].map(([n, v]) => [n, v]),
    body: await r.body.text(),
    connectionId: ex.connection.id,
    streamId: ex.features.http2?.streamId,
    tls: ex.connection.tls,
    peerSettings: ex.features.http2?.peerSettings,
  };
  const tls = ex.connection.tls;
  const json = JSON.stringify({ ...echo, tls: tls && { alpnProtocol: tls.alpnProtocol, version: tls.version, cipher: tls.cipher, serverName: tls.serverName } });
  ex.response.send(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] }, json);
}

interface H2Result {
  headers: http2.IncomingHttpHeaders;
  /** 1xx heads received before the final one. */
  informational: http2.IncomingHttpHeaders[];
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

/** One request on a node:http2 session; resolves when the stream closes. */
function h2request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string, options: http2.ClientSessionRequestOptions = {}): Promise<H2Result> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined, ...options });
    const informational: http2.IncomingHttpHeaders[] = [];
    const chunks: Buffer[] = [];
    let final: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    stream.on('headers', (h) => informational.push(h));
    stream.on('response', (h) => (final = h));
    stream.on('trailers', (h) => (trailers = h));
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('error', reject);
    stream.on('close', () => {
      if (final === undefined) reject(new Error(`stream closed without a response (rstCode ${stream.rstCode})`));
      else resolve({ headers: final, informational, body: Buffer.concat(chunks), trailers });
    });
    if (body !== undefined) stream.end(body);
  });
}

async function withSession<T>(url: string, fn: (s: http2.ClientHttp2Session) => Promise<T>, options: http2.SecureClientSessionOptions = {}): Promise<T> {
  const session = await connect(url, options);
  try {
    return await fn(session);
  } finally {
    // A graceful close, awaited, so the server sees the connection go before it shuts down.
    await new Promise<void>((resolve) => {
      if (session.destroyed) return resolve();
      session.once('close', () => resolve());
      session.close();
      setTimeout(() => session.destroy(), 2000).unref();
    });
  }
}

test('curl --http2-prior-knowledge: h2c, request as the app sees it, separate set-cookie fields', async () => {
  await withServer(echoApp, {}, async (server) => {
    const r = await run('curl', ['-s', '-i', '--http2-prior-knowledge', '-X', 'PUT', '-H', 'X-Dup: 1', '-H', 'X-Dup: 2', '--data-binary', 'body!', `${server.url}/p/q?z=9`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const [res] = parseResponses(r.stdout);
    assert.ok(res);
    assert.equal(res.version, 'HTTP/2');
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v), ['a=1', 'b=2']);
    const echo = JSON.parse(res.body.toString()) as Echo;
    assert.equal(echo.protocol, 'h2c');
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.scheme, 'http');
    assert.equal(echo.authority, `127.0.0.1:${portOf(server.url)}`);
    assert.equal(echo.path, '/p/q');
    assert.equal(echo.query, 'z=9');
    assert.equal(echo.body, 'body!');
    assert.ok(!echo.headers.some(([n]) => n.startsWith(':')), 'no pseudo-header fields');
    assert.deepEqual(echo.headers.filter(([n]) => n === 'x-dup'), [['x-dup', '1'], ['x-dup', '2']]);
    assert.equal(echo.tls, undefined);
    assert.equal(echo.streamId, 1);
  });
});

test('curl --http2 over TLS: h2 by ALPN, TLS info with SNI; http/1.1 by ALPN too', async () => {
  await withServer(echoApp, { tls: testCertificate() }, async (server) => {
    const port = portOf(server.url);
    const url = `https://localhost:${port}/tls`;
    const resolve = ['--resolve', `localhost:${port}:127.0.0.1`];
    const r = await run('curl', ['-s', '-k', '--http2', ...resolve, url], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const echo = JSON.parse(r.stdout.toString()) as Echo;
    assert.equal(echo.protocol, 'h2');
    assert.equal(echo.scheme, 'https');
    assert.equal(echo.authority, `localhost:${port}`);
    assert.ok(echo.tls);
    assert.equal(echo.tls.alpnProtocol, 'h2');
    assert.match(echo.tls.version, /^TLSv1\.[23]$/);
    assert.match(echo.tls.cipher, /^TLS_|ECDHE|AES|CHACHA/);
    assert.equal(echo.tls.serverName, 'localhost');
    const one = await run('curl', ['-s', '-k', '--http1.1', ...resolve, url], { timeoutMs: 10_000 });
    const echo1 = JSON.parse(one.stdout.toString()) as Echo;
    assert.equal(echo1.protocol, 'http/1.1');
    assert.equal(echo1.scheme, 'https');
    assert.equal(echo1.tls?.alpnProtocol, 'http/1.1');
    // An IP literal carries no SNI.
    const ip = await run('curl', ['-s', '-k', '--http2', `https://127.0.0.1:${port}/`], { timeoutMs: 10_000 });
    const echoIp = JSON.parse(ip.stdout.toString()) as Echo;
    assert.equal(echoIp.protocol, 'h2');
    assert.equal(echoIp.tls?.serverName, undefined);
  });
});

test('nghttp: concurrent streams on one connection (same connection id, distinct stream ids)', async () => {
  const seen: { path: string; connectionId: number; streamId: number | undefined }[] = [];
  const allArrived = deferred<void>();
  const app = async (ex: Exchange): Promise<void> => {
    seen.push({ path: ex.request.path, connectionId: ex.connection.id, streamId: ex.features.http2?.streamId });
    if (seen.length === 3) allArrived.resolve();
    // Every response waits for all three requests: they can only complete if the streams
    // are open at the same time on the connection.
    await within(allArrived.promise, 5000, 'three concurrent streams');
    ex.response.send(200, { 'content-type': 'text/plain' }, ex.request.path);
  };
  await withServer(app, {}, async (server) => {
    const r = await run('nghttp', ['-nv', `${server.url}/a`, `${server.url}/b`, `${server.url}/c`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout.toString());
    const out = r.stdout.toString();
    assert.match(out, /recv SETTINGS frame <length=\d+, flags=0x00, stream_id=0>/);
    assert.match(out, /\[SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):128\]/);
    assert.equal((out.match(/recv \(stream_id=\d+\) :status: 200/g) ?? []).length, 3);
    assert.deepEqual(seen.map((s) => s.path).sort(), ['/a', '/b', '/c']);
    assert.equal(new Set(seen.map((s) => s.connectionId)).size, 1);
    const ids = seen.map((s) => s.streamId);
    assert.equal(new Set(ids).size, 3);
    for (const id of ids) assert.ok(id !== undefined && id % 2 === 1, `client stream ids are odd: ${id}`);
  });
});

test('nghttp -m: the same URI repeated on one connection', async () => {
  const seen: { connectionId: number; streamId: number | undefined }[] = [];
  const app = (ex: Exchange): void => {
    seen.push({ connectionId: ex.connection.id, streamId: ex.features.http2?.streamId });
    ex.response.send(200, {}, 'x');
  };
  await withServer(app, {}, async (server) => {
    const r = await run('nghttp', ['-n', '-m', '4', `${server.url}/r`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(seen.length, 4);
    assert.equal(new Set(seen.map((s) => s.connectionId)).size, 1);
    assert.equal(new Set(seen.map((s) => s.streamId)).size, 4);
  });
});

test('undici with allowH2 over TLS: h2, requests multiplexed on one connection', async () => {
  await withServer(echoApp, { tls: testCertificate() }, async (server) => {
    const agent = new Agent({ allowH2: true, connect: { rejectUnauthorized: false } });
    try {
      const a = (await (await undiciRequest(`${server.url}/u?x=1`, { dispatcher: agent, method: 'POST', body: 'hi', headers: { 'x-u': 'v' } })).body.json()) as Echo;
      const b = (await (await undiciRequest(`${server.url}/v`, { dispatcher: agent })).body.json()) as Echo;
      assert.equal(a.protocol, 'h2');
      assert.equal(a.tls?.alpnProtocol, 'h2');
      assert.equal(a.method, 'POST');
      assert.equal(a.path, '/u');
      assert.equal(a.query, 'x=1');
      assert.equal(a.body, 'hi');
      assert.equal(new Map(a.headers).get('x-u'), 'v');
      assert.equal(a.connectionId, b.connectionId);
      assert.notEqual(a.streamId, b.streamId);
    } finally {
      await agent.close();
    }
  });
});

test('node:http2: request trailers (waitForTrailers + sendTrailers) reach request.body.trailers', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const body = await ex.request.body.text();
    const trailers = await ex.request.body.trailers;
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify({ body, trailers: [...trailers] }));
  };
  await withServer(app, {}, async (server) => {
    await withSession(server.url, async (session) => {
      const result = await within(
        new Promise<H2Result>((resolve, reject) => {
          const stream = session.request({ ':method': 'POST', ':path': '/up' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'x-digest': 'sha-256=abc', 'x-count': '2' }));
          const chunks: Buffer[] = [];
          let headers: http2.IncomingHttpHeaders = {};
          stream.on('response', (h) => (headers = h));
          stream.on('data', (d: Buffer) => chunks.push(d));
          stream.on('error', reject);
          stream.on('close', () => resolve({ headers, informational: [], body: Buffer.concat(chunks), trailers: undefined }));
          stream.write('chunk-1;');
          stream.end('chunk-2');
        }),
        5000,
        'upload with trailers',
      );
      assert.equal(result.headers[':status'], 200);
      const parsed = JSON.parse(result.body.toString()) as { body: string; trailers: [string, string][] };
      assert.equal(parsed.body, 'chunk-1;chunk-2');
      assert.deepEqual(parsed.trailers, [['x-digest', 'sha-256=abc'], ['x-count', '2']]);
    });
  });
});

test('node:http2: response trailers from start(..., { trailers: true }) + end(fields)', async () => {
  const accepted: boolean[] = [];
  const app = async (ex: Exchange): Promise<void> => {
    accepted.push(ex.features.responseTrailers?.acceptedByClient ?? false);
    const w = ex.response.start(200, { 'content-type': 'text/plain' }, { trailers: true });
    await w.write('part ');
    await w.write('two');
    await w.end({ 'x-checksum': 'c0ffee', 'grpc-status': '0' });
  };
  await withServer(app, {}, async (server) => {
    await withSession(server.url, async (session) => {
      const res = await within(h2request(session, { ':path': '/t', te: 'trailers' }), 5000, 'request');
      assert.equal(res.headers[':status'], 200);
      assert.equal(res.body.toString(), 'part two');
      assert.ok(res.trailers);
      assert.equal(res.trailers['x-checksum'], 'c0ffee');
      assert.equal(res.trailers['grpc-status'], '0');
      const plain = await within(h2request(session, { ':path': '/t' }), 5000, 'request');
      assert.equal(plain.trailers?.['x-checksum'], 'c0ffee');
      // The app answers without reading an upload that is still open: the trailers still
      // arrive before the server asks the client to stop sending (RST_STREAM NO_ERROR).
      const open = await within(
        new Promise<{ trailers: http2.IncomingHttpHeaders | undefined; body: string; rstCode: number | undefined }>((resolve, reject) => {
          const stream = session.request({ ':method': 'POST', ':path': '/t' }, { endStream: false });
          stream.write('more to come');
          let trailers: http2.IncomingHttpHeaders | undefined;
          let body = '';
          stream.setEncoding('utf8');
          stream.on('data', (d: string) => (body += d));
          stream.on('trailers', (h) => (trailers = h));
          stream.on('error', reject);
          stream.on('close', () => resolve({ trailers, body, rstCode: stream.rstCode }));
        }),
        5000,
        'unfinished upload',
      );
      assert.equal(open.body, 'part two');
      assert.equal(open.trailers?.['x-checksum'], 'c0ffee');
      assert.equal(open.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    });
    assert.deepEqual(accepted, [true, false, false]);
  });
});

test('node:http2: cookie crumbs are joined into one cookie field', async () => {
  await withServer(echoApp, {}, async (server) => {
    await withSession(server.url, async (session) => {
      const res = await within(h2request(session, { ':path': '/c', cookie: ['a=1', 'b=2'], 'x-after': 'z' }), 5000, 'request');
      const echo = JSON.parse(res.body.toString()) as Echo;
      assert.deepEqual(echo.headers.filter(([n]) => n === 'cookie'), [['cookie', 'a=1; b=2']]);
    });
    // nghttp sends each -H as its own field line.
    const r = await run('nghttp', ['-H', 'cookie: x=1', '-H', 'cookie: y=2', `${server.url}/n`], { timeoutMs: 10_000 });
    const echo = JSON.parse(r.stdout.toString()) as Echo;
    assert.deepEqual(echo.headers.filter(([n]) => n === 'cookie'), [['cookie', 'x=1; y=2']]);
  });
});

test('node:http2: 103 Early Hints arrive as informational heads before the response', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    await ex.features.earlyHints?.send({ link: '</a.css>; rel=preload; as=style' });
    await ex.features.earlyHints?.send({ link: '</b.js>; rel=preload; as=script' });
    await delay(30);
    ex.response.send(200, {}, 'done');
  };
  await withServer(app, {}, async (server) => {
    await withSession(server.url, async (session) => {
      const res = await within(h2request(session, { ':path': '/' }), 5000, 'request');
      assert.deepEqual(res.informational.map((h) => [h[':status'], h.link]), [
        [103, '</a.css>; rel=preload; as=style'],
        [103, '</b.js>; rel=preload; as=script'],
      ]);
      assert.equal(res.headers[':status'], 200);
      assert.equal(res.body.toString(), 'done');
    });
    const r = await run('curl', ['-s', '-i', '--http2-prior-knowledge', `${server.url}/`], { timeoutMs: 10_000 });
    assert.deepEqual(parseResponses(r.stdout).map((x) => x.status), [103, 103, 200]);
  });
});

test('node:http2: Expect 100-continue gets 100 only once the app reads; none when it answers first', async () => {
  let readAt = 0;
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/read') {
      await delay(300);
      readAt = performance.now();
      return ex.response.send(200, {}, `got ${await ex.request.body.text()}`);
    }
    ex.response.send(413, {}, 'no');
  };
  await withServer(app, {}, async (server) => {
    await withSession(server.url, async (session) => {
      const result = await within(
        new Promise<{ continueAt: number; sentAt: number; status: unknown; body: string }>((resolve, reject) => {
          const sentAt = performance.now();
          let continueAt = 0;
          const stream = session.request({ ':method': 'POST', ':path': '/read', expect: '100-continue', 'content-length': '5' }, { endStream: false });
          stream.on('continue', () => {
            continueAt = performance.now();
            stream.end('hello');
          });
          let status: unknown;
          let body = '';
          stream.on('response', (h) => (status = h[':status']));
          stream.setEncoding('utf8');
          stream.on('data', (d: string) => (body += d));
          stream.on('error', reject);
          stream.on('close', () => resolve({ continueAt, sentAt, status, body }));
        }),
        5000,
        'expect request',
      );
      assert.equal(result.status, 200);
      assert.equal(result.body, 'got hello');
      assert.ok(result.continueAt > 0, 'a 100 arrived');
      assert.ok(result.continueAt >= readAt, '100 only after the app began reading');
      assert.ok(result.continueAt - result.sentAt >= 280, `no early 100 (${(result.continueAt - result.sentAt).toFixed(0)} ms)`);

      const rejected = await within(
        new Promise<{ continued: boolean; status: unknown }>((resolve, reject) => {
          let continued = false;
          let status: unknown;
          const stream = session.request({ ':method': 'POST', ':path': '/reject', expect: '100-continue', 'content-length': '5' }, { endStream: false });
          stream.on('continue', () => (continued = true));
          stream.on('response', (h) => {
            status = h[':status'];
            stream.close();
          });
          stream.resume();
          stream.on('error', reject);
          stream.on('close', () => resolve({ continued, status }));
        }),
        5000,
        'rejected expect request',
      );
      assert.equal(rejected.status, 413);
      assert.equal(rejected.continued, false);
    });
  });
});

test('node:http2: peer SETTINGS are visible in features.http2.peerSettings', async () => {
  await withServer(echoApp, {}, async (server) => {
    await withSession(
      server.url,
      async (session) => {
        const res = await within(h2request(session, { ':path': '/s' }), 5000, 'request');
        const echo = JSON.parse(res.body.toString()) as Echo;
        assert.ok(echo.peerSettings);
        assert.equal(echo.peerSettings.initialWindowSize, 100_000);
        assert.equal(echo.peerSettings.maxFrameSize, 32_768);
        assert.equal(echo.peerSettings.enablePush, false);
        assert.equal(echo.peerSettings.maxHeaderListSize, 40_000);
        assert.equal(echo.peerSettings.maxConcurrentStreams, 50);
      },
      { settings: { initialWindowSize: 100_000, maxFrameSize: 32_768, enablePush: false, maxHeaderListSize: 40_000, maxConcurrentStreams: 50 } },
    );
  });
});

test('SETTINGS_MAX_CONCURRENT_STREAMS: 128 by default, limits.maxConcurrentStreams otherwise', async () => {
  const ok = (ex: Exchange): void => ex.response.send(200, {}, 'ok');
  await withServer(ok, {}, async (server) => {
    await withSession(server.url, async (session) => {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 128);
    });
  });
  await withServer(ok, { tls: testCertificate(), limits: { maxConcurrentStreams: 7 } }, async (server) => {
    await withSession(server.url, async (session) => {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
    });
  });
});

test('node:http2: HEAD has content-length and no DATA; 204 has no body', async () => {
  let dataFrames = 0;
  const app = (ex: Exchange): void => {
    if (ex.request.path === '/204') return ex.response.send(204, {}, 'dropped');
    ex.response.send(200, { 'content-type': 'text/plain' }, 'hello world');
  };
  await withServer(app, {}, async (server) => {
    await withSession(server.url, async (session) => {
      const head = await within(h2request(session, { ':method': 'HEAD', ':path': '/' }), 5000, 'HEAD');
      assert.equal(head.headers[':status'], 200);
      assert.equal(head.headers['content-length'], '11');
      assert.equal(head.body.length, 0);
      const noContent = await within(h2request(session, { ':path': '/204' }), 5000, '204');
      assert.equal(noContent.headers[':status'], 204);
      assert.equal(noContent.body.length, 0);
      const get = await within(h2request(session, { ':path': '/' }), 5000, 'GET');
      assert.equal(get.body.toString(), 'hello world');
    });
    // On the wire: the HEAD and 204 responses end the stream on their HEADERS frame.
    for (const [path, method] of [['/', 'HEAD'], ['/204', 'GET']] as const) {
      const r = await run('nghttp', ['-nv', '-H', `:method: ${method}`, `${server.url}${path}`], { timeoutMs: 10_000 });
      const out = r.stdout.toString();
      assert.match(out, /recv HEADERS frame <length=\d+, flags=0x05, stream_id=\d+>/, out);
      dataFrames += (out.match(/recv DATA frame/g) ?? []).length;
    }
    assert.equal(dataFrames, 0);
  });
});
