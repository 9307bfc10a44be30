/**
 * gRPC interop: examples/grpc-echo (a gRPC service written on NGI, no gRPC server library)
 * called by @grpc/grpc-js, over h2c and over h2 with TLS. The bidi test is the proof of
 * bidirectional streaming on one stream: the client sends message n+1 only after reply n has
 * arrived, so a server (or application) that read the whole request before answering would
 * deadlock, which the test's timeouts turn into a failure.
 *
 * The client needs no .proto loading: the service is described at run time
 * (makeGenericClientConstructor) with the example's hand-written protobuf codec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import echoApp, { encodeGrpcMessage, MAX_MESSAGE_SIZE } from '../../examples/grpc-echo/app.ts';
import { Deframer, encodeFrame, FramingError } from '../../examples/grpc-echo/framing.ts';
import { decodeMsg, encodeMsg, ProtoError, type Msg } from '../../examples/grpc-echo/proto.ts';
import type { Exchange, Handler, RequestBody } from '../../src/index.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import type { ServerHandle } from '../../src/server/serve.ts';
import { startServer, testCertificate } from '../helpers/server.ts';
import { deferred, delay, RawClient, within } from '../helpers/raw.ts';

const TEST_TIMEOUT = 15_000;
/** A reply that takes longer than this on loopback is not coming. */
const REPLY_WAIT = 5_000;

// ---------------------------------------------------------------------------------------
// The client side: the service described at run time.

const serialize = (msg: Msg): Buffer => Buffer.from(encodeMsg(msg));
const deserialize = (bytes: Buffer): Msg => decodeMsg(bytes);

function method(name: string, streaming: boolean): grpc.MethodDefinition<Msg, Msg> {
  return {
    path: `/echo.Echo/${name}`,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: name,
  };
}

type UnaryCallback = (error: grpc.ServiceError | null, reply?: Msg) => void;

/** What makeGenericClientConstructor builds for the definition below. */
interface EchoClient extends grpc.Client {
  Say(request: Msg, options: grpc.CallOptions, callback: UnaryCallback): grpc.ClientUnaryCall;
  Chat(options: grpc.CallOptions): grpc.ClientDuplexStream<Msg, Msg>;
  /** Not implemented by the server. */
  Missing(request: Msg, options: grpc.CallOptions, callback: UnaryCallback): grpc.ClientUnaryCall;
}

const EchoClientConstructor = grpc.makeGenericClientConstructor(
  { Say: method('Say', false), Chat: method('Chat', true), Missing: method('Missing', false) },
  'echo.Echo',
);

/** Every call carries a deadline, so no wait in this file is unbounded. */
const callOptions = (): grpc.CallOptions => ({ deadline: Date.now() + 12_000 });

function say(client: EchoClient, msg: Msg, name: 'Say' | 'Missing' = 'Say'): Promise<Msg> {
  return new Promise((resolve, reject) => {
    client[name](msg, callOptions(), (error, reply) => (error ? reject(error) : resolve(reply!)));
  });
}

/** A Chat call whose replies are awaited one by one. */
class Chat {
  readonly call: grpc.ClientDuplexStream<Msg, Msg>;
  readonly replies: Msg[] = [];
  #taken = 0;
  #waiter: (() => void) | undefined;
  readonly status: Promise<grpc.StatusObject>;
  readonly ended: Promise<void>;
  error: grpc.ServiceError | undefined;

  constructor(client: EchoClient) {
    this.call = client.Chat(callOptions());
    const status = deferred<grpc.StatusObject>();
    const ended = deferred<void>();
    this.status = status.promise;
    this.ended = ended.promise;
    this.call.on('data', (msg: Msg) => {
      this.replies.push(msg);
      this.#waiter?.();
    });
    // A non-OK status is also emitted as 'error'; without a listener it would throw.
    this.call.on('error', (error: grpc.ServiceError) => {
      this.error = error;
      this.#waiter?.();
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      status.resolve(s);
      this.#waiter?.();
    });
    this.call.on('end', () => ended.resolve());
  }

  write(msg: Msg): void {
    this.call.write(msg);
  }

  /** The next reply not yet taken; rejects after `ms` or when the call fails first. */
  next(ms = REPLY_WAIT): Promise<Msg> {
    return within(new Promise<Msg>((resolve, reject) => {
      const check = (): void => {
        const reply = this.replies[this.#taken];
        if (reply !== undefined) {
          this.#taken++;
          this.#waiter = undefined;
          resolve(reply);
        } else if (this.error) {
          this.#waiter = undefined;
          reject(this.error);
        }
      };
      this.#waiter = check;
      check();
    }), ms, `reply ${this.#taken + 1}`);
  }
}

// ---------------------------------------------------------------------------------------
// Servers and transports.

interface Transport {
  readonly name: string;
  serve(): ServeOptions;
  credentials(): grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
}

const TRANSPORTS: readonly Transport[] = [
  { name: 'h2c', serve: () => ({}), credentials: () => grpc.credentials.createInsecure(), channelOptions: {} },
  {
    name: 'h2 over TLS',
    serve: () => ({ tls: testCertificate() }),
    // The self-signed certificate is its own CA.
    credentials: () => grpc.credentials.createSsl(Buffer.from(testCertificate().cert)),
    // The target is an IP literal, which TLS SNI cannot carry (RFC 6066 §3; node warns):
    // name the server by the certificate's DNS name instead.
    channelOptions: { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' },
  },
];

const portOf = (server: ServerHandle): number => Number(new URL(server.url).port);

/**
 * A short drain: a test that failed with a call open must not wait 30 s on close. The access
 * log is kept: it has one line per exchange that ended, and names exchanges cut off at close.
 */
function serveOptions(log: string[]): ServeOptions {
  return { timeouts: { drain: 1_000 }, accessLog: true, log: (line) => log.push(line) };
}

/**
 * Closes the server and checks that every exchange had ended on its own. The wait is bounded
 * by a referenced timer: the server's drain timer is unref'd and grpc-js unrefs its sockets,
 * so an exchange stuck on the server would otherwise let the event loop run dry mid-close.
 */
async function closeServer(server: ServerHandle, log: string[], options: { allowStuck?: boolean } = {}): Promise<void> {
  await within(server.close(), 5_000, 'server.close()');
  if (!options.allowStuck) {
    assert.deepEqual(log.filter((line) => line.includes('drain timeout')), [], 'exchanges still running at close');
  }
}

interface GrpcOptions {
  /** Tolerate an exchange still running at close (none of the tests needs it any more). */
  allowStuck?: boolean;
}

async function withGrpc(transport: Transport, app: Handler | typeof echoApp, fn: (client: EchoClient, server: ServerHandle, log: string[]) => Promise<void>, options: GrpcOptions = {}): Promise<void> {
  const log: string[] = [];
  const server = await startServer(app, { ...serveOptions(log), ...transport.serve() });
  let client: EchoClient | undefined;
  let failed = false;
  try {
    client = new EchoClientConstructor(`127.0.0.1:${portOf(server)}`, transport.credentials(), {
      // A channel of its own: grpc-js otherwise shares connections between clients.
      'grpc.use_local_subchannel_pool': 1,
      ...transport.channelOptions,
    }) as unknown as EchoClient;
    await fn(client, server, log);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    client?.close();
    if (failed) await closeServer(server, log).catch(() => {}); // the first error is the one to report
    else await closeServer(server, log, { allowStuck: options.allowStuck === true });
  }
}

/** The example's handler, observed: `onSettled` runs each time it has finished an exchange. */
function observed(onSettled: () => void, wrap: (exchange: Exchange) => Exchange = (e) => e): Handler {
  return async (exchange) => {
    try {
      await echoApp.handle(wrap(exchange));
    } finally {
      onSettled();
    }
  };
}

/** An exchange whose request body records the size of every chunk the application reads. */
function countingChunks(exchange: Exchange, sizes: number[]): Exchange {
  const body = exchange.request.body;
  const counted: RequestBody = {
    length: body.length,
    trailers: body.trailers,
    bytes: (o) => body.bytes(o),
    text: (o) => body.text(o),
    json: (o) => body.json(o),
    async *[Symbol.asyncIterator]() {
      for await (const chunk of body) {
        sizes.push(chunk.length);
        yield chunk;
      }
    },
  };
  const r = exchange.request;
  return {
    protocol: exchange.protocol,
    request: { method: r.method, scheme: r.scheme, authority: r.authority, path: r.path, query: r.query, headers: r.headers, body: counted },
    response: exchange.response,
    connection: exchange.connection,
    features: exchange.features,
    signal: exchange.signal,
    state: exchange.state,
  };
}

/** Text of `bytes` UTF-8 bytes with multi-byte characters, distinct per `seed`. */
function bigText(bytes: number, seed: number): string {
  const unit = `${seed}:é€𝄞-`; // 1 + 1 + 2 + 3 + 4 + 1 bytes (+ digits)
  const unitBytes = Buffer.byteLength(unit);
  return unit.repeat(Math.floor(bytes / unitBytes)) + 'x'.repeat(bytes % unitBytes);
}

// ---------------------------------------------------------------------------------------
// grpc-js against the example, on each transport.

for (const transport of TRANSPORTS) {
  test(`[${transport.name}] unary Say round trip`, { timeout: TEST_TIMEOUT }, () =>
    withGrpc(transport, echoApp, async (client) => {
      assert.deepEqual(await say(client, { text: 'hello', seq: 42 }), { text: 'hello', seq: 42 });
      // proto3 defaults (fields left out on the wire), a negative int32 (a ten-byte varint), non-ASCII text.
      assert.deepEqual(await say(client, { text: '', seq: 0 }), { text: '', seq: 0 });
      assert.deepEqual(await say(client, { text: 'héllo €𝄞', seq: -7 }), { text: 'héllo €𝄞', seq: -7 });
      assert.deepEqual(await say(client, { text: 'max', seq: 2 ** 31 - 1 }), { text: 'max', seq: 2 ** 31 - 1 });
      assert.deepEqual(await say(client, { text: 'min', seq: -(2 ** 31) }), { text: 'min', seq: -(2 ** 31) });
    }));

  test(`[${transport.name}] bidi Chat: each reply arrives before the next message is sent; 100 in order, then status OK`, { timeout: TEST_TIMEOUT }, () =>
    withGrpc(transport, echoApp, async (client) => {
      const chat = new Chat(client);
      chat.write({ text: 'message 1', seq: 1 });
      // The request is still open here: only an application that answers while it reads
      // can produce this reply.
      assert.deepEqual(await chat.next(), { text: 'message 1', seq: 1 });
      for (let seq = 2; seq <= 100; seq++) {
        chat.write({ text: `message ${seq}`, seq });
        assert.deepEqual(await chat.next(), { text: `message ${seq}`, seq });
      }
      chat.call.end();
      const status = await within(chat.status, REPLY_WAIT, 'the status');
      assert.equal(status.code, grpc.status.OK, status.details);
      assert.equal(status.details, '');
      await within(chat.ended, REPLY_WAIT, "the replies' end");
      assert.equal(chat.replies.length, 100);
      assert.equal(chat.error, undefined);
    }));

  test(`[${transport.name}] an error status from the trailers: 'fail' ends the call with INVALID_ARGUMENT`, { timeout: TEST_TIMEOUT }, () =>
    withGrpc(transport, echoApp, async (client) => {
      // Chat: replies went out first, so the status comes in trailers after them.
      const chat = new Chat(client);
      chat.write({ text: 'ok', seq: 1 });
      assert.deepEqual(await chat.next(), { text: 'ok', seq: 1 });
      chat.write({ text: 'fail', seq: 2 });
      // The client keeps sending: the server has stopped reading, which must not hide the status.
      chat.write({ text: 'after', seq: 3 });
      const status = await within(chat.status, REPLY_WAIT, 'the status');
      assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(status.details, 'message 2 asked to fail');
      assert.equal(chat.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.deepEqual(chat.replies, [{ text: 'ok', seq: 1 }]);
      // Unary: nothing was sent yet, so Trailers-Only.
      await assert.rejects(say(client, { text: 'fail', seq: 9 }), (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
        assert.equal(error.details, 'message 9 asked to fail');
        return true;
      });
      // The connection is still good.
      assert.deepEqual(await say(client, { text: 'still here', seq: 10 }), { text: 'still here', seq: 10 });
    }));

  test(`[${transport.name}] an unknown method is UNIMPLEMENTED`, { timeout: TEST_TIMEOUT }, () =>
    withGrpc(transport, echoApp, async (client) => {
      await assert.rejects(say(client, { text: 'x', seq: 1 }, 'Missing'), (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.UNIMPLEMENTED);
        assert.equal(error.details, 'unknown method /echo.Echo/Missing');
        return true;
      });
    }));

  test(`[${transport.name}] 1 MiB messages, split across DATA frames, both ways`, { timeout: TEST_TIMEOUT }, async () => {
    const sizes: number[] = [];
    const app = observed(() => {}, (exchange) => countingChunks(exchange, sizes));
    await withGrpc(transport, app, async (client) => {
      const MiB = 1024 * 1024;
      const one = bigText(MiB, 0);
      assert.deepEqual(await say(client, { text: one, seq: 1 }), { text: one, seq: 1 });
      // 1 MiB cannot come in one piece: 16 KiB frames at most, and a 64 KiB stream window
      // that only the application's reading reopens.
      assert.ok(sizes.length >= 16, `the request body came in ${sizes.length} chunks`);
      assert.ok(Math.max(...sizes) < MiB);
      // Three in a row on one Chat, without waiting for replies (the server reads and
      // writes at once, with backpressure both ways).
      const chat = new Chat(client);
      const texts = [1, 2, 3].map((seed) => bigText(MiB, seed));
      texts.forEach((text, i) => chat.write({ text, seq: i + 1 }));
      chat.call.end();
      for (const [i, text] of texts.entries()) {
        const reply = await chat.next(10_000);
        assert.equal(reply.seq, i + 1);
        assert.ok(reply.text === text, `reply ${i + 1} differs from its message`);
      }
      assert.equal((await within(chat.status, REPLY_WAIT, 'the status')).code, grpc.status.OK);
    });
  });

  test(`[${transport.name}] a message over the 4 MiB limit is RESOURCE_EXHAUSTED`, { timeout: TEST_TIMEOUT }, () =>
    withGrpc(transport, echoApp, async (client) => {
      const chat = new Chat(client);
      chat.write({ text: 'x'.repeat(MAX_MESSAGE_SIZE + 1), seq: 1 });
      const status = await within(chat.status, REPLY_WAIT, 'the status');
      assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED, status.details);
      assert.match(status.details, /exceeds the limit of 4194304/);
    }));

  test(`[${transport.name}] concurrent Chats on one connection stay separate`, { timeout: TEST_TIMEOUT }, () =>
    withGrpc(transport, echoApp, async (client) => {
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (id) => {
        const chat = new Chat(client);
        for (let seq = 1; seq <= 20; seq++) {
          chat.write({ text: `chat ${id}`, seq });
          assert.deepEqual(await chat.next(), { text: `chat ${id}`, seq });
        }
        chat.call.end();
        assert.equal((await within(chat.status, REPLY_WAIT, 'the status')).code, grpc.status.OK);
      }));
    }));

  test(`[${transport.name}] a cancelled Chat ends the handler`, { timeout: TEST_TIMEOUT }, async () => {
    const settled = deferred<void>();
    await withGrpc(transport, observed(() => settled.resolve()), async (client) => {
      const chat = new Chat(client);
      chat.write({ text: 'one', seq: 1 });
      await chat.next();
      chat.call.cancel();
      await within(settled.promise, REPLY_WAIT, 'the handler');
      assert.equal((await within(chat.status, REPLY_WAIT, 'the status')).code, grpc.status.CANCELLED);
    });
  });
}

// ---------------------------------------------------------------------------------------
// The test proves something: an application that reads the whole request first deadlocks it.

test('control: an application that buffers the request never answers message 1', { timeout: TEST_TIMEOUT }, () =>
  withGrpc(TRANSPORTS[0]!, async (exchange) => {
    const body = await exchange.request.body.bytes(); // waits for the end of the request
    const writer = exchange.response.start(200, { 'content-type': 'application/grpc' }, { trailers: true });
    await writer.write(body);
    await writer.end({ 'grpc-status': '0' });
  }, async (client) => {
    const chat = new Chat(client);
    chat.write({ text: 'message 1', seq: 1 });
    await assert.rejects(chat.next(1_000), /reply 1 did not settle within 1000 ms/);
    // Ending the request unblocks it: the reply was only ever waiting for the whole body.
    chat.call.end();
    assert.deepEqual(await chat.next(), { text: 'message 1', seq: 1 });
  }));

// ---------------------------------------------------------------------------------------
// Regression: when the application stops reading a request body with DATA still buffered and
// ends its response, node destroys the stream closed with NO_ERROR only once its readable side
// has ended; the server must discard the unread DATA (src/server/http2.ts finishUnreadRequest)
// or the exchange never ends (no access-log line, connection.inFlight stays up).

for (const transport of TRANSPORTS) {
  test(`[${transport.name}] the server ends a call that failed while the client was still sending`, {
    timeout: TEST_TIMEOUT,
  }, () => {
    // The handler lingers a moment after its status went out, so that the client's next
    // message is surely buffered, unread, when the server resets the stream.
    const app: Handler = async (exchange) => {
      await echoApp.handle(exchange);
      await delay(100);
    };
    return withGrpc(transport, app, async (client, _server, log) => {
      const chat = new Chat(client);
      chat.write({ text: 'ok', seq: 1 });
      await chat.next();
      chat.write({ text: 'fail', seq: 2 });
      chat.write({ text: 'after', seq: 3 });
      assert.equal((await within(chat.status, REPLY_WAIT, 'the status')).code, grpc.status.INVALID_ARGUMENT);
      // The access log has a line once the exchange has ended.
      const ended = (): boolean => log.some((line) => line.includes('POST /echo.Echo/Chat'));
      const deadline = Date.now() + 2_000;
      while (!ended() && Date.now() < deadline) await delay(20);
      assert.ok(ended(), 'the Chat exchange is still running on the server');
    });
  });
}

// ---------------------------------------------------------------------------------------
// The wire, seen with node:http2 and node:http: framing, trailers, Trailers-Only.

function frames(...msgs: Msg[]): Buffer {
  return Buffer.concat(msgs.map((m) => encodeFrame(encodeMsg(m))));
}

function parseFrames(body: Buffer): Msg[] {
  const deframer = new Deframer(Number.MAX_SAFE_INTEGER);
  const out = deframer.push(body).map((f) => decodeMsg(f.message));
  deframer.end();
  return out;
}

interface RawResult {
  headers: http2.IncomingHttpHeaders;
  /** The head carried END_STREAM: a Trailers-Only response. */
  headersOnly: boolean;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

test('on the wire (node:http2): messages split anywhere and packed together, status in trailers', { timeout: TEST_TIMEOUT }, async () => {
  const log: string[] = [];
  const server = await startServer(echoApp, serveOptions(log));
  const session = http2.connect(server.url);
  session.on('error', () => {});
  const request = (path: string, write: (stream: http2.ClientHttp2Stream) => Promise<void>, contentType = 'application/grpc'): Promise<RawResult> =>
    within(new Promise<RawResult>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': contentType, te: 'trailers' });
      let headers: http2.IncomingHttpHeaders | undefined;
      let headersOnly = false;
      let trailers: http2.IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (h, flags) => {
        headers = h;
        headersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      });
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('error', reject);
      stream.on('close', () => (headers ? resolve({ headers, headersOnly, body: Buffer.concat(chunks), trailers }) : reject(new Error(`no response (rst ${stream.rstCode})`))));
      write(stream).catch(reject);
    }), 10_000, `POST ${path}`);
  try {
    // Four messages: two in one write, then one a byte at a time (the prefix split too), then
    // one whose prefix ends one write and whose payload starts the next.
    const a = frames({ text: 'a', seq: 1 }, { text: 'b', seq: 2 });
    const c = frames({ text: 'c'.repeat(300), seq: 3 });
    const d = frames({ text: 'd', seq: -4 });
    const chat = await request('/echo.Echo/Chat', async (stream) => {
      stream.write(a);
      for (const byte of c) {
        stream.write(Buffer.of(byte));
        await new Promise((r) => setImmediate(r));
      }
      stream.write(d.subarray(0, 5));
      await new Promise((r) => setTimeout(r, 20));
      stream.end(d.subarray(5));
    });
    assert.equal(chat.headers[':status'], 200);
    assert.equal(chat.headers['content-type'], 'application/grpc');
    assert.equal(chat.headersOnly, false);
    assert.deepEqual(parseFrames(chat.body), [{ text: 'a', seq: 1 }, { text: 'b', seq: 2 }, { text: 'c'.repeat(300), seq: 3 }, { text: 'd', seq: -4 }]);
    assert.equal(chat.trailers?.['grpc-status'], '0');
    assert.equal(chat.trailers?.['grpc-message'], undefined);

    // Trailers-Only: the status in a head that ends the stream, no body.
    const missing = await request('/echo.Echo/Nope', async (stream) => void stream.end(frames({ text: 'x', seq: 1 })));
    assert.equal(missing.headers[':status'], 200);
    assert.equal(missing.headersOnly, true);
    assert.equal(missing.headers['grpc-status'], '12');
    assert.equal(missing.headers['grpc-message'], 'unknown method /echo.Echo/Nope');
    assert.equal(missing.body.length, 0);

    // An error after a reply: the status in the trailers.
    const failed = await request('/echo.Echo/Chat', async (stream) => void stream.end(frames({ text: 'ok', seq: 1 }, { text: 'fail', seq: 100 })));
    assert.deepEqual(parseFrames(failed.body), [{ text: 'ok', seq: 1 }]);
    assert.equal(failed.trailers?.['grpc-status'], '3');
    assert.equal(failed.trailers?.['grpc-message'], 'message 100 asked to fail');

    // A body that stops inside a message, and a unary call with two messages.
    const truncated = await request('/echo.Echo/Chat', async (stream) => void stream.end(frames({ text: 'ok', seq: 1 }).subarray(0, 4)));
    assert.equal(truncated.headers['grpc-status'], '13');
    const two = await request('/echo.Echo/Say', async (stream) => void stream.end(frames({ text: '1', seq: 1 }, { text: '2', seq: 2 })));
    assert.equal(two.headers['grpc-status'], '12');

    // Not gRPC: plain HTTP answers.
    const plain = await request('/echo.Echo/Say', async (stream) => void stream.end('hi'), 'text/plain');
    assert.equal(plain.headers[':status'], 415);
  } finally {
    session.destroy();
    await closeServer(server, log);
  }
});

test('HTTP/1.1: the same bidi call over a chunked request, status in chunked trailers', { timeout: TEST_TIMEOUT }, async () => {
  const log: string[] = [];
  const server = await startServer(echoApp, serveOptions(log));
  const agent = new http.Agent({ keepAlive: false });
  try {
    const req = http.request(new URL('/echo.Echo/Chat', server.url), { method: 'POST', agent, headers: { 'content-type': 'application/grpc', te: 'trailers' } });
    req.on('error', () => {});
    const response = within(new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve)), REPLY_WAIT, 'the response');
    const deframer = new Deframer(MAX_MESSAGE_SIZE);
    const replies: Msg[] = [];
    let wake: (() => void) | undefined;
    const next = (): Promise<Msg> => within(new Promise<Msg>((resolve) => {
      const check = (): void => {
        const reply = replies.shift();
        if (reply) resolve(reply);
        else wake = check;
      };
      check();
    }), REPLY_WAIT, 'a reply');
    req.write(frames({ text: 'one', seq: 1 }));
    const res = await response;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const ended = new Promise<void>((resolve) => res.once('end', resolve));
    res.on('data', (chunk: Buffer) => {
      replies.push(...deframer.push(chunk).map((f) => decodeMsg(f.message)));
      wake?.();
    });
    assert.deepEqual(await next(), { text: 'one', seq: 1 });
    req.write(frames({ text: 'two', seq: 2 }));
    assert.deepEqual(await next(), { text: 'two', seq: 2 });
    req.end();
    await within(ended, REPLY_WAIT, 'the end of the response');
    assert.equal(res.trailers['grpc-status'], '0');
  } finally {
    agent.destroy();
    await closeServer(server, log);
  }
});

test('HTTP/1.0 (no response trailers): Trailers-Only INTERNAL, not a broken call', { timeout: TEST_TIMEOUT }, async () => {
  const log: string[] = [];
  const server = await startServer(echoApp, serveOptions(log));
  const raw = await RawClient.connect(portOf(server));
  try {
    const body = frames({ text: 'hi', seq: 1 });
    raw.write(Buffer.concat([
      Buffer.from(`POST /echo.Echo/Say HTTP/1.0\r\nHost: x\r\nContent-Type: application/grpc\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]));
    const [res] = await raw.responses(1, REPLY_WAIT, { closed: true });
    assert.equal(res?.status, 200);
    assert.equal(res?.get('grpc-status'), '13');
    assert.match(res?.get('grpc-message') ?? '', /gRPC needs response trailers/);
    assert.equal(res?.body.length, 0);
  } finally {
    raw.destroy();
    await closeServer(server, log);
  }
});

// ---------------------------------------------------------------------------------------
// The example's codecs, against bytes worked out by hand.

test('codecs: Msg protobuf bytes, gRPC framing at every split point, grpc-message encoding', () => {
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
  assert.equal(hex(encodeMsg({ text: 'hi', seq: 1 })), '0a0268691001');
  assert.equal(hex(encodeMsg({ text: '', seq: 0 })), ''); // proto3 defaults are left out
  assert.equal(hex(encodeMsg({ text: '', seq: 300 })), '10ac02');
  assert.equal(hex(encodeMsg({ text: '', seq: -1 })), '10ffffffffffffffffff01'); // sign-extended to 64 bits
  assert.deepEqual(decodeMsg(Buffer.from('10ffffffffffffffffff01', 'hex')), { text: '', seq: -1 });
  // Unknown fields of every wire type are skipped; the last seq wins.
  assert.deepEqual(decodeMsg(Buffer.from('1801' + '210102030405060708' + '2a0178' + '2d01020304' + '0a026869' + '1005' + '1007', 'hex')), { text: 'hi', seq: 7 });
  for (const bad of ['0a05686869', '10', '0a', '1a', '0b', '08ffffffffffffffffffff01']) {
    assert.throws(() => decodeMsg(Buffer.from(bad, 'hex')), ProtoError, bad);
  }
  assert.throws(() => decodeMsg(Buffer.from('0a02c328', 'hex')), /not valid UTF-8/);
  assert.throws(() => encodeMsg({ text: '', seq: 2 ** 31 }), ProtoError);

  const msgs = [{ text: 'a', seq: 1 }, { text: '', seq: 0 }, { text: 'ccc', seq: -3 }];
  const wire = frames(...msgs);
  assert.equal(hex(wire.subarray(0, 8)), '00000000050a0161');
  for (let cut = 0; cut <= wire.length; cut++) {
    for (let cut2 = cut; cut2 <= wire.length; cut2++) {
      const deframer = new Deframer(1024);
      const got = [wire.subarray(0, cut), wire.subarray(cut, cut2), wire.subarray(cut2)].flatMap((part) => deframer.push(part));
      deframer.end();
      assert.deepEqual(got.map((f) => decodeMsg(f.message)), msgs, `cut at ${cut} and ${cut2}`);
    }
  }
  const truncated = new Deframer(1024);
  truncated.push(wire.subarray(0, 3));
  assert.throws(() => truncated.end(), (e: unknown) => e instanceof FramingError && e.kind === 'truncated');
  assert.throws(() => new Deframer(2).push(wire), (e: unknown) => e instanceof FramingError && e.kind === 'too-large');
  assert.throws(() => new Deframer(1024).push(Buffer.from('0200000000', 'hex')), (e: unknown) => e instanceof FramingError && e.kind === 'malformed');

  assert.equal(encodeGrpcMessage('plain text: ok'), 'plain text: ok');
  assert.equal(encodeGrpcMessage('100% é\n'), '100%25 %C3%A9%0A');
});
