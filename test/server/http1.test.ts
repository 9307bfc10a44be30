/**
 * HTTP/1.x conformance with real clients on loopback: curl, undici, node:http's client,
 * and raw sockets where a client would not send the bytes (pipelining, Expect, HTTP/1.0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Agent, request as undiciRequest } from 'undici';
import type { Exchange } from '../../src/interface/exchange.ts';
import { NgiError } from '../../src/interface/errors.ts';
import { withServer, portOf } from '../helpers/server.ts';
import { run } from '../helpers/run.ts';
import { RawClient, delay, parseResponses, within } from '../helpers/raw.ts';


interface Echo {
  protocol: string;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: string;
  clientPort: number;
  connectionId: number;
  earlyHints: boolean;
  responseTrailers: boolean;
}

/** Answers with what the application saw, as JSON, plus two Set-Cookie lines. */
async function echoApp(ex: Exchange): Promise<void> {
  const r = ex.request;
  const body = await r.body.text();
  const echo: Echo = {
    protocol: ex.protocol,
    method: r.method,
    scheme: r.scheme,
    authority: r.authority,
    path: r.path,
    query: r.query,
    headers: [...r.headers].map(([n, v]) => [n, v]),
    body,
    clientPort: ex.connection.client.port,
    connectionId: ex.connection.id,
    earlyHints: ex.features.earlyHints !== undefined,
    responseTrailers: ex.features.responseTrailers !== undefined,
  };
  ex.response.send(200, { 'content-type': 'application/json', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] }, JSON.stringify(echo));
}

test('curl: method, path, query, authority and headers as the app sees them; duplicates kept', async () => {
  await withServer(echoApp, {}, async (server) => {
    const r = await run('curl', ['-s', '-i', '--http1.1', '--path-as-is', '-X', 'PATCH', '-H', 'X-Dup: one', '-H', 'X-Dup: two', '-H', 'X-Case: MiXeD', `${server.url}/a%20b/c?x=1&y=%2F`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const [res] = parseResponses(r.stdout);
    assert.ok(res);
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.body.toString()) as Echo;
    assert.equal(echo.protocol, 'http/1.1');
    assert.equal(echo.method, 'PATCH');
    assert.equal(echo.scheme, 'http');
    assert.equal(echo.authority, `127.0.0.1:${portOf(server.url)}`);
    assert.equal(echo.path, '/a%20b/c');
    assert.equal(echo.query, 'x=1&y=%2F');
    assert.deepEqual(echo.headers.filter(([n]) => n.startsWith('x-')), [['x-dup', 'one'], ['x-dup', 'two'], ['x-case', 'MiXeD']]);
    assert.equal(echo.headers[0]?.[0], 'host', 'arrival order is kept');
    assert.ok(echo.earlyHints && echo.responseTrailers);
    // Each Set-Cookie arrives as its own field line.
    assert.deepEqual(res.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v), ['a=1; Path=/', 'b=2; Path=/']);
  });
});

test('undici: POST body, headers and separate set-cookie values', async () => {
  await withServer(echoApp, {}, async (server) => {
    const agent = new Agent();
    try {
      const res = await undiciRequest(`${server.url}/submit?q=ü`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-token': 'abc' },
        body: '{"n":1}',
      });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
      const echo = (await res.body.json()) as Echo;
      assert.equal(echo.method, 'POST');
      assert.equal(echo.path, '/submit');
      assert.equal(echo.query, 'q=%C3%BC');
      assert.equal(echo.body, '{"n":1}');
      const h = new Map(echo.headers);
      assert.equal(h.get('x-token'), 'abc');
      assert.equal(h.get('content-length'), '7');
      assert.equal(h.get('content-type'), 'application/json');
    } finally {
      await agent.close();
    }
  });
});

test('keep-alive: two requests reuse one connection (undici and curl)', async () => {
  await withServer(echoApp, {}, async (server) => {
    const agent = new Agent({ connections: 1 });
    try {
      const a = (await (await undiciRequest(`${server.url}/1`, { dispatcher: agent })).body.json()) as Echo;
      const b = (await (await undiciRequest(`${server.url}/2`, { dispatcher: agent })).body.json()) as Echo;
      assert.equal(a.clientPort, b.clientPort);
      assert.equal(a.connectionId, b.connectionId);
    } finally {
      await agent.close();
    }
    const r = await run('curl', ['-s', '--http1.1', '-w', '\n', `${server.url}/1`, `${server.url}/2`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const [c, d] = r.stdout.toString().trim().split('\n').map((line) => JSON.parse(line) as Echo);
    assert.ok(c && d);
    assert.equal(c.path, '/1');
    assert.equal(d.path, '/2');
    assert.equal(c.clientPort, d.clientPort);
    assert.equal(c.connectionId, d.connectionId);
  });
});

test('pipelining: two requests written at once get two responses in order', async () => {
  const seen: string[] = [];
  const app = async (ex: Exchange): Promise<void> => {
    seen.push(ex.request.path);
    // The first answer is the slow one: the second must still come after it.
    if (ex.request.path === '/slow') await delay(200);
    ex.response.send(200, { 'content-type': 'text/plain' }, `${ex.request.path} on ${ex.connection.id}`);
  };
  await withServer(app, {}, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
      const [first, second] = await c.responses(2);
      assert.ok(first && second);
      const [slowPath, slowConn] = first.body.toString().split(' on ');
      const [fastPath, fastConn] = second.body.toString().split(' on ');
      assert.equal(slowPath, '/slow');
      assert.equal(fastPath, '/fast');
      assert.equal(slowConn, fastConn);
      assert.deepEqual(seen.sort(), ['/fast', '/slow']);
    } finally {
      c.destroy();
    }
  });
});

test('HTTP/1.0: protocol http/1.0, no early hints or trailers, connection closed after the response', async () => {
  let trailerError: unknown;
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/trailers') {
      try {
        ex.response.start(200, {}, { trailers: true });
      } catch (error) {
        trailerError = error;
      }
      ex.response.send(200, {}, 'no trailers');
      return;
    }
    await echoApp(ex);
  };
  await withServer(app, {}, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET /old?v=1 HTTP/1.0\r\nHost: example\r\n\r\n');
      await c.waitClosed(5000);
      const [res] = parseResponses(c.data);
      assert.ok(res);
      assert.equal(res.status, 200);
      assert.equal(res.version, 'HTTP/1.1');
      const echo = JSON.parse(res.body.toString()) as Echo;
      assert.equal(echo.protocol, 'http/1.0');
      assert.equal(echo.authority, 'example');
      assert.equal(echo.earlyHints, false);
      assert.equal(echo.responseTrailers, false);
    } finally {
      c.destroy();
    }
    const r = await run('curl', ['-s', '--http1.0', `${server.url}/trailers`], { timeoutMs: 10_000 });
    assert.equal(r.stdout.toString(), 'no trailers');
    assert.ok(trailerError instanceof NgiError);
    assert.equal(trailerError.code, 'NGI_ERR_FEATURE_UNAVAILABLE');
  });
});

test('HEAD: Content-Length of the GET, no body bytes (send and start)', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/stream') {
      const w = ex.response.start(200, { 'content-type': 'text/plain', 'content-length': '11' });
      await w.write('hello ');
      await w.end('world');
      return;
    }
    ex.response.send(200, { 'content-type': 'text/plain' }, 'hello world');
  };
  await withServer(app, {}, async (server) => {
    for (const path of ['/', '/stream']) {
      const c = await RawClient.connect(portOf(server.url));
      try {
        c.write(`HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const [head] = await c.responses(1, 5000, { headIndexes: [0] });
        assert.ok(head);
        assert.equal(head.status, 200);
        assert.equal(head.get('content-length'), '11', path);
        assert.equal(head.get('transfer-encoding'), undefined);
        await delay(100);
        assert.ok(c.text.endsWith('\r\n\r\n'), `no body bytes after the head of ${path}: ${JSON.stringify(c.text)}`);
        // The connection is still in sync: a GET on it gets the body.
        c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const [, get] = await c.responses(2, 5000, { headIndexes: [0] });
        assert.equal(get?.body.toString(), 'hello world');
      } finally {
        c.destroy();
      }
    }
    const r = await run('curl', ['-s', '-I', `${server.url}/`], { timeoutMs: 10_000 });
    assert.match(r.stdout.toString(), /content-length: 11\r\n/i);
  });
});

test('204 and 304 carry no body even when the app gives one', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/204') return ex.response.send(204, { 'x-a': '1' }, 'dropped');
    const w = ex.response.start(304, { etag: '"v1"' });
    await w.write('dropped');
    await w.end();
  };
  await withServer(app, {}, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET /204 HTTP/1.1\r\nHost: x\r\n\r\n');
      await c.responses(1);
      c.write('GET /304 HTTP/1.1\r\nHost: x\r\n\r\n');
      const [noContent, notModified] = await c.responses(2);
      assert.ok(noContent && notModified);
      assert.equal(noContent.status, 204);
      assert.equal(noContent.get('x-a'), '1');
      assert.equal(notModified.status, 304);
      assert.equal(notModified.get('etag'), '"v1"');
      for (const res of [noContent, notModified]) {
        assert.equal(res.get('transfer-encoding'), undefined);
        assert.equal(res.get('content-length'), undefined);
      }
      await delay(100);
      assert.ok(c.text.endsWith('\r\n\r\n'), JSON.stringify(c.text));
      assert.ok(!c.text.includes('dropped'));
    } finally {
      c.destroy();
    }
  });
});

test('a streamed response without a length is chunked; with one it is not', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const fixed = ex.request.path === '/fixed';
    const w = ex.response.start(200, fixed ? { 'content-length': 11 } : { 'content-type': 'text/plain' });
    await w.write('hello ');
    await delay(20);
    await w.write('world');
    await w.end();
  };
  await withServer(app, {}, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n');
      const [res] = await c.responses(1);
      assert.ok(res);
      assert.equal(res.chunked, true);
      assert.equal(res.get('content-length'), undefined);
      assert.equal(res.body.toString(), 'hello world');
      c.write('GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n');
      const [, fixed] = await c.responses(2);
      assert.ok(fixed);
      assert.equal(fixed.chunked, false);
      assert.equal(fixed.get('content-length'), '11');
      assert.equal(fixed.body.toString(), 'hello world');
    } finally {
      c.destroy();
    }
    const r = await run('curl', ['-s', `${server.url}/chunked`], { timeoutMs: 10_000 });
    assert.equal(r.stdout.toString(), 'hello world');
  });
});

test('response trailers over chunked coding reach node:http client (TE: trailers)', async () => {
  const accepted: boolean[] = [];
  const app = async (ex: Exchange): Promise<void> => {
    accepted.push(ex.features.responseTrailers?.acceptedByClient ?? false);
    const w = ex.response.start(200, { 'content-type': 'text/plain' }, { trailers: true });
    await w.write('payload');
    await w.end({ 'x-checksum': 'abc123', 'server-timing': 'app;dur=1' });
  };
  await withServer(app, {}, async (server) => {
    const get = (headers: http.OutgoingHttpHeaders): Promise<{ body: string; trailers: NodeJS.Dict<string>; headers: http.IncomingHttpHeaders }> =>
      new Promise((resolve, reject) => {
        const req = http.get(`${server.url}/t`, { headers, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ body, trailers: res.trailers, headers: res.headers }));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
    const withTe = await within(get({ te: 'trailers' }), 5000, 'request');
    assert.equal(withTe.body, 'payload');
    assert.equal(withTe.headers['transfer-encoding'], 'chunked');
    assert.deepEqual({ ...withTe.trailers }, { 'x-checksum': 'abc123', 'server-timing': 'app;dur=1' });
    const without = await within(get({}), 5000, 'request');
    assert.equal(without.body, 'payload');
    assert.deepEqual(accepted, [true, false]);
  });
});

test('request trailers (chunked upload with addTrailers) arrive as request.body.trailers', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const body = await ex.request.body.text();
    const trailers = await ex.request.body.trailers;
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify({ body, trailers: [...trailers] }));
  };
  await withServer(app, {}, async (server) => {
    const result = await within(
      new Promise<{ body: string; trailers: [string, string][] }>((resolve, reject) => {
        const req = http.request(`${server.url}/up`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', trailer: 'x-digest' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve(JSON.parse(text) as { body: string; trailers: [string, string][] }));
        });
        req.on('error', reject);
        req.write('part1-');
        req.write('part2');
        req.addTrailers({ 'X-Digest': 'sha-256=xyz' });
        req.end();
      }),
      5000,
      'request',
    );
    assert.equal(result.body, 'part1-part2');
    assert.deepEqual(result.trailers, [['x-digest', 'sha-256=xyz']]);
  });
});

test('Expect: 100-continue: 100 only once the app reads; none when it answers without reading', async () => {
  let readStartedAt = 0;
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/read') {
      await delay(300);
      readStartedAt = performance.now();
      const body = await ex.request.body.text();
      return ex.response.send(200, {}, `got ${body}`);
    }
    if (ex.request.path === '/reject') return ex.response.send(413, {}, 'too big');
    ex.response.send(200, {}, 'not reading');
  };
  await withServer(app, {}, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      const sentAt = performance.now();
      c.write('POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
      await c.until((t) => t.includes('\r\n\r\n'), 5000);
      const continueAt = performance.now();
      assert.match(c.text, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      assert.ok(readStartedAt > 0 && continueAt >= readStartedAt, 'the 100 came only after the app started reading');
      assert.ok(continueAt - sentAt >= 280, `no 100 before the app read (came after ${(continueAt - sentAt).toFixed(0)} ms)`);
      c.write('hello');
      const [cont, final] = await c.responses(2);
      assert.equal(cont?.status, 100);
      assert.equal(final?.status, 200);
      assert.equal(final?.body.toString(), 'got hello');
    } finally {
      c.destroy();
    }
    for (const [path, status] of [['/reject', 413], ['/ignore', 200]] as const) {
      const d = await RawClient.connect(portOf(server.url));
      try {
        d.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
        const [res] = await d.responses(1);
        assert.equal(res?.status, status, path);
        assert.ok(!d.text.includes('100 Continue'), `${path}: ${JSON.stringify(d.text)}`);
      } finally {
        d.destroy();
      }
    }
  });
});

test('103 Early Hints: two hints with their Link fields before the 200 (raw socket and curl)', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const hints = ex.features.earlyHints;
    assert.ok(hints);
    await hints.send({ link: '</style.css>; rel=preload; as=style' });
    await hints.send({ link: ['</app.js>; rel=preload; as=script', '</font.woff2>; rel=preload; as=font'] });
    await delay(50);
    ex.response.send(200, { 'content-type': 'text/plain', link: '</style.css>; rel=preload; as=style' }, 'final');
  };
  await withServer(app, {}, async (server) => {
    const c = await RawClient.connect(portOf(server.url));
    try {
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const [h1, h2, final] = await c.responses(3);
      assert.ok(h1 && h2 && final);
      assert.equal(h1.status, 103);
      assert.deepEqual(h1.headers.filter(([n]) => n === 'link'), [['link', '</style.css>; rel=preload; as=style']]);
      assert.equal(h2.status, 103);
      assert.equal(h2.get('link'), '</app.js>; rel=preload; as=script, </font.woff2>; rel=preload; as=font');
      assert.equal(final.status, 200);
      assert.equal(final.body.toString(), 'final');
      // The first hint went out before the final response was even produced.
      const firstHintAt = c.events.find((e) => e.chunk.toString('latin1').includes('103'))?.at ?? Infinity;
      const finalAt = c.events.find((e) => e.chunk.toString('latin1').includes('200 OK'))?.at ?? -Infinity;
      assert.ok(finalAt - firstHintAt >= 40, `hints were flushed ahead of the response (${firstHintAt} vs ${finalAt})`);
    } finally {
      c.destroy();
    }
    const r = await run('curl', ['-s', '-i', `${server.url}/`], { timeoutMs: 10_000 });
    const responses = parseResponses(r.stdout);
    assert.deepEqual(responses.map((x) => x.status), [103, 103, 200]);
    assert.match(responses[0]?.get('link') ?? '', /<\/style\.css>/);
  });
});
