/**
 * Graceful shutdown, drain timeout, lifespan hooks and the CLI's exits, as clients and the
 * application observe them.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { defineApp, NgiError, type Exchange } from '../../src/index.ts';
import { run } from '../helpers/run.ts';
import { NGI_BIN, startCli, startServer, type CliServer, portOf } from '../helpers/server.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const SLOW_APP = fixture('slow.ts');
const STARTUP_FAILS = fixture('startup-fails.ts');
const NO_APP = fixture('no-app.ts');


/** Rejects after `ms` with `what` in the message, so nothing in these tests can hang. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A raw HTTP/1.1 connection: what the server sends, and when it closes. */
class Raw {
  readonly socket: net.Socket;
  data = '';
  closedAt: number | undefined;
  readonly closed: Promise<void>;
  #waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.data += chunk;
      for (const wake of this.#waiters) wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = Date.now();
        for (const wake of this.#waiters) wake();
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<Raw> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new Raw(socket);
  }

  /** Resolves once `ready(data)` holds; rejects when the connection closes first or after `ms`. */
  until(ready: (data: string) => boolean, ms = 5000): Promise<string> {
    return within(
      new Promise<string>((resolve, reject) => {
        const check = (): void => {
          if (ready(this.data)) {
            this.#waiters.delete(check);
            resolve(this.data);
          } else if (this.closedAt !== undefined) {
            this.#waiters.delete(check);
            reject(new Error(`connection closed; received: ${JSON.stringify(this.data)}`));
          }
        };
        this.#waiters.add(check);
        check();
      }),
      ms,
      'raw response',
    );
  }
}

/** A complete HTTP/1.1 response with a content-length body is in `data`. */
function completeResponse(data: string): boolean {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end));
  return length !== null && data.length >= end + 4 + Number(length[1]);
}

/** The body of a complete chunked HTTP/1.1 response; throws if the last chunk is missing. */
function dechunk(data: string): string {
  let at = data.indexOf('\r\n\r\n') + 4;
  assert.ok(at >= 4 && /\r\ntransfer-encoding: chunked\r\n/i.test(data.slice(0, at)), 'a chunked response');
  let body = '';
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    assert.ok(lineEnd > at, `truncated chunked body: ${JSON.stringify(data)}`);
    const size = parseInt(data.slice(at, lineEnd), 16);
    if (size === 0) return body;
    body += data.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** Connecting fails with this errno (no listener). */
async function connectError(port: number): Promise<string | undefined> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await within(once(socket, 'connect'), 2000, 'connect');
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  } finally {
    socket.destroy();
  }
}

interface Seen {
  path: string;
  protocol: string;
  drainAbortedAt?: number;
  answeredAt?: number;
}

describe('graceful shutdown', { timeout: 80_000 }, () => {
  it('in-flight HTTP/1.1 and HTTP/2 requests complete; new connections are refused; GOAWAY; idle keep-alive closed; drain.signal aborts', { timeout: 15_000 }, async () => {
    const records: Seen[] = [];
    let arrived = 0;
    const server = await startServer(async (exchange: Exchange) => {
      const record: Seen = { path: exchange.request.path, protocol: exchange.protocol };
      records.push(record);
      const drain = exchange.features.drain;
      drain?.signal.addEventListener('abort', () => (record.drainAbortedAt = Date.now()));
      if (record.path === '/slow') {
        arrived++;
        await sleep(500);
      }
      record.answeredAt = Date.now();
      exchange.response.send(200, { 'content-type': 'text/plain' }, `done ${exchange.protocol} drain=${String(drain?.draining)}\n`);
    });
    const port = portOf(server.url);
    const session = http2.connect(server.url);
    session.on('error', () => {});
    const idle = await Raw.connect(port);
    const busy = await Raw.connect(port);
    try {
      // An idle keep-alive connection: one exchange answered, the connection left open.
      idle.socket.write('GET /fast HTTP/1.1\r\nhost: x\r\n\r\n');
      await idle.until(completeResponse);
      assert.match(idle.data, /^HTTP\/1\.1 200 /);
      assert.doesNotMatch(idle.data, /\r\nconnection: close\r\n/i);

      // A busy keep-alive connection (it asks for nothing else), and an HTTP/2 stream in flight.
      busy.socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
      const goaways: [number, number][] = [];
      let afterGoaway: Promise<string> | undefined;
      session.on('goaway', (code: number, lastStreamID: number) => {
        goaways.push([code, lastStreamID]);
        // A stream the client opens once it has seen the GOAWAY is refused, never left hanging.
        afterGoaway ??= new Promise<string>((resolve) => {
          setImmediate(() => {
            try {
              const late = session.request({ ':path': '/late' });
              late.on('response', (headers) => resolve(`response ${String(headers[':status'])}`));
              late.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
              late.on('close', () => resolve(`closed rstCode ${late.rstCode}`));
            } catch (error) {
              resolve((error as NodeJS.ErrnoException).code ?? String(error));
            }
          });
        });
      });
      const stream = session.request({ ':path': '/slow' });
      const h2Response = (async () => {
        const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
        stream.setEncoding('utf8');
        let body = '';
        for await (const chunk of stream as AsyncIterable<string>) body += chunk;
        return { status: Number(headers[':status']), body };
      })();
      const deadline = Date.now() + 5000;
      while (arrived < 2 && Date.now() < deadline) await sleep(10);
      assert.equal(arrived, 2, 'both slow requests reached the application');

      const closeStartedAt = Date.now();
      const closing = server.close();
      assert.equal(await connectError(port), 'ECONNREFUSED', 'a new connection is refused once close() has started');

      // The idle keep-alive connection is closed at once, not after the in-flight exchanges.
      await within(idle.closed, 2000, 'idle keep-alive connection closed');
      assert.ok(idle.closedAt! - closeStartedAt < 400, `idle connection closed ${idle.closedAt! - closeStartedAt} ms after close()`);

      // The busy HTTP/1.1 connection gets its response, marked Connection: close, then is closed.
      const busyText = await busy.until(completeResponse);
      assert.match(busyText, /^HTTP\/1\.1 200 /);
      assert.match(busyText, /\r\nconnection: close\r\n/i);
      assert.match(busyText, /done http\/1\.1 drain=true\n$/);
      await within(busy.closed, 2000, 'busy connection closed after its response');

      const h2 = await within(h2Response, 5000, 'HTTP/2 response');
      assert.equal(h2.status, 200);
      assert.equal(h2.body, 'done h2c drain=true\n');

      await within(closing, 5000, 'server.close()');
      assert.ok(Date.now() - closeStartedAt >= 300, 'close() waited for the in-flight exchanges');

      // RFC 9113 §6.8: GOAWAY(NO_ERROR, 2^31-1) first, then GOAWAY with the real last stream (1).
      assert.ok(goaways.length >= 2, `GOAWAY frames seen: ${JSON.stringify(goaways)}`);
      assert.ok(goaways.every(([code]) => code === http2.constants.NGHTTP2_NO_ERROR), `GOAWAY codes: ${JSON.stringify(goaways)}`);
      assert.deepEqual(goaways[0], [0, 2 ** 31 - 1], 'the first GOAWAY announces the largest stream id');
      assert.deepEqual(goaways.at(-1), [0, 1], 'the final GOAWAY carries the last stream processed');
      const late = await within(afterGoaway!, 3000, 'stream opened after GOAWAY');
      assert.ok(['ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION', `closed rstCode ${http2.constants.NGHTTP2_REFUSED_STREAM}`].includes(late), `a stream opened after GOAWAY: ${late}`);
      assert.ok(!records.some((r) => r.path === '/late'), 'the late stream never reached the application');

      // features.drain.signal fired for both in-flight exchanges, while they were in flight.
      const slow = records.filter((r) => r.path === '/slow');
      assert.deepEqual(slow.map((r) => r.protocol).sort(), ['h2c', 'http/1.1']);
      for (const r of slow) {
        assert.ok(r.drainAbortedAt !== undefined, `drain.signal aborted for ${r.protocol}`);
        assert.ok(r.drainAbortedAt >= closeStartedAt && r.drainAbortedAt < r.answeredAt!, `${r.protocol}: drain.signal aborted during the exchange`);
      }
    } finally {
      session.destroy();
      idle.socket.destroy();
      busy.socket.destroy();
      await server.close();
    }
  });

  it('drain timeout: an exchange that never finishes is cut off, its signal aborted, and close() resolves', { timeout: 15_000 }, async () => {
    const DRAIN = 300;
    const aborted: { protocol: string; reason: unknown; at: number }[] = [];
    const logged: string[] = [];
    let arrived = 0;
    const server = await startServer(
      async (exchange: Exchange) => {
        arrived++;
        // Never answers; returns only once the server has given up on it.
        await new Promise<void>((resolve) =>
          exchange.signal.addEventListener('abort', () => {
            aborted.push({ protocol: exchange.protocol, reason: exchange.signal.reason, at: Date.now() });
            resolve();
          }),
        );
      },
      { timeouts: { drain: DRAIN }, log: (line) => logged.push(line) },
    );
    const h1 = await Raw.connect(portOf(server.url));
    const session = http2.connect(server.url);
    session.on('error', () => {});
    try {
      h1.socket.write('GET /hang HTTP/1.1\r\nhost: x\r\n\r\n');
      const stream = session.request({ ':path': '/hang' });
      let gotResponse = false;
      stream.on('response', () => (gotResponse = true));
      stream.on('error', () => {});
      stream.resume();
      const streamClosed = once(stream, 'close');
      const deadline = Date.now() + 5000;
      while (arrived < 2 && Date.now() < deadline) await sleep(10);
      assert.equal(arrived, 2);

      const started = Date.now();
      await within(server.close(), DRAIN + 3000, 'close() with a stuck exchange');
      const took = Date.now() - started;
      assert.ok(took >= DRAIN - 20, `close() resolved after ${took} ms, before the drain timeout`);
      assert.ok(took < DRAIN + 1500, `close() took ${took} ms (drain timeout ${DRAIN} ms)`);

      assert.ok(logged.some((line) => /drain timeout: 2 exchange\(s\) still running were cut off/.test(line)), `log: ${logged.join('\n')}`);

      // The HTTP/1.1 client sees its connection closed without a response.
      await within(h1.closed, 2000, 'HTTP/1.1 connection closed');
      assert.equal(h1.data, '', 'no response bytes on the cut-off HTTP/1.1 connection');
      // The HTTP/2 stream is closed without a response.
      await within(streamClosed, 2000, 'HTTP/2 stream closed');
      assert.equal(gotResponse, false);
      assert.ok(session.destroyed || session.closed, 'the HTTP/2 session is gone');

      // The application learned that the server gave up on each exchange.
      await within((async () => { while (aborted.length < 2) await sleep(10); })(), 2000, 'exchange.signal aborted');
      assert.deepEqual(aborted.map((a) => a.protocol).sort(), ['h2c', 'http/1.1']);
      for (const a of aborted) {
        assert.ok(a.reason instanceof NgiError, `${a.protocol}: the abort reason is an NgiError`);
        assert.equal(a.reason.code, 'NGI_ERR_SHUTDOWN', `${a.protocol}: abort reason ${a.reason.code}: ${a.reason.message}`);
        assert.ok(a.at - started >= DRAIN - 20, `${a.protocol}: aborted at the drain timeout, not before`);
      }
    } finally {
      h1.socket.destroy();
      session.destroy();
      await server.close();
    }
  });
});

describe('lifespan', { timeout: 60_000 }, () => {
  it('startup state reaches exchange.state; shutdown runs after the last in-flight exchange', { timeout: 10_000 }, async () => {
    const events: string[] = [];
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const app = defineApp({
      startup() {
        events.push('startup');
        return { greeting: 'hello from startup', events };
      },
      async handle(exchange) {
        arrived();
        await sleep(300);
        exchange.response.send(200, {}, exchange.state.greeting);
        events.push('exchange finished');
      },
      async shutdown(state) {
        await sleep(10);
        state.events.push(`shutdown saw ${state.greeting}`);
      },
    });
    const server = await startServer(app);
    assert.deepEqual(events, ['startup']);
    try {
      const response = fetch(server.url + '/');
      await inFlight;
      events.push('close called');
      const closing = server.close();
      const res = await response;
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'hello from startup');
      await within(closing, 5000, 'close()');
      assert.deepEqual(events, ['startup', 'close called', 'exchange finished', 'shutdown saw hello from startup']);
    } finally {
      await server.close();
    }
    await server.close(); // idempotent
    assert.equal(events.filter((e) => e.startsWith('shutdown')).length, 1, 'the shutdown hook runs once');
  });

  it('a failing startup makes serve() reject with NGI_ERR_STARTUP_FAILED and nothing listens', { timeout: 10_000 }, async () => {
    const cause = new Error('no database');
    let handled = false;
    await assert.rejects(
      startServer({
        startup() {
          throw cause;
        },
        handle(exchange) {
          handled = true;
          exchange.response.send(200);
        },
      }),
      (error: unknown) => {
        assert.ok(error instanceof NgiError);
        assert.equal(error.code, 'NGI_ERR_STARTUP_FAILED');
        assert.match(error.message, /no database/);
        assert.equal(error.cause, cause);
        return true;
      },
    );
    assert.equal(handled, false);
  });

  it('CLI: a failing startup exits 1 with NGI_ERR_STARTUP_FAILED and the message on stderr', { timeout: 20_000 }, async () => {
    const result = await run(process.execPath, [NGI_BIN, 'serve', STARTUP_FAILS, '--port', '0'], { timeoutMs: 15_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /NGI_ERR_STARTUP_FAILED: lifespan startup failed: database unreachable \(fixture\)/);
    assert.doesNotMatch(result.stderr, /serving/);
  });

  it('CLI: a module without an application exits 1 with NGI_ERR_APP_LOAD_FAILED', { timeout: 20_000 }, async () => {
    const result = await run(process.execPath, [NGI_BIN, 'serve', NO_APP, '--port', '0'], { timeoutMs: 15_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /NGI_ERR_APP_LOAD_FAILED: .*no-app\.ts has no default export that is an NGI application/);
  });

  it('a port in use: serve() rejects with NGI_ERR_LISTEN_FAILED, the CLI exits 1', { timeout: 20_000 }, async () => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      await assert.rejects(startServer(() => {}, { port }), (error: unknown) => {
        assert.ok(error instanceof NgiError);
        assert.equal(error.code, 'NGI_ERR_LISTEN_FAILED');
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}: EADDRINUSE`));
        return true;
      });
      const result = await run(process.execPath, [NGI_BIN, 'serve', SLOW_APP, '--port', String(port)], { timeoutMs: 15_000 });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /NGI_ERR_LISTEN_FAILED: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });
});

describe('CLI shutdown and TLS', { timeout: 60_000 }, () => {
  it('SIGTERM with requests in flight: they complete, the process exits 0', { timeout: 20_000 }, async () => {
    let server: CliServer | undefined;
    try {
      server = await startCli(SLOW_APP);
      const port = portOf(server.url);
      // HTTP/1.1 and HTTP/2 requests whose response heads have arrived and whose bodies have not.
      const h1 = await Raw.connect(port);
      h1.socket.write('GET /slow HTTP/1.1\r\nhost: x\r\n\r\n');
      await h1.until((d) => d.includes('first http/1.1\n'));
      const session = http2.connect(server.url);
      session.on('error', () => {});
      const stream = session.request({ ':path': '/slow' });
      stream.setEncoding('utf8');
      let h2Body = '';
      stream.on('data', (chunk: string) => (h2Body += chunk));
      await within((async () => { while (!h2Body.includes('first h2c\n')) await sleep(5); })(), 5000, 'h2 first chunk');
      const h2Ended = once(stream, 'end');

      server.child.kill('SIGTERM');
      const code = await within(server.exited, 10_000, 'CLI exit after SIGTERM');
      assert.equal(code, 0, server.stderr());
      // The head went out before the signal (keep-alive); the body completes, then the server closes.
      await within(h1.closed, 2000, 'HTTP/1.1 connection closed');
      assert.match(h1.data, /^HTTP\/1\.1 200 /);
      assert.equal(dechunk(h1.data), 'first http/1.1\ndone\n', 'the whole chunked body, terminated');
      await within(h2Ended, 2000, 'HTTP/2 stream end');
      assert.equal(h2Body, 'first h2c\ndone\n');
      session.destroy();
      assert.match(server.stderr(), /SIGTERM: shutting down/);
      assert.match(server.stderr(), /ngi: stopped/);
    } finally {
      await server?.stop();
    }
  });

  it('--self-signed serves h2 over TLS (curl --http2 -k)', { timeout: 20_000 }, async () => {
    let server: CliServer | undefined;
    try {
      server = await startCli(SLOW_APP, ['--self-signed']);
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const result = await run('curl', ['-sS', '-k', '--http2', '--max-time', '10', '-w', '\n%{http_version}', server.url + '/tls'], { timeoutMs: 15_000 });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'first h2\ndone\n\n2');
      assert.equal(await server.stop(), 0);
    } finally {
      await server?.stop();
    }
  });
});
