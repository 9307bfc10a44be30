/**
 * Regressions of NGI's own HTTP/1.x engine, found in its review (`http1Engine: 'ngi'`, src/server/http1-ngi.ts,
 * src/h1/): framing, pipelining, timeouts and response bytes, over real sockets. Every test
 * runs on the 'ngi' engine only, with bounded waits, and closes its server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Exchange } from '../../src/interface/exchange.ts';
import type { AppExport } from '../../src/interface/app.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import type { ServerHandle } from '../../src/server/serve.ts';
import { startServer, portOf } from '../helpers/server.ts';
import { RawClient, delay, deferred, parseResponses, statusLines, within, withRawClient } from '../helpers/raw.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

async function withNgi<T>(app: AppExport, options: ServeOptions, fn: (server: ServerHandle, lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const server = await startServer(app, { ...options, timeouts: { drain: 2000, ...options.timeouts }, http1Engine: 'ngi', log: (line) => lines.push(line) });
  try {
    return await fn(server, lines);
  } finally {
    await server.close();
  }
}

const withClient = <T>(server: ServerHandle, fn: (c: RawClient) => Promise<T>): Promise<T> => withRawClient(portOf(server.url), fn);

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

/** A deterministic PRNG (mulberry32) for the byte-boundary fuzzing. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Echo: `<method> <path> <body> [trailers]`. /slow* waits 80 ms first, /wait* 10 ms; /sync*
 * answers synchronously without reading the body (the handler returns void).
 */
function echo(ex: Exchange): void | Promise<void> {
  const path = ex.request.path;
  if (path.startsWith('/sync')) {
    ex.response.send(200, { 'content-type': 'text/plain' }, `${ex.request.method} ${path}`);
    return;
  }
  return (async () => {
    if (path.startsWith('/slow')) await delay(80);
    else if (path.startsWith('/wait')) await delay(10);
    const body = await ex.request.body.text();
    const trailers = [...(await ex.request.body.trailers)].map(([n, v]) => `${n}=${v}`).join(',');
    ex.response.send(200, { 'content-type': 'text/plain' }, `${ex.request.method} ${path} ${body} [${trailers}]`);
  })();
}

// ---------------------------------------------------------------------------------------------
// 1. Framing and pipelining

// RFC 9112 §9.3.2: responses go in request order. Held (pipelined) chunks are replayed by
// #next(); a replayed request answered synchronously calls responseDone() -> #next() again,
// which replays the *next* held chunk before the rest of the current one is parsed.
test('pipelining: held chunks replayed in order when a replayed request is answered synchronously', async () => {
  await withNgi(echo, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write(GET('/slow1'));
      await delay(20);
      // Both held while /slow1 runs, as two separate chunks.
      c.write(GET('/sync2') + GET('/sync3'));
      await delay(20);
      c.write(GET('/sync4'));
      const responses = await c.responses(4, 3000);
      assert.deepEqual(responses.map((r) => r.body.toString()), ['GET /slow1  []', 'GET /sync2', 'GET /sync3', 'GET /sync4']);
    });
  });
});

// Same root cause, the partial-head flavour: the rest of a held chunk is the first half of a
// head, the next held chunk its second half. Replayed out of order, the second half is parsed
// as a request of its own (400), or the halves are glued in the wrong order.
test('pipelining: a head split across two held chunks, after a synchronous answer, is parsed whole', async () => {
  await withNgi(echo, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write(GET('/slow1'));
      await delay(20);
      const third = GET('/sync3');
      c.write(GET('/sync2') + third.slice(0, 10));
      await delay(20);
      c.write(third.slice(10));
      const responses = await c.responses(3, 3000);
      assert.deepEqual(responses.map((r) => `${r.status} ${r.body.toString()}`), ['200 GET /slow1  []', '200 GET /sync2', '200 GET /sync3']);
    });
  });
});

// An exchange's handler settling (ResponseBase.afterHandler -> releaseRequest) calls
// H1Connection.releaseBody(), which acts on whatever body the connection is reading *now*:
// after a response sent early, that is the next pipelined request's body, which gets destroyed.
test('an early response whose handler settles later does not destroy the next request\'s body', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/early') {
      ex.response.send(200, {}, 'early');
      await delay(150);
      return;
    }
    const body = await ex.request.body.text();
    ex.response.send(200, {}, `got ${body}`);
  };
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write(GET('/early') + 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
      await delay(300);
      c.write('56789');
      const responses = await c.responses(2, 3000);
      assert.deepEqual(responses.map((r) => `${r.status} ${r.body.toString()}`), ['200 early', '200 got 0123456789']);
    });
  });
});

// The common case of the same bug: an async handler whose last statement is send(). send()
// completes the response, #next() replays the pipelined POST (its body only partly arrived),
// then the first handler's promise settles -> releaseBody() destroys the POST's body -> 500.
test('a pipelined POST whose body is still arriving when the previous (async) handler returns is served', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/first') await delay(20);
    const body = await ex.request.body.text();
    ex.response.send(200, {}, `${ex.request.path} ${body}`);
  };
  await withNgi(app, {}, async (server, lines) => {
    await withClient(server, async (c) => {
      c.write(GET('/first') + 'POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel');
      await delay(100);
      c.write('lo');
      const responses = await c.responses(2, 3000);
      assert.deepEqual(responses.map((r) => `${r.status} ${r.body.toString()}`), ['200 /first ', '200 /second hello'], lines.join('\n'));
    });
  });
});

// request.body.trailers read after the response is sent: EngineH1Response.trailers() reads
// connection.trailers, which the next pipelined request has reset (#startExchange) by then.
test('request trailers read after sending the response are those of this request, not the next one', async () => {
  const trailersSeen = deferred<string>();
  const app = async (ex: Exchange): Promise<void> => {
    await ex.request.body.text();
    ex.response.send(200, {}, ex.request.path);
    if (ex.request.path === '/t') {
      const t = await ex.request.body.trailers;
      trailersSeen.resolve([...t].map(([n, v]) => `${n}=${v}`).join(','));
    }
  };
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write('POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-sum: 42\r\n\r\n' + GET('/next'));
      await c.responses(2, 3000);
      assert.equal(await within(trailersSeen.promise, 2000, 'trailers'), 'x-sum=42');
    });
  });
});

// RFC 9110 §5.6.1: list elements are separated by OWS (SP / HTAB). JS String#trim() also strips
// U+00A0 (NBSP), which a Latin-1 field value can hold (obs-text): "chunked\xA0" is taken for
// chunked here, while a proxy reading the coding literally sees an unknown coding (400/501, or
// a body it frames differently). RFC 9112 §6.3 (4), §11.2.
for (const value of ['chunked\xa0', '\xa0chunked']) {
  test(`Transfer-Encoding: ${JSON.stringify(value)} is not taken for chunked`, async () => {
    let calls = 0;
    const app = (ex: Exchange): void => {
      calls++;
      ex.response.send(200, {}, 'ok');
    };
    await withNgi(app, {}, async (server) => {
      await withClient(server, async (c) => {
        c.write(Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${value}\r\n\r\n0\r\n\r\n`, 'latin1'));
        await c.until((t) => t.includes('\r\n\r\n'), 2000).catch(() => '');
        const statuses = statusLines(c.text);
        assert.ok(statuses.length === 1 && (statuses[0] === 400 || statuses[0] === 501), `got ${JSON.stringify(c.text)}`);
      });
      assert.equal(calls, 0);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Timeouts

/**
 * Sends `request`, reads nothing for `stallMs` (the socket paused: TCP fills, the server's
 * writes queue), then reads everything. Counts bytes without copying (RawClient concatenates
 * per chunk, quadratic for tens of MB). Resolves with the head and the body length received.
 */
function slowRead(port: number, request: string, stallMs: number, expectedBody: number, timeoutMs: number): Promise<{ head: string; body: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let total = 0;
    let closed = false;
    const finish = (): void => {
      clearTimeout(timer);
      const first = Buffer.concat(chunks.slice(0, 4)).toString('latin1');
      const headEnd = first.indexOf('\r\n\r\n');
      socket.destroy();
      resolve({ head: headEnd < 0 ? first : first.slice(0, headEnd), body: headEnd < 0 ? 0 : total - headEnd - 4, closed });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      chunks.length < 4 && chunks.push(chunk);
      total += chunk.length;
      const first = Buffer.concat(chunks).toString('latin1');
      const headEnd = first.indexOf('\r\n\r\n');
      if (headEnd >= 0 && total - headEnd - 4 >= expectedBody) finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.once('connect', () => {
      socket.pause();
      socket.write(request);
      setTimeout(() => socket.resume(), stallMs);
    });
    socket.once('error', reject);
  });
}

// The keep-alive deadline is armed in #next() as soon as responseDone() runs, i.e. when the
// response has been *handed to the socket*, not when it has left: a large response read by a
// slow client is cut off by the keep-alive timeout. node:http arms keep-alive on 'finish' (the
// last write flushed), as an idle timer.
test('keep-alive timeout does not cut off a large response the client is still reading', async () => {
  const size = 32 * 1024 * 1024;
  const big = Buffer.alloc(size, 0x61);
  const app = (ex: Exchange): void => ex.response.send(200, { 'content-type': 'application/octet-stream' }, big);
  await withNgi(app, { timeouts: { keepAlive: 400 } }, async (server) => {
    const got = await slowRead(portOf(server.url), GET('/big'), 1200, size, 8000);
    assert.match(got.head, /^HTTP\/1\.1 200 /);
    assert.equal(got.body, size, `closed=${got.closed}`);
  });
});

// #close() arms a 2 s 'linger' deadline that destroys the socket, whether or not what was
// written has left: a Connection: close response larger than the socket buffers, read slowly,
// is truncated after 2 s.
test('linger after Connection: close does not truncate a large response still being written', async () => {
  const size = 32 * 1024 * 1024;
  const big = Buffer.alloc(size, 0x62);
  const app = (ex: Exchange): void => ex.response.send(200, { 'content-type': 'application/octet-stream' }, big);
  // keepAlive: 400 only makes the engine's timer tick every 100 ms (it ticks every second by default).
  await withNgi(app, { timeouts: { keepAlive: 400 } }, async (server) => {
    const got = await slowRead(portOf(server.url), 'GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2500, size, 8000);
    assert.match(got.head, /^HTTP\/1\.1 200 /);
    assert.equal(got.body, size, `closed=${got.closed}`);
  });
});

// docs §3: request timeout → 408 "if no response has started, else the connection closes".
// When the response has already *completed* (#response is undefined after #finishExchange) and
// the unread body is being discarded, timedOut('request') writes a 408 after the 200: an
// unsolicited response a client or proxy pins on its next request.
test('request timeout while discarding an unread body after a complete response: no second response', async () => {
  const app = (ex: Exchange): void => ex.response.send(200, {}, 'done');
  await withNgi(app, { timeouts: { request: 300 } }, async (server) => {
    await withClient(server, async (c) => {
      c.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
      await c.responses(1, 2000);
      await c.waitClosed(3000);
      assert.deepEqual(statusLines(c.text), [200], `got ${JSON.stringify(c.text)}`);
    });
  });
});

// Same for a malformed chunked body discovered after the response completed: #refuse sees no
// #response and writes a 400 after the 200.
test('a malformed chunked body after a complete response: the connection closes without a second response', async () => {
  const app = (ex: Exchange): void => ex.response.send(200, {}, 'done');
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
      await c.responses(1, 2000);
      c.write('zz\r\n');
      await c.waitClosed(3000);
      assert.deepEqual(statusLines(c.text), [200], `got ${JSON.stringify(c.text)}`);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Byte-boundary fuzzing (RFC 9112 §2.2 leading CRLF, §6.3 Content-Length, §7.1 chunked with
// extensions and trailers): the same pipelined bytes, split anywhere, give the same responses.

const SEQUENCE =
  '\r\n' +
  'GET /wait1 HTTP/1.1\r\nHost: x\r\n\r\n' +
  'POST /p1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
  '\r\n' +
  'POST /p2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\n' +
  'GET /last HTTP/1.1\r\nHost: x\r\n\r\n';
const EXPECTED = ['GET /wait1  []', 'POST /p1 hello []', 'POST /p2 abc0123456789abcdef [x-t=1]', 'GET /last  []'];

async function sendPieces(c: RawClient, pieces: string[], gapMs: number): Promise<void> {
  for (let i = 0; i < pieces.length; i++) {
    if (i > 0) await delay(gapMs);
    c.write(pieces[i]!);
  }
}

/**
 * Responses as `status body`. A 500 where a POST was expected is finding 2 (releaseBody() on
 * the wrong exchange: a POST replayed with part of its body still to come has that body
 * destroyed when the previous handler settles), which the timing of these loops can hit; it
 * is shown deterministically above, so here it is counted and set aside, and everything else
 * must match.
 */
async function fuzzResponses(c: RawClient, count: number, expected: readonly string[], what: string, collisions: { n: number }): Promise<string[]> {
  const got = (await c.responses(count, 3000).catch((e: Error) => assert.fail(`${what}: ${e.message}`))).map((r) => `${r.status} ${r.body.toString()}`);
  return got.map((g, i) => {
    if (g.startsWith('500 ') && expected[i]!.startsWith('200 POST')) {
      collisions.n++;
      return expected[i]!;
    }
    return g;
  });
}

test('fuzz: the pipelined sequence sent twice on one connection, split in two at every offset', async (t) => {
  const collisions = { n: 0 };
  const expected = [...EXPECTED, ...EXPECTED].map((b) => `200 ${b}`);
  await withNgi(echo, {}, async (server) => {
    for (let k = 1; k < SEQUENCE.length; k++) {
      await withClient(server, async (c) => {
        await sendPieces(c, [SEQUENCE.slice(0, k), SEQUENCE.slice(k) + SEQUENCE.slice(0, k)], 2);
        await delay(2);
        c.write(SEQUENCE.slice(k));
        const got = await fuzzResponses(c, 8, expected, `split at ${k}`, collisions);
        assert.deepEqual(got, expected, `split at ${k}`);
      });
    }
  });
  t.diagnostic(`finding-2 collisions (POST answered 500): ${collisions.n}`);
});

test('fuzz: random splits into 1-9 byte pieces (fixed seed), 25 rounds', async (t) => {
  const random = rng(0x5eed);
  const collisions = { n: 0 };
  const expected = EXPECTED.map((b) => `200 ${b}`);
  await withNgi(echo, {}, async (server) => {
    for (let round = 0; round < 25; round++) {
      await withClient(server, async (c) => {
        const pieces: string[] = [];
        for (let at = 0; at < SEQUENCE.length; ) {
          const n = 1 + Math.floor(random() * 9);
          pieces.push(SEQUENCE.slice(at, at + n));
          at += n;
        }
        await sendPieces(c, pieces, 0.5);
        const got = await fuzzResponses(c, 4, expected, `round ${round}`, collisions);
        assert.deepEqual(got, expected, `round ${round}: ${JSON.stringify(pieces)}`);
      });
    }
  });
  t.diagnostic(`finding-2 collisions (POST answered 500): ${collisions.n}`);
});

// The replay path: everything after /wait1 arrives while it runs (held, in two chunks), then is
// replayed by #next(). Handlers await before answering, so finding 1 is not what this checks.
test('fuzz: split at every offset while the first exchange runs (held bytes replayed)', async (t) => {
  const first = 'GET /wait1 HTTP/1.1\r\nHost: x\r\n\r\n';
  const rest = SEQUENCE.slice(2 + first.length);
  const collisions = { n: 0 };
  const expected = EXPECTED.map((b) => `200 ${b}`);
  await withNgi(echo, {}, async (server) => {
    for (let k = 1; k < rest.length; k += 2) {
      await withClient(server, async (c) => {
        c.write(first);
        await delay(1);
        await sendPieces(c, [rest.slice(0, k), rest.slice(k)], 2);
        const got = await fuzzResponses(c, 4, expected, `split at ${k}`, collisions);
        assert.deepEqual(got, expected, `split at ${k}`);
      });
    }
  });
  t.diagnostic(`finding-2 collisions (POST answered 500): ${collisions.n}`);
});

// The same with synchronous handlers in the replayed part: fails through the re-entrant #next().
test('fuzz: held bytes replayed with synchronous handlers, split at every offset', async () => {
  const first = 'GET /wait1 HTTP/1.1\r\nHost: x\r\n\r\n';
  const rest = GET('/sync2') + 'POST /sync3 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' + GET('/sync4');
  const failures: number[] = [];
  await withNgi(echo, {}, async (server) => {
    for (let k = 1; k < rest.length; k += 3) {
      await withClient(server, async (c) => {
        c.write(first);
        await delay(1);
        await sendPieces(c, [rest.slice(0, k), rest.slice(k)], 3);
        const got = await c
          .responses(4, 1000)
          .then((rs) => rs.map((r) => `${r.status} ${r.body.toString()}`))
          .catch(() => []);
        if (got.join('|') !== ['200 GET /wait1  []', '200 GET /sync2', '200 POST /sync3', '200 GET /sync4'].join('|')) failures.push(k);
      });
    }
  });
  assert.deepEqual(failures, [], `splits that went wrong: ${failures.join(',')}`);
});

// ---------------------------------------------------------------------------------------------
// 4. Exchanges always finish: the client closing, or the handler throwing, at each phase.
// An exchange left in flight shows as a slow close() (drain timeout 2 s) and a logged error.

interface Phase {
  readonly name: string;
  /** What the client sends; then it waits for `until` (or `waitMs`) and destroys the socket. */
  readonly send: string;
  readonly waitMs?: number;
  readonly until?: (text: string) => boolean;
}

const key = Buffer.from('0123456789abcdef').toString('base64');
const WS = `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`;

const CLOSE_PHASES: readonly Phase[] = [
  { name: 'mid-head', send: 'GET /x HTTP/1.1\r\nHo', waitMs: 30 },
  { name: 'mid-body (app reading)', send: 'POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc', waitMs: 30 },
  { name: 'mid-chunked-body (app reading)', send: 'POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', waitMs: 30 },
  { name: 'waiting for the response', send: GET('/hang'), waitMs: 30 },
  { name: 'streaming response', send: GET('/stream'), until: (t) => t.includes('tick') },
  { name: 'WebSocket before accept', send: WS.replace('/ws', '/ws-late'), waitMs: 10 },
  { name: 'WebSocket after accept', send: WS, until: (t) => t.includes('101 Switching') },
  { name: 'body discarded after the response', send: 'POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc', until: (t) => t.includes('early') },
  { name: 'pipelined, second waiting behind the first', send: GET('/hang') + GET('/hang'), waitMs: 30 },
  { name: 'Expect: 100-continue, app reading', send: 'POST /read HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n', until: (t) => t.includes('100 Continue') },
];

function lifecycleApp(ex: Exchange): Promise<void> | void {
  const path = ex.request.path;
  return (async () => {
    switch (path) {
      case '/read':
        await ex.request.body.text().catch(() => {});
        if (ex.response.state === 'pending') ex.response.send(200, {}, 'read');
        return;
      case '/hang':
        await new Promise<void>((resolve) => ex.signal.addEventListener('abort', () => resolve()));
        return;
      case '/stream': {
        const w = ex.response.start(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 1000; i++) {
          await w.write('tick\n');
          await delay(5);
        }
        await w.end();
        return;
      }
      case '/early':
        ex.response.send(200, {}, 'early');
        return;
      case '/ws': {
        const socket = await ex.features.websocket!.accept();
        await socket.receive(() => {});
        return;
      }
      case '/ws-late': {
        await delay(60);
        const socket = await ex.features.websocket!.accept();
        await socket.receive(() => {});
        return;
      }
      default:
        ex.response.send(200, {}, 'ok');
    }
  })();
}

for (const phase of CLOSE_PHASES) {
  test(`client closes ${phase.name}: the exchange finishes, close() is prompt, nothing in flight`, async () => {
    const lines: string[] = [];
    const server = await startServer(lifecycleApp, { http1Engine: 'ngi', accessLog: true, timeouts: { drain: 2000 }, log: (line) => lines.push(line) });
    let closedIn = 0;
    try {
      const c = await RawClient.connect(portOf(server.url));
      c.write(phase.send);
      if (phase.until) await c.until(phase.until, 2000);
      else await delay(phase.waitMs ?? 20);
      c.destroy();
      await delay(100);
    } finally {
      const t0 = performance.now();
      await server.close();
      closedIn = performance.now() - t0;
    }
    assert.ok(!lines.some((l) => /drain timeout/.test(l)), lines.join('\n'));
    assert.ok(closedIn < 1500, `close() took ${Math.round(closedIn)} ms:\n${lines.join('\n')}`);
  });
}

// The handler throws at each phase: the client gets a 500 (before the response) or a closed
// connection (after), and the connection is usable or closed, never stuck.
const THROW_PHASES = [
  { name: 'synchronously, body unread', path: '/sync-throw', body: 'abc', expect: [500] },
  { name: 'after reading part of the body', path: '/throw-mid-body', body: 'x'.repeat(200_000), expect: [500] },
  { name: 'after start()', path: '/throw-after-start', body: '', expect: [200] },
] as const;

function throwingApp(ex: Exchange): Promise<void> | void {
  const path = ex.request.path;
  if (path === '/sync-throw') throw new Error('boom (expected)');
  return (async () => {
    if (path === '/throw-mid-body') {
      for await (const chunk of ex.request.body) {
        void chunk;
        throw new Error('boom (expected)');
      }
    }
    if (path === '/throw-after-start') {
      const w = ex.response.start(200, { 'content-type': 'text/plain' });
      await w.write('partial');
      throw new Error('boom (expected)');
    }
    ex.response.send(200, {}, 'ok');
  })();
}

for (const phase of THROW_PHASES) {
  test(`handler throws ${phase.name}: answered, then the next request or a close`, async () => {
    await withNgi(throwingApp, {}, async (server) => {
      await withClient(server, async (c) => {
        c.write(`POST ${phase.path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${phase.body.length}\r\n\r\n${phase.body}` + GET('/after'));
        await c.until((t) => c.isClosed || /\r\n\r\nok$/.test(t), 3000).catch(() => '');
        const statuses = statusLines(c.text);
        assert.deepEqual(statuses.slice(0, 1), [...phase.expect], c.text.slice(0, 300));
        // Either the next request was served, or the connection closed (a reset stream on HTTP/1.1).
        assert.ok(c.isClosed || statuses[1] === 200, `stuck: ${JSON.stringify(c.text.slice(0, 300))}`);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 5. Response bytes

// start(..., { trailers: [names] }) announces the names in a `trailer` field that is pushed
// after normalizeFields (response.ts), and EngineH1Response.sendHead writes field lines raw: a
// name holding CRLF splits the response head (RFC 9110 §5.5; node:http's setHeader refuses it).
test('declared trailer names are validated: no CRLF reaches the response head', async () => {
  const outcome = deferred<string>();
  const app = async (ex: Exchange): Promise<void> => {
    try {
      const w = ex.response.start(200, { 'content-type': 'text/plain' }, { trailers: ['x-sum\r\nx-injected: yes'] });
      await w.end({ 'x-sum': '1' });
      outcome.resolve('started');
    } catch (error) {
      outcome.resolve(`threw ${(error as Error).message}`);
      throw error;
    }
  };
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write(GET('/t'));
      await within(outcome.promise, 2000, 'the handler');
      await c.until((t) => t.includes('\r\n\r\n'), 2000).catch(() => '');
      assert.doesNotMatch(c.text, /\r\nx-injected: yes\r\n/i, c.text);
    });
  });
});

// Chunked framing of streamed writes around the coalescing limit (16 KiB), strings with
// multi-byte characters (byte length != string length), Uint8Arrays, and trailers.
test('streamed chunks of every kind and size are framed byte-exactly, with trailers', async () => {
  const parts: (string | Uint8Array)[] = [
    'é'.repeat(8192), // 16384 bytes in 8192 chars: at the limit
    'é'.repeat(8193), // over it, by bytes only
    new Uint8Array(16 * 1024 + 1).fill(0x41),
    '€',
    new Uint8Array(3).fill(0x42),
    'x'.repeat(70_000),
  ];
  const expected = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
  const app = async (ex: Exchange): Promise<void> => {
    const w = ex.response.start(200, { 'content-type': 'application/octet-stream' }, { trailers: ['x-done'] });
    for (const p of parts) await w.write(p);
    await w.end({ 'x-done': 'yes' });
  };
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write(GET('/a') + GET('/b'));
      const responses = await c.responses(2, 3000);
      for (const r of responses) {
        assert.ok(r.chunked && r.complete);
        assert.ok(r.body.equals(expected), `body differs: ${r.body.length} vs ${expected.length}`);
        assert.deepEqual(r.trailers, [['x-done', 'yes']]);
      }
    });
  });
});

// send() with bodies of each type and size: content-length matches the bytes, the next
// pipelined response starts right after (no stray bytes).
test('send(): content-length equals the bytes sent, for strings (multi-byte), Uint8Array and large bodies', async () => {
  const bodies: (string | Uint8Array)[] = ['', 'a', 'é'.repeat(8192), 'é'.repeat(9000), new Uint8Array(20_000).fill(1), '€'.repeat(10)];
  const app = (ex: Exchange): void => {
    const i = Number(ex.request.path.slice(1));
    ex.response.send(200, {}, bodies[i]!);
  };
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write(bodies.map((_, i) => GET(`/${i}`)).join(''));
      const responses = await c.responses(bodies.length, 3000);
      responses.forEach((r, i) => {
        const b = bodies[i]!;
        const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b);
        assert.equal(r.get('content-length'), String(bytes.length));
        assert.ok(r.body.equals(bytes), `body ${i}`);
      });
    });
  });
});

// HEAD: no body bytes, whatever the handler does; the pipelined GET after it is intact
// (RFC 9110 §9.3.2). 204/304 likewise.
test('HEAD, 204 and 304 carry no body, and the responses after them are framed right', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const p = ex.request.path;
    if (p === '/stream') {
      const w = ex.response.start(200, { 'content-type': 'text/plain' });
      await w.write('body!');
      await w.end('more');
    } else if (p === '/204') ex.response.send(204, {}, 'x');
    else if (p === '/304') await ex.response.start(304, { etag: '"a"' }).end();
    else ex.response.send(200, {}, 'hello');
  };
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write('HEAD /send HTTP/1.1\r\nHost: x\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n' + GET('/204') + GET('/304') + GET('/last'));
      const responses = await c.responses(5, 3000, { headIndexes: [0, 1] });
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 204, 304, 200]);
      assert.equal(responses[4]!.body.toString(), 'hello');
      assert.equal(responses[0]!.get('content-length'), '5');
      assert.equal(responses[2]!.get('content-length'), undefined);
      assert.equal(responses[2]!.get('transfer-encoding'), undefined);
      assert.equal(responses[3]!.get('transfer-encoding'), undefined);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// 6. Backpressure

// A 4 MB upload read slowly (SocketBody pauses the socket, _read resumes it), then a
// pipelined GET: nothing lost, nothing stuck.
test('a 4 MB upload read slowly, then a pipelined GET: both answered, body intact', async () => {
  const size = 4 * 1024 * 1024;
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.method === 'GET') return ex.response.send(200, {}, 'get');
    let n = 0;
    let i = 0;
    let intact = true;
    for await (const chunk of ex.request.body) {
      for (let j = 0; j < chunk.length; j += 997) if (chunk[j] !== (n + j) % 251) intact = false;
      n += chunk.length;
      if (++i % 8 === 0) await delay(1);
    }
    ex.response.send(200, {}, `${n} ${intact}`);
  };
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = i % 251;
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      c.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
      c.write(body);
      c.write(GET('/after'));
      const responses = await c.responses(2, 10_000);
      assert.equal(responses[0]!.body.toString(), `${size} true`);
      assert.equal(responses[1]!.body.toString(), 'get');
    });
  });
});

// 3000 pipelined GETs (more than MAX_HELD = 64 KiB held, so several held chunks and a pause)
// behind a slow first request. The handler is `async` but answers before its first await, as
// a hello-world does: that is a synchronous responseDone() -> re-entrant #next() (finding 1),
// and the responses come back out of order (/slow, /0, /2149, ...), one request lost.
test('3000 pipelined requests behind a slow one (async handler answering before any await): all answered, in order', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    if (ex.request.path === '/slow') await delay(50);
    ex.response.send(200, {}, ex.request.path);
  };
  await withNgi(app, {}, async (server) => {
    await withClient(server, async (c) => {
      const n = 3000;
      c.write(GET('/slow') + Array.from({ length: n }, (_, i) => GET(`/${i}`)).join(''));
      await c.until((t) => t.endsWith(`/${n - 1}`), 3000).catch(() => '');
      const bodies = parseResponses(c.data).map((r) => r.body.toString());
      const firstWrong = bodies.findIndex((b, i) => b !== (i === 0 ? '/slow' : `/${i - 1}`));
      assert.equal(firstWrong, -1, `response ${firstWrong} is ${bodies[firstWrong]}; ${bodies.length} responses`);
      assert.equal(bodies.length, n + 1);
    });
  });
});
