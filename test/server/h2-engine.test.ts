/**
 * Conformance and robustness of NGI's own HTTP/2 framing (`http2Engine: 'ngi'`, src/h2/) under
 * a raw frame client (test/helpers/h2-frames.ts) that sends what well-behaved clients never do,
 * and real peers: node:http2's client, curl, nghttp and h2load. Each test names the RFC 9113
 * section it holds the engine to, and asserts what the peer observes on the wire.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Exchange } from '../../src/index.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import type { ServerHandle } from '../../src/server/serve.ts';
import { ErrorCode, Flag, FrameType, H2FrameClient, MAX_STREAM_ID, PREFACE, SettingId, codeName, frameBytes, parseSettings, requestFields, settingsPayload, u32, type ConnectOptions } from '../helpers/h2-frames.ts';
import http2 from 'node:http2';
import { connectSession, portOf, testCertificate, withServer } from '../helpers/server.ts';
import { deferred, within } from '../helpers/raw.ts';
import { run } from '../helpers/run.ts';

/** A deterministic body of `n` bytes. */
function pattern(n: number, seed = 0): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return out;
}

/** Released by a test: /gate responds once it resolves. */
let gateRelease: (() => void) | undefined;
let gate: Promise<void> = Promise.resolve();
/** Requests that reached /gate or /hold (resolves the current waiter). */
let arrivedNotify: (() => void) | undefined;

function closeGate(): { release: () => void; arrived: Promise<void> } {
  gate = new Promise((resolve) => (gateRelease = resolve));
  const arrived = new Promise<void>((resolve) => (arrivedNotify = resolve));
  return { release: () => gateRelease?.(), arrived };
}

function aborted(ex: Exchange): Promise<void> {
  return new Promise((resolve) => {
    if (ex.signal.aborted) resolve();
    else ex.signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * /             200 "ok"
 * /echo         the request body streamed back
 * /count        reads the body, answers its length
 * /hold         never reads the body; answers 200 once the exchange is cancelled or the gate opens
 * /gate         waits for the gate, then 200 "late"
 * /big?n=N      N bytes of pattern()
 * /trailers     "hello" and the trailer x-checksum: abc
 * /bigheader    200 with a 40,000-byte field x-big
 */
async function engineApp(ex: Exchange): Promise<void> {
  const { path, query } = ex.request;
  const res = ex.response;
  switch (path) {
    case '/echo': {
      const w = res.start(200, { 'content-type': 'application/octet-stream' });
      for await (const chunk of ex.request.body) await w.write(chunk);
      await w.end();
      return;
    }
    case '/count': {
      let n = 0;
      for await (const chunk of ex.request.body) n += chunk.length;
      res.send(200, { 'content-type': 'text/plain' }, String(n));
      return;
    }
    case '/hold':
      arrivedNotify?.();
      await Promise.race([aborted(ex), gate]);
      if (!ex.signal.aborted) res.send(200, { 'content-type': 'text/plain' }, 'released');
      return;
    case '/gate':
      arrivedNotify?.();
      await Promise.race([aborted(ex), gate]);
      if (!ex.signal.aborted) res.send(200, { 'content-type': 'text/plain' }, 'late');
      return;
    case '/big': {
      const n = Number(new URLSearchParams(query).get('n') ?? 1024 * 1024);
      res.send(200, { 'content-type': 'application/octet-stream' }, pattern(n));
      return;
    }
    case '/bigheader':
      res.send(200, { 'x-big': 'h'.repeat(40_000) }, 'ok');
      return;
    case '/trailers': {
      const w = res.start(200, { 'content-type': 'text/plain' }, { trailers: ['x-checksum'] });
      await w.write('hello');
      await w.end({ 'x-checksum': 'abc' });
      return;
    }
    default:
      res.send(200, { 'content-type': 'text/plain' }, 'ok');
  }
}

/** A server on the NGI engine for the duration of fn; raw clients it opened are destroyed before the server closes. */
async function withEngine<T>(options: ServeOptions, fn: (server: ServerHandle, connect: (o?: ConnectOptions) => Promise<H2FrameClient>) => Promise<T>): Promise<T> {
  const clients: H2FrameClient[] = [];
  return withServer(engineApp, { http2Engine: 'ngi', timeouts: { drain: 2000 }, ...options }, async (server) => {
    const connect = async (o: ConnectOptions = {}): Promise<H2FrameClient> => {
      const c = await H2FrameClient.connect(portOf(server.url), { tls: server.url.startsWith('https:'), ...o });
      clients.push(c);
      return c;
    };
    try {
      return await fn(server, connect);
    } finally {
      for (const c of clients) c.destroy();
    }
  });
}

/** GOAWAY with `code`, then the server closes the connection (RFC 9113 §5.4.1). */
async function expectConnectionError(c: H2FrameClient, code: number): Promise<void> {
  const g = await c.goaway();
  assert.equal(codeName(g.code), codeName(code), `GOAWAY code (debug ${JSON.stringify(g.debug)})`);
  await c.waitClosed();
}

/** RST_STREAM with `code` on stream `id`, no GOAWAY (RFC 9113 §5.4.2). */
async function expectStreamError(c: H2FrameClient, id: number, code: number): Promise<void> {
  const got = await c.reset(id);
  assert.equal(codeName(got), codeName(code), `RST_STREAM code on stream ${id}`);
  assert.deepEqual(c.goaways(), [], 'no GOAWAY');
}

/** A GET on stream `id` of the same connection is answered 200 "ok". */
async function expectAlive(c: H2FrameClient, id: number): Promise<void> {
  c.get(id, '/');
  const r = await c.response(id);
  assert.equal(r.status, 200, `status on stream ${id}: ${c.describe()}`);
  assert.equal(r.body.toString(), 'ok');
  assert.deepEqual(c.goaways(), [], 'no GOAWAY');
}

describe('NGI HTTP/2 engine: preface and SETTINGS', () => {
  test('RFC 9113 §3.4: garbage instead of the preface (TLS, ALPN h2) draws GOAWAY PROTOCOL_ERROR and a close', async () => {
    await withEngine({ tls: testCertificate() }, async (_server, connect) => {
      const c = await connect({ preface: false });
      c.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', 'latin1'));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §3.4: a broken preface on cleartext is not taken as HTTP/2 and the connection closes', async () => {
    await withEngine({}, async (server) => {
      const socket = net.connect(portOf(server.url), '127.0.0.1');
      socket.on('error', () => {});
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n');
      await within(closed, 5000, 'close');
      const got = Buffer.concat(chunks);
      // Not an HTTP/2 SETTINGS frame: the sniffer sent it to HTTP/1.1, which refuses it.
      assert.ok(got.length === 0 || got.toString('latin1').startsWith('HTTP/1.1 4') || got.toString('latin1').startsWith('HTTP/1.1 5'), JSON.stringify(got.toString('latin1')));
    });
  });

  test('RFC 9113 §3.4: a first frame other than SETTINGS draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect({ preface: false });
      c.write(Buffer.concat([PREFACE, frameBytes(FrameType.PING, 0, 0, Buffer.alloc(8))]));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.5: the server SETTINGS carry the limits, and our SETTINGS are acknowledged', async () => {
    await withEngine({ limits: { maxConcurrentStreams: 7, maxHeaderSize: 5000 } }, async (_server, connect) => {
      const c = await connect({ settings: [[SettingId.MAX_FRAME_SIZE, 20_000]] });
      const first = await c.waitFor(() => true, 'a first frame');
      assert.equal(first.type, FrameType.SETTINGS, 'the server preface is a SETTINGS frame (§3.4)');
      assert.equal(first.flags & Flag.ACK, 0);
      const settings = parseSettings(first);
      assert.equal(settings.get(SettingId.MAX_CONCURRENT_STREAMS), 7);
      assert.equal(settings.get(SettingId.MAX_HEADER_LIST_SIZE), 5000);
      await c.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK && f.payload.length === 0, 'SETTINGS ACK');
      await expectAlive(c, 1);
    });
  });

  const settingsErrors: Array<[string, Buffer, number]> = [
    ['RFC 9113 §6.5: SETTINGS with a length that is not a multiple of 6 draws GOAWAY FRAME_SIZE_ERROR', Buffer.alloc(5), ErrorCode.FRAME_SIZE_ERROR],
    ['RFC 9113 §6.5.2: SETTINGS_ENABLE_PUSH = 2 draws GOAWAY PROTOCOL_ERROR', settingsPayload([[SettingId.ENABLE_PUSH, 2]]), ErrorCode.PROTOCOL_ERROR],
    ['RFC 9113 §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE = 2^31 draws GOAWAY FLOW_CONTROL_ERROR', settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 2 ** 31]]), ErrorCode.FLOW_CONTROL_ERROR],
    ['RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE = 16,383 draws GOAWAY PROTOCOL_ERROR', settingsPayload([[SettingId.MAX_FRAME_SIZE, 16_383]]), ErrorCode.PROTOCOL_ERROR],
    ['RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE = 2^24 draws GOAWAY PROTOCOL_ERROR', settingsPayload([[SettingId.MAX_FRAME_SIZE, 2 ** 24]]), ErrorCode.PROTOCOL_ERROR],
    ['RFC 9113 §6.5: SETTINGS on a stream draws GOAWAY PROTOCOL_ERROR', Buffer.alloc(0), ErrorCode.PROTOCOL_ERROR],
  ];
  for (const [name, payload, code] of settingsErrors) {
    test(name, async () => {
      await withEngine({}, async (_server, connect) => {
        const c = await connect();
        await c.waitFor((f) => f.type === FrameType.SETTINGS, 'server SETTINGS');
        c.frame(FrameType.SETTINGS, 0, name.includes('on a stream') ? 1 : 0, payload);
        await expectConnectionError(c, code);
      });
    });
  }
});

describe('NGI HTTP/2 engine: frames', () => {
  test('RFC 9113 §4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE (16,384) draws GOAWAY FRAME_SIZE_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385));
      await expectConnectionError(c, ErrorCode.FRAME_SIZE_ERROR);
    });
  });

  test('RFC 9113 §6.7: PING is answered with ACK and the same payload', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      const payload = Buffer.from('8 bytes!');
      c.frame(FrameType.PING, 0, 0, payload);
      const ack = await c.waitFor((f) => f.type === FrameType.PING, 'PING ACK');
      assert.equal(ack.flags, Flag.ACK);
      assert.equal(ack.streamId, 0);
      assert.deepEqual(ack.payload, payload);
      // An ACK is not answered (§6.7).
      c.frame(FrameType.PING, Flag.ACK, 0, Buffer.from('unasked!'));
      await c.roundTrip();
      assert.equal(c.frames.filter((f) => f.type === FrameType.PING).length, 2, c.describe());
    });
  });

  test('RFC 9113 §6.7: PING on a stream draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.PING, 0, 1, Buffer.alloc(8));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.7: PING of 7 bytes draws GOAWAY FRAME_SIZE_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.PING, 0, 0, Buffer.alloc(7));
      await expectConnectionError(c, ErrorCode.FRAME_SIZE_ERROR);
    });
  });

  test('RFC 9113 §6.9: WINDOW_UPDATE of 0 on the connection draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.windowUpdate(0, 0);
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.9: WINDOW_UPDATE of 0 on a stream draws RST_STREAM PROTOCOL_ERROR and the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.windowUpdate(1, 0);
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §5.5: a frame of unknown type is ignored', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(0xfa, 0xff, 0, Buffer.from('extension'));
      c.frame(0xfb, 0, 1, Buffer.from('on an idle stream'));
      await expectAlive(c, 1);
    });
  });

  test('RFC 9113 §8.4: PUSH_PROMISE from a client draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.concat([u32(2), c.encode(requestFields('GET', '/x'))]));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.10: CONTINUATION without a HEADERS before it draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, c.encode(requestFields('GET', '/')));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.10: CONTINUATION after a complete header block draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, c.encode(['x-more', '1']));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.10: a header block interrupted by another frame draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      const block = c.encode(requestFields('GET', '/', ['x-a', 'b']));
      c.frame(FrameType.HEADERS, Flag.END_STREAM, 1, block.subarray(0, 5));
      c.frame(FrameType.PING, 0, 0, Buffer.alloc(8));
      c.frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(5));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.10: a CONTINUATION on another stream draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      const block = c.encode(requestFields('GET', '/'));
      c.frame(FrameType.HEADERS, Flag.END_STREAM, 1, block.subarray(0, 3));
      c.frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, block.subarray(3));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.10: HEADERS split over CONTINUATION frames make one request', async () => {
    await withEngine({ limits: { maxHeaderSize: 64 * 1024 } }, async (_server, connect) => {
      const c = await connect();
      const block = c.encode(requestFields('GET', '/', ['x-long', 'v'.repeat(40_000)]));
      const parts = [block.subarray(0, 10), block.subarray(10, 16_394), block.subarray(16_394, 32_778), block.subarray(32_778)];
      c.frame(FrameType.HEADERS, Flag.END_STREAM, 1, parts[0]);
      c.frame(FrameType.CONTINUATION, 0, 1, parts[1]);
      c.frame(FrameType.CONTINUATION, 0, 1, parts[2]);
      c.frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, parts[3]);
      const r = await c.response(1);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'ok');
      // And the HPACK state is in step for the next block.
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §6.10: a header block in eight small CONTINUATION frames is accepted', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      const block = c.encode(requestFields('GET', '/', ['x-a', 'b'.repeat(50)]));
      const step = Math.ceil(block.length / 9);
      c.frame(FrameType.HEADERS, Flag.END_STREAM, 1, block.subarray(0, step));
      for (let i = 1; i < 9; i++) c.frame(FrameType.CONTINUATION, i === 8 ? Flag.END_HEADERS : 0, 1, block.subarray(i * step, (i + 1) * step));
      assert.equal((await c.response(1)).status, 200);
    });
  });

  test('RFC 9113 §6.10: a response header block larger than SETTINGS_MAX_FRAME_SIZE goes out as HEADERS and CONTINUATION', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.get(1, '/bigheader');
      const r = await c.response(1);
      assert.equal(r.status, 200);
      assert.equal(r.headers[r.headers.indexOf('x-big') + 1], 'h'.repeat(40_000));
      const frames = c.streamFrames(1);
      const last = frames.findIndex((f) => (f.flags & Flag.END_HEADERS) !== 0);
      assert.ok(last >= 1, 'more than one frame');
      const block = frames.slice(0, last + 1).map((f) => f.type);
      assert.deepEqual(block, [FrameType.HEADERS, ...Array<number>(last).fill(FrameType.CONTINUATION)]);
      assert.ok(c.frames.every((f) => f.payload.length <= 16_384), 'no frame above 16,384');
    });
  });

  test('RFC 9113 §6.5.2: with SETTINGS_HEADER_TABLE_SIZE = 0 the server signals the size update and its blocks decode without a dynamic table', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect({ settings: [[SettingId.HEADER_TABLE_SIZE, 0]] });
      await c.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK, 'SETTINGS ACK');
      // RFC 7541 §4.2: the next block must open with a size update to 0 (the decoder checks it).
      c.decoder.setMaxTableSize(0);
      for (const id of [1, 3, 5]) {
        c.get(id, '/');
        const r = await c.response(id);
        assert.equal(r.status, 200);
        assert.deepEqual(r.headers.slice(2, 4), ['content-type', 'text/plain']);
      }
      assert.equal(c.decoder.tableSize, 0);
    });
  });

  test('RFC 9113 §6.1: DATA on stream 0 draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.DATA, 0, 0, Buffer.from('x'));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §5.1: DATA on an idle stream draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.DATA, Flag.END_STREAM, 5, Buffer.from('x'));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §5.1: DATA after END_STREAM draws RST_STREAM STREAM_CLOSED', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('GET', '/hold'), { endStream: true });
      c.frame(FrameType.DATA, 0, 1, Buffer.from('x'));
      await expectStreamError(c, 1, ErrorCode.STREAM_CLOSED);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §6.1, §6.2: padded HEADERS and DATA are accepted and the padding is not part of the body', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/echo'), { pad: 17 });
      c.data(1, Buffer.from('hello '), { pad: 200 });
      c.data(1, Buffer.alloc(0), { pad: 3 });
      c.data(1, Buffer.from('world'), { endStream: true, pad: 0 });
      const r = await c.response(1);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'hello world');
    });
  });

  test('RFC 9113 §6.1: DATA padding as long as the payload draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      // Payload of 4: the pad length octet says 4, leaving -1 for data.
      c.frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([4, 0, 0, 0]));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §6.2: HEADERS padding longer than what remains draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      const block = c.encode(requestFields('GET', '/'));
      c.frame(FrameType.HEADERS, Flag.PADDED | Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.concat([Buffer.from([block.length + 1]), block]));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('RFC 9113 §5.1.1: a client stream with an even id draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.get(2, '/');
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
      assert.equal(c.streamFrames(2).filter((f) => f.type === FrameType.HEADERS).length, 0, 'no response on stream 2');
    });
  });

  test('RFC 9113 §5.1.1: a new stream id lower than a previous one draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.get(5, '/');
      assert.equal((await c.response(5)).status, 200);
      c.get(3, '/');
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
      assert.equal((await c.goaway()).lastStreamId, 5);
      assert.equal(c.streamFrames(3).length, 0, 'stream 3 is not answered');
    });
  });

  test('RFC 9113 §5.1.1: reusing the id of a completed stream draws GOAWAY', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.get(1, '/');
      assert.equal((await c.response(1)).status, 200);
      c.get(1, '/');
      const g = await c.goaway();
      assert.ok(g.code === ErrorCode.PROTOCOL_ERROR || g.code === ErrorCode.STREAM_CLOSED, codeName(g.code));
      await c.waitClosed();
    });
  });

  test('RFC 9113 §6.1: DATA on a stream that has closed (both sides ended) draws RST_STREAM STREAM_CLOSED; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.get(1, '/');
      assert.equal((await c.response(1)).status, 200);
      c.data(1, Buffer.from('late'));
      await expectStreamError(c, 1, ErrorCode.STREAM_CLOSED);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §5.1: frames the client had in flight on a stream the server reset are ignored', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      // Malformed (uppercase name): refused before the client sent its body and trailers.
      c.headers(1, requestFields('POST', '/count', ['X-Bad', '1']));
      c.data(1, Buffer.from('body'));
      c.headers(1, ['x-trailer', '1'], { endStream: true });
      c.windowUpdate(1, 100);
      c.rst(1, ErrorCode.CANCEL);
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §5.3.1: a stream that depends on itself draws RST_STREAM PROTOCOL_ERROR and the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      const block = c.encode(requestFields('POST', '/count'));
      const priority = Buffer.concat([u32(1), Buffer.from([15])]);
      c.frame(FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 1, Buffer.concat([priority, block]));
      c.data(1, Buffer.from('late body'), { endStream: true });
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });
});

describe('NGI HTTP/2 engine: malformed requests (RFC 9113 §8.1.1) are stream errors', () => {
  const base = (extra: string[] = []): string[] => requestFields('GET', '/', extra);
  /** [name, header list, END_STREAM on HEADERS] */
  const heads: Array<[string, string[]]> = [
    ['§8.2: an uppercase field name', base(['X-Upper', '1'])],
    ['§8.2.1: a field value with a line feed', base(['x-a', 'b\nc'])],
    ['§8.2.2: the connection-specific field connection', base(['connection', 'keep-alive'])],
    ['§8.2.2: the connection-specific field transfer-encoding', base(['transfer-encoding', 'chunked'])],
    ['§8.2.2: te other than "trailers"', base(['te', 'gzip'])],
    ['§8.3.1: a host that differs from :authority', base(['host', 'other.example'])],
    ['§8.3.1: a missing :method', [':scheme', 'http', ':authority', 'localhost', ':path', '/']],
    ['§8.3.1: a missing :scheme', [':method', 'GET', ':authority', 'localhost', ':path', '/']],
    ['§8.3.1: a missing :path', [':method', 'GET', ':scheme', 'http', ':authority', 'localhost']],
    ['§8.3.1: an empty :path', [':method', 'GET', ':scheme', 'http', ':authority', 'localhost', ':path', '']],
    ['§8.3: a duplicate pseudo-header field', [...base(), ':path', '/again']],
    ['§8.3: a pseudo-header field after a regular field', [':method', 'GET', ':scheme', 'http', 'x-a', '1', ':path', '/']],
    ['§8.3: an unknown pseudo-header field', base([':foo', 'bar'])],
    ['§8.3.2: :status in a request', [':status', '200', ...base()]],
    ['§8.1.1: a non-zero content-length with END_STREAM on HEADERS', requestFields('POST', '/count', ['content-length', '5'])],
  ];
  for (const [name, fields] of heads) {
    test(`RFC 9113 ${name} draws RST_STREAM PROTOCOL_ERROR; the connection lives on`, async () => {
      await withEngine({}, async (_server, connect) => {
        const c = await connect();
        c.headers(1, fields, { endStream: true });
        await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
        assert.equal(c.streamFrames(1).filter((f) => f.type === FrameType.HEADERS).length, 0, 'no response on the malformed stream');
        await expectAlive(c, 3);
      });
    });
  }

  test('RFC 9113 §8.1.1: a body longer than content-length draws RST_STREAM PROTOCOL_ERROR; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/count', ['content-length', '3']));
      c.data(1, Buffer.from('12345'), { endStream: true });
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §8.1.1: a body shorter than content-length draws RST_STREAM PROTOCOL_ERROR; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/count', ['content-length', '10']));
      c.data(1, Buffer.from('12345'), { endStream: true });
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §8.1: trailers without END_STREAM draw RST_STREAM PROTOCOL_ERROR; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.data(1, Buffer.from('abc'));
      c.headers(1, ['x-trailer', '1']);
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §8.1: trailers with a pseudo-header field draw RST_STREAM PROTOCOL_ERROR; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.data(1, Buffer.from('abc'));
      c.headers(1, [':path', '/x', 'x-trailer', '1'], { endStream: true });
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §8.2.2: a connection-specific field in trailers draws RST_STREAM PROTOCOL_ERROR; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.data(1, Buffer.from('abc'));
      c.headers(1, ['connection', 'close'], { endStream: true });
      await expectStreamError(c, 1, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §8.2.2 / §8.3.1: te "Trailers" (a token, any case) and a host equal to :authority up to case are accepted', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/count', ['te', 'Trailers', 'host', 'LocalHost']));
      c.data(1, Buffer.from('ab'), { endStream: true });
      const r = await c.response(1);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), '2');
    });
  });

  test('RFC 9113 §8.1: request trailers with END_STREAM reach the application', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/count', ['te', 'trailers']));
      c.data(1, Buffer.from('abcd'));
      c.headers(1, ['x-trailer', '1'], { endStream: true });
      const r = await c.response(1);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), '4');
    });
  });
});

describe('NGI HTTP/2 engine: HPACK and header limits', () => {
  test('RFC 9113 §4.3: a header block that does not decode draws GOAWAY COMPRESSION_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      // RFC 7541 §6.1: index 0 is not a valid index.
      c.frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.from([0x82, 0x80]));
      await expectConnectionError(c, ErrorCode.COMPRESSION_ERROR);
    });
  });

  test('RFC 9113 §4.3: an index beyond the dynamic table draws GOAWAY COMPRESSION_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.from([0x82, 0x86, 0x84, 0xbe]));
      await expectConnectionError(c, ErrorCode.COMPRESSION_ERROR);
    });
  });

  test('RFC 9113 §6.5.2: a header list above limits.maxHeaderSize draws RST_STREAM ENHANCE_YOUR_CALM; the connection lives on', async () => {
    await withEngine({ limits: { maxHeaderSize: 1024 } }, async (_server, connect) => {
      const c = await connect();
      const settings = parseSettings(await c.waitFor((f) => f.type === FrameType.SETTINGS, 'SETTINGS'));
      assert.equal(settings.get(SettingId.MAX_HEADER_LIST_SIZE), 1024);
      // Indexed in the dynamic table by our encoder when small enough: the server's table must follow even so.
      c.get(1, '/', ['x-big', 'v'.repeat(600), 'x-big2', 'w'.repeat(600)]);
      await expectStreamError(c, 1, ErrorCode.ENHANCE_YOUR_CALM);
      assert.equal(c.streamFrames(1).filter((f) => f.type === FrameType.HEADERS).length, 0);
      await expectAlive(c, 3);
      // The refused block's dynamic table entries are usable afterwards.
      c.get(5, '/', ['x-big', 'v'.repeat(600)]);
      assert.equal((await c.response(5)).status, 200);
    });
  });
});

describe('NGI HTTP/2 engine: limits and floods', () => {
  test('RFC 9113 §5.1.2: streams beyond limits.maxConcurrentStreams draw RST_STREAM REFUSED_STREAM; the others complete', async () => {
    const g = closeGate();
    await withEngine({ limits: { maxConcurrentStreams: 2 } }, async (_server, connect) => {
      const c = await connect();
      c.get(1, '/gate');
      c.get(3, '/gate');
      c.get(5, '/gate');
      await expectStreamError(c, 5, ErrorCode.REFUSED_STREAM);
      assert.equal(c.streamFrames(1).length + c.streamFrames(3).length, 0, 'streams 1 and 3 are still open');
      g.release();
      for (const id of [1, 3]) {
        const r = await c.response(id);
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'late');
      }
      await expectAlive(c, 7);
    });
  });

  test('RFC 9113 §10.5 (Rapid Reset, CVE-2023-44487): 2000 HEADERS + RST_STREAM pairs draw GOAWAY ENHANCE_YOUR_CALM; a new connection is served', async () => {
    closeGate();
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      await c.waitFor((f) => f.type === FrameType.SETTINGS, 'SETTINGS');
      const frames: Buffer[] = [];
      for (let i = 0; i < 2000; i++) {
        const id = 1 + 2 * i;
        frames.push(frameBytes(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, c.encode(requestFields('GET', '/gate'))));
        frames.push(frameBytes(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL)));
      }
      c.write(Buffer.concat(frames));
      await expectConnectionError(c, ErrorCode.ENHANCE_YOUR_CALM);
      const fresh = await connect();
      await expectAlive(fresh, 1);
    });
  });

  test('RFC 9113 §10.5: 2000 empty DATA frames draw GOAWAY ENHANCE_YOUR_CALM', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      const empty = frameBytes(FrameType.DATA, 0, 1);
      c.write(Buffer.concat(Array.from({ length: 2000 }, () => empty)));
      await expectConnectionError(c, ErrorCode.ENHANCE_YOUR_CALM);
    });
  });

  test('RFC 9113 §10.5 (CONTINUATION flood, CVE-2024-27316): a header block without END_HEADERS beyond the bound draws GOAWAY ENHANCE_YOUR_CALM', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.HEADERS, Flag.END_STREAM, 1, c.encode(requestFields('GET', '/')));
      // 64 frames of 4 KiB (256 KiB): far beyond any header list the server takes (16 KiB).
      const filler = frameBytes(FrameType.CONTINUATION, 0, 1, Buffer.alloc(4096, 0x40));
      c.write(Buffer.concat(Array.from({ length: 64 }, () => filler)));
      await expectConnectionError(c, ErrorCode.ENHANCE_YOUR_CALM);
    });
  });

  test('RFC 9113 §10.5 (CONTINUATION flood): many tiny CONTINUATION frames draw GOAWAY ENHANCE_YOUR_CALM long before the byte bound', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.HEADERS, Flag.END_STREAM, 1, c.encode(requestFields('GET', '/')));
      // 1-byte fragments: 4,000 of them stay far below the 48 KiB byte bound.
      const tiny = frameBytes(FrameType.CONTINUATION, 0, 1, Buffer.from([0x40]));
      c.write(Buffer.concat(Array.from({ length: 4000 }, () => tiny)));
      await expectConnectionError(c, ErrorCode.ENHANCE_YOUR_CALM);
    });
  });

  test('RFC 9113 §10.5: a client that floods PINGs and does not read is no longer read; the server serves others', { timeout: 30_000 }, async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      await c.waitFor((f) => f.type === FrameType.SETTINGS, 'SETTINGS');
      c.socket.pause();
      const batch = Buffer.concat(Array.from({ length: 4096 }, () => frameBytes(FrameType.PING, 0, 0, Buffer.alloc(8))));
      let written = 0;
      let stalled = false;
      // Bounded: 4000 batches of 68 KiB; the server must stop reading long before that.
      for (let i = 0; i < 4000 && !stalled; i++) {
        written += batch.length;
        if (!c.socket.write(batch)) {
          const drained = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => {
              c.socket.off('drain', onDrain);
              resolve(false);
            }, 1500);
            const onDrain = (): void => {
              clearTimeout(timer);
              resolve(true);
            };
            c.socket.once('drain', onDrain);
          });
          stalled = !drained;
        }
      }
      assert.ok(stalled, `the server kept reading: ${written} bytes of PINGs taken`);
      assert.ok(written < 256 * 1024 * 1024, `${written} bytes written before the stall`);
      // Another client is served meanwhile.
      const other = await connect();
      await expectAlive(other, 1);
      // The flooding connection is still not read.
      const before = c.socket.writableLength;
      await other.roundTrip();
      assert.ok(c.socket.writableLength >= before, 'the flooding connection is not drained');
    });
  });
});

describe('NGI HTTP/2 engine: flow control (RFC 9113 §6.9)', () => {
  test('RFC 9113 §6.9.2: with SETTINGS_INITIAL_WINDOW_SIZE = 0 the client gets HEADERS, and DATA only as it opens the window', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect({ settings: [[SettingId.INITIAL_WINDOW_SIZE, 0]] });
      c.get(1, '/');
      await c.waitFor((f) => f.streamId === 1 && f.type === FrameType.HEADERS, 'response HEADERS');
      await c.roundTrip();
      const data = (): Buffer[] => c.streamFrames(1).filter((f) => f.type === FrameType.DATA).map((f) => f.payload);
      assert.deepEqual(data(), [], 'no DATA without window');
      c.windowUpdate(1, 1);
      await c.waitFor((f) => f.streamId === 1 && f.type === FrameType.DATA, 'DATA');
      await c.roundTrip();
      assert.deepEqual(data().map(String), ['o'], 'one byte for one byte of window');
      c.windowUpdate(1, 1);
      const r = await c.response(1);
      assert.equal(r.body.toString(), 'ok');
      assert.equal(r.status, 200);
    });
  });

  test('RFC 9113 §6.9: a 1 MiB response to a client with a 16 KiB window completes as the client opens it, never beyond it', async () => {
    await withEngine({}, async (_server, connect) => {
      const WINDOW = 16_384;
      const c = await connect({ settings: [[SettingId.INITIAL_WINDOW_SIZE, WINDOW]] });
      c.get(1, '/big?n=1048576');
      let granted = WINDOW;
      let connGranted = 65_535;
      const received = (): number => c.streamFrames(1).reduce((n, f) => n + (f.type === FrameType.DATA ? f.payload.length : 0), 0);
      const ended = (): boolean => c.streamFrames(1).some((f) => (f.flags & Flag.END_STREAM) !== 0 || f.type === FrameType.RST_STREAM);
      for (let round = 0; round < 200 && !ended(); round++) {
        await c.until(() => received() >= granted || ended(), `stream 1 to use its window (${granted})`);
        assert.ok(received() <= granted, `${received()} bytes received with ${granted} of stream window`);
        assert.ok(c.dataReceived <= connGranted, `${c.dataReceived} bytes received with ${connGranted} of connection window`);
        if (ended()) break;
        c.windowUpdate(1, WINDOW);
        c.windowUpdate(0, WINDOW);
        granted += WINDOW;
        connGranted += WINDOW;
      }
      const r = await c.response(1);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, 1024 * 1024);
      assert.ok(r.body.equals(pattern(1024 * 1024)), 'the body is byte-exact');
    });
  });

  test('RFC 9113 §6.9.2: a smaller SETTINGS_INITIAL_WINDOW_SIZE mid-response makes the stream window negative; DATA resumes only once it is positive', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.windowUpdate(0, 4 * 1024 * 1024);
      c.get(1, '/big?n=200000');
      const received = (): number => c.streamFrames(1).reduce((n, f) => n + (f.type === FrameType.DATA ? f.payload.length : 0), 0);
      await c.until(() => received() === 65_535, 'the first 65,535 bytes');
      // 65,535 -> 16,384: the stream window goes from 0 to -49,151.
      c.frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 16_384]]));
      c.windowUpdate(1, 49_151);
      await c.roundTrip();
      assert.equal(received(), 65_535, 'nothing while the window is at most 0');
      c.windowUpdate(1, 1000);
      await c.until(() => received() === 66_535, '1,000 more bytes');
      await c.roundTrip();
      assert.equal(received(), 66_535, 'exactly the window given');
      c.windowUpdate(1, 200_000);
      const r = await c.response(1);
      assert.ok(r.body.equals(pattern(200_000)));
    });
  });

  test('RFC 9113 §6.9.1: with limits.streamWindow 16,384, DATA beyond 16,384 on a stream (after the SETTINGS ACK) draws RST_STREAM FLOW_CONTROL_ERROR', async () => {
    await withEngine({ limits: { streamWindow: 16_384 } }, async (_server, connect) => {
      const c = await connect();
      const settings = parseSettings(await c.waitFor((f) => f.type === FrameType.SETTINGS, 'SETTINGS'));
      assert.equal(settings.get(SettingId.INITIAL_WINDOW_SIZE), 16_384);
      // Our automatic ACK went out on receipt; a round trip later the server has it.
      await c.roundTrip();
      c.headers(1, requestFields('POST', '/hold'));
      c.data(1, Buffer.alloc(16_384));
      c.data(1, Buffer.alloc(1));
      await expectStreamError(c, 1, ErrorCode.FLOW_CONTROL_ERROR);
      // A stream that keeps to its window is served.
      c.headers(3, requestFields('POST', '/count'));
      await c.sendBody(3, pattern(100_000));
      const r = await c.response(3);
      assert.equal(r.body.toString(), '100000');
    });
  });

  test('RFC 9113 §6.9.1: a stream WINDOW_UPDATE beyond 2^31-1 draws RST_STREAM FLOW_CONTROL_ERROR; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.windowUpdate(1, MAX_STREAM_ID);
      await expectStreamError(c, 1, ErrorCode.FLOW_CONTROL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §6.9.1: a connection WINDOW_UPDATE beyond 2^31-1 draws GOAWAY FLOW_CONTROL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.windowUpdate(0, MAX_STREAM_ID);
      await expectConnectionError(c, ErrorCode.FLOW_CONTROL_ERROR);
    });
  });

  test('RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change that takes a stream window beyond 2^31-1 draws GOAWAY FLOW_CONTROL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      c.windowUpdate(1, MAX_STREAM_ID - 65_535);
      await c.roundTrip();
      c.frame(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 65_536]]));
      await expectConnectionError(c, ErrorCode.FLOW_CONTROL_ERROR);
    });
  });

  test('RFC 9113 §6.9.1: DATA beyond the stream window draws RST_STREAM FLOW_CONTROL_ERROR; the connection lives on', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('POST', '/hold'));
      for (let i = 0; i < 5; i++) c.data(1, Buffer.alloc(16_384));
      await expectStreamError(c, 1, ErrorCode.FLOW_CONTROL_ERROR);
      await expectAlive(c, 3);
    });
  });

  test('RFC 9113 §6.9: an upload to an app that does not read stops at the stream window; another stream on the connection completes', async () => {
    closeGate();
    await withEngine({}, async (_server, connect) => {
      const c = await connect({ returnCredit: true });
      await c.waitFor((f) => f.type === FrameType.SETTINGS, 'SETTINGS');
      c.headers(1, requestFields('POST', '/hold'));
      const stuck = c.sendBody(1, pattern(1024 * 1024), 20_000).catch((error: unknown) => error);
      await c.until(() => c.sendWindow(1) <= 0, 'stream 1 to use its window');
      await c.roundTrip();
      const sentOn1 = 65_535;
      assert.equal(c.streamFrames(1).filter((f) => f.type === FrameType.WINDOW_UPDATE).length, 0, 'no stream credit for an app that does not read');
      const body = pattern(200_000, 7);
      c.headers(3, requestFields('POST', '/echo'));
      await c.sendBody(3, body);
      const r = await c.response(3);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body), 'stream 3 echoed byte-exact');
      await c.roundTrip();
      assert.equal(c.streamFrames(1).filter((f) => f.type === FrameType.WINDOW_UPDATE).length, 0, 'still no stream credit on stream 1');
      assert.ok(c.sendWindow(1) <= 0, `stream 1 could send ${c.sendWindow(1)} more after ${sentOn1}`);
      c.destroy();
      assert.ok((await stuck) instanceof Error, 'the upload on stream 1 never completed');
    });
  });
});

/** One request on a node:http2 session: status and body. */
function nodeRequest(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('error', reject);
    stream.on('close', () => {
      if (status === 0) reject(new Error(`stream closed without a response (rstCode ${stream.rstCode})`));
      else resolve({ status, body: Buffer.concat(chunks) });
    });
    if (body !== undefined) stream.end(body);
  });
}

describe('NGI HTTP/2 engine: real peers', () => {
  test('RFC 9113 §3.3: curl --http2-prior-knowledge GET, and POST with a body echoed back', async () => {
    await withEngine({}, async (server) => {
      const get = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', '\\n%{http_version} %{http_code}', `${server.url}/`]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout.toString(), 'ok\n2 200');
      const body = pattern(300_000, 3);
      const post = await run('curl', ['-sS', '--http2-prior-knowledge', '--data-binary', '@-', '-H', 'content-type: application/octet-stream', `${server.url}/echo`], { input: body });
      assert.equal(post.code, 0, post.stderr);
      assert.ok(post.stdout.equals(body), `curl got ${post.stdout.length} bytes back`);
    });
  });

  test('RFC 9113 §8.1: nghttp -v shows the response and its trailers', async () => {
    await withEngine({}, async (server) => {
      const r = await run('nghttp', ['-v', `${server.url}/trailers`]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.toString();
      assert.match(out, /:status: 200/);
      assert.match(out, /hello/);
      // nghttp prints the fields of a header block before the frame that carried it.
      assert.match(out, /recv \(stream_id=(\d+)\) x-checksum: abc\s+\[[ .0-9]+\] recv HEADERS frame <length=\d+, flags=0x05, stream_id=\1>/, out);
      assert.match(out, /send GOAWAY frame/);
    });
  });

  test('RFC 9113 §5.1.2: h2load -c4 -m10 -n2000: every request succeeds', async () => {
    await withEngine({}, async (server) => {
      const r = await run('h2load', ['-c4', '-m10', '-n2000', `${server.url}/`], { timeoutMs: 20_000 });
      const out = r.stdout.toString();
      assert.equal(r.code, 0, out + r.stderr);
      assert.match(out, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/, out);
      assert.match(out, /status codes: 2000 2xx/, out);
    });
  });

  test('RFC 9113 §5.1.2: node:http2, 200 concurrent requests on one connection with maxConcurrentStreams 128 all succeed', async () => {
    await withEngine({ limits: { maxConcurrentStreams: 128 } }, async (server) => {
      const session = await connectSession(server.url);
      try {
        assert.equal(session.remoteSettings.maxConcurrentStreams, 128);
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => nodeRequest(session, { ':path': `/big?n=${1000 + i * 37}` })));
        results.forEach((r, i) => {
          assert.equal(r.status, 200);
          assert.ok(r.body.equals(pattern(1000 + i * 37)), `body ${i}`);
        });
      } finally {
        session.destroy();
      }
    });
  });

  for (const secure of [false, true]) {
    test(`RFC 9113 §6.9: a 5 MiB upload is echoed back byte-exact (node:http2${secure ? ', TLS' : ', h2c'})`, { timeout: 20_000 }, async () => {
      await withEngine(secure ? { tls: testCertificate() } : {}, async (server) => {
        assert.equal(server.url.startsWith('https:'), secure);
        const session = await connectSession(server.url, { rejectUnauthorized: false });
        try {
          const body = pattern(5 * 1024 * 1024, 11);
          const r = await nodeRequest(session, { ':method': 'POST', ':path': '/echo' }, body);
          assert.equal(r.status, 200);
          assert.equal(r.body.length, body.length);
          assert.ok(r.body.equals(body), 'byte-exact');
        } finally {
          session.destroy();
        }
      });
    });
  }

  test('RFC 9113 §3.2: curl over TLS (ALPN h2) GET and POST', async () => {
    await withEngine({ tls: testCertificate() }, async (server) => {
      const get = await run('curl', ['-sSk', '--http2', '-w', '\\n%{http_version} %{http_code}', `${server.url}/`]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout.toString(), 'ok\n2 200');
      const post = await run('curl', ['-sSk', '--http2', '--data-binary', '@-', `${server.url}/count`], { input: pattern(100_000) });
      assert.equal(post.stdout.toString(), '100000');
    });
  });
});

describe('NGI HTTP/2 engine: shutdown (RFC 9113 §6.8)', () => {
  test('RFC 9113 §6.8: server.close() sends GOAWAY(2^31-1), PING, then GOAWAY(last id); streams in flight complete, then the connection closes', async () => {
    const g = closeGate();
    await withEngine({}, async (server, connect) => {
      const c = await connect({ ackPings: false });
      c.get(1, '/gate');
      await g.arrived;
      const closing = server.close();
      const first = await c.goaway();
      assert.deepEqual([first.lastStreamId, codeName(first.code)], [MAX_STREAM_ID, 'NO_ERROR']);
      const ping = await c.waitFor((f) => f.type === FrameType.PING && f.flags === 0, 'the server PING');
      // A request sent before the client saw the final GOAWAY is still processed.
      c.get(3, '/');
      const r3 = await c.response(3);
      assert.equal(r3.status, 200);
      c.frame(FrameType.PING, Flag.ACK, 0, ping.payload);
      const second = await c.goaway(5000, 1);
      assert.deepEqual([second.lastStreamId, codeName(second.code)], [3, 'NO_ERROR']);
      const order = c.frames.filter((f) => f.type === FrameType.GOAWAY || f.type === FrameType.PING).map((f) => f.type);
      assert.deepEqual(order, [FrameType.GOAWAY, FrameType.PING, FrameType.GOAWAY]);
      // Above the final GOAWAY's id: not processed (§6.8), the client may retry it elsewhere.
      c.get(5, '/');
      await c.roundTrip().catch(() => {});
      assert.equal(c.streamFrames(5).length, 0, 'stream 5 is not answered');
      assert.equal(c.isClosed, false, 'stream 1 is still in flight');
      g.release();
      const r1 = await c.response(1);
      assert.equal(r1.status, 200);
      assert.equal(r1.body.toString(), 'late');
      await c.waitClosed();
      await closing;
    });
  });

  test('RFC 9113 §6.8: after the client GOAWAY the stream in flight still completes', async () => {
    const g = closeGate();
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.get(1, '/gate');
      await g.arrived;
      c.frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(ErrorCode.NO_ERROR)]));
      await c.roundTrip();
      g.release();
      const r = await c.response(1);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'late');
    });
  });

  test('RFC 9113 §6.8: server.close() on an idle connection: GOAWAY, and the connection closes after the PING round trip', async () => {
    await withEngine({}, async (server, connect) => {
      const c = await connect();
      await expectAlive(c, 1);
      const closing = server.close();
      await c.waitClosed();
      const goaways = c.goaways();
      assert.deepEqual(goaways.map((x) => x.lastStreamId), [MAX_STREAM_ID, 1]);
      await closing;
    });
  });
});

describe('NGI HTTP/2 engine: review fixes', () => {
  test('RFC 9113 §4.1: a request that arrives one byte per write (preface, frames) is served whole', async () => {
    await withEngine({}, async (server) => {
      const socket = net.connect(portOf(server.url), '127.0.0.1');
      socket.setNoDelay(true);
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      try {
        const encoder = new (await import('../../src/h2/hpack.ts')).HpackEncoder();
        const block = encoder.encode(requestFields('POST', '/count'));
        const bytes = Buffer.concat([
          PREFACE,
          frameBytes(FrameType.SETTINGS, 0, 0),
          frameBytes(FrameType.HEADERS, Flag.END_HEADERS, 1, block),
          frameBytes(FrameType.DATA, Flag.END_STREAM, 1, Buffer.alloc(3000, 0x61)),
        ]);
        for (let i = 0; i < bytes.length; i++) {
          socket.write(bytes.subarray(i, i + 1));
          if (i % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        // The answer: a DATA frame on stream 1 carrying "3000" with END_STREAM.
        await within(
          new Promise<void>((resolve) => {
            const check = (): void => {
              if (Buffer.concat(received).includes(Buffer.from('3000'))) resolve();
              else socket.once('data', check);
            };
            check();
          }),
          5000,
          'the response to the trickled request',
        );
      } finally {
        socket.destroy();
      }
    });
  });

  test('RFC 9113 §6.1: a 1-byte DATA frame reaches the application as a copy, not as a view of the whole socket read', async () => {
    let backing = -1;
    const app = async (ex: Exchange): Promise<void> => {
      for await (const chunk of ex.request.body) {
        backing = Math.max(backing, (chunk as Buffer).buffer.byteLength);
      }
      ex.response.send(200, {}, 'ok');
    };
    await withServer(app, { http2Engine: 'ngi' }, async (server) => {
      const c = await H2FrameClient.connect(portOf(server.url));
      try {
        c.headers(1, requestFields('POST', '/'));
        // One write: a padded 1-byte DATA frame followed by a 16 KB frame of an unknown type (ignored).
        c.write(Buffer.concat([frameBytes(FrameType.DATA, Flag.PADDED, 1, Buffer.concat([Buffer.from([200]), Buffer.from('x'), Buffer.alloc(200)])), frameBytes(0x42, 0, 0, Buffer.alloc(16_000))]));
        c.data(1, Buffer.alloc(0), { endStream: true });
        assert.equal((await c.response(1)).status, 200);
        assert.ok(backing >= 0 && backing < 1024, `the chunk's backing store is ${backing} bytes (a view would hold the ~16 KB read)`);
      } finally {
        c.destroy();
      }
    });
  });

  test('RFC 9113 §8.1: a body the client sent in full stays readable after an early response closed the stream', async () => {
    const total = deferred<number>();
    const app = async (ex: Exchange): Promise<void> => {
      let n = 0;
      let answered = false;
      try {
        for await (const chunk of ex.request.body) {
          n += chunk.length;
          if (!answered) {
            answered = true;
            ex.response.send(202, {}, 'accepted');
            // Read on only once the rest has arrived and the stream has closed (both ends done).
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
        total.resolve(n);
      } catch (error) {
        total.reject(error);
      }
    };
    await withServer(app, { http2Engine: 'ngi' }, async (server) => {
      const c = await H2FrameClient.connect(portOf(server.url));
      try {
        c.headers(1, requestFields('POST', '/'));
        c.data(1, Buffer.from('abc'));
        assert.equal((await c.response(1)).status, 202);
        // The rest arrives after the response ended: END_STREAM then closes the stream (NO_ERROR)
        // while the application has yet to read these bytes.
        c.data(1, Buffer.from('defg'), { endStream: true });
        assert.equal(await within(total.promise, 3000, 'the app read the whole body'), 7);
      } finally {
        c.destroy();
      }
    });
  });

  test('RFC 9113 §6.4: a bad PRIORITY frame on an idle stream draws no RST_STREAM for that idle stream', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(FrameType.PRIORITY, 0, 9, Buffer.alloc(4));
      await expectAlive(c, 1);
      assert.equal(c.streamFrames(9).length, 0, c.describe());
    });
  });

  test("RFC 9113 §8.3.1: ':path' '*' is for OPTIONS only; a GET with it draws RST_STREAM PROTOCOL_ERROR", async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('OPTIONS', '*'), { endStream: true });
      assert.equal((await c.response(1)).status, 200);
      c.headers(3, requestFields('GET', '*'), { endStream: true });
      await expectStreamError(c, 3, ErrorCode.PROTOCOL_ERROR);
      await expectAlive(c, 5);
    });
  });
});

describe('NGI HTTP/2 engine: RFC 9218 PRIORITY_UPDATE', () => {
  /** Two 256 KiB responses queued behind the client's windows; which one ends first once it opens them. */
  async function firstToEnd(update: boolean): Promise<number> {
    return withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.headers(1, requestFields('GET', '/big?n=262144', ['priority', 'u=5']), { endStream: true });
      c.headers(3, requestFields('GET', '/big?n=262144', ['priority', 'u=5']), { endStream: true });
      if (update) c.frame(0x10, 0, 0, Buffer.concat([u32(3), Buffer.from('u=0')]));
      // Both responses now wait for window (the connection's 65,535 bytes went to stream 1).
      await c.until(() => c.dataReceived >= 65_535, 'the first 65,535 bytes');
      c.windowUpdate(1, 1 << 20);
      c.windowUpdate(3, 1 << 20);
      c.windowUpdate(0, 4 << 20);
      await c.response(1);
      await c.response(3);
      const ends = c.frames.filter((f) => f.type === FrameType.DATA && (f.flags & Flag.END_STREAM) !== 0);
      return ends[0]!.streamId;
    });
  }

  test('RFC 9218 §7.1: a PRIORITY_UPDATE to u=0 lets the later stream finish first; without it the earlier one does', async () => {
    assert.equal(await firstToEnd(false), 1, 'same urgency: in order');
    assert.equal(await firstToEnd(true), 3, 'after PRIORITY_UPDATE u=0');
  });

  test('RFC 9218 §7.1: PRIORITY_UPDATE on a stream, or for stream 0, draws GOAWAY PROTOCOL_ERROR', async () => {
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(0x10, 0, 1, Buffer.concat([u32(1), Buffer.from('u=1')]));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
    await withEngine({}, async (_server, connect) => {
      const c = await connect();
      c.frame(0x10, 0, 0, Buffer.concat([u32(0), Buffer.from('u=1')]));
      await expectConnectionError(c, ErrorCode.PROTOCOL_ERROR);
    });
  });
});
