/**
 * A 100 MiB upload echoed back by a streaming application, over HTTP/1.1 and h2c, with the
 * server in its own process so that its memory can be measured: the server's peak RSS
 * (VmHWM) may grow by far less than the body, or it buffered the body somewhere.
 *
 * Neither side ever holds the body: the client generates deterministic chunks and hashes
 * what it sends and what it reads back as it goes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

import { startCli, type CliServer } from '../helpers/server.ts';

const ECHO_APP = fileURLToPath(new URL('../fixtures/echo-stream.ts', import.meta.url));
const TOTAL = 100 * 1024 * 1024;
const CHUNK = 64 * 1024;
const MiB = 1024 * 1024;
/**
 * Allowed growth of the server's peak RSS during the 100 MiB echo. Measured over 30+ runs on
 * each line (loopback, 64 KiB chunks): HTTP/1.1 30-41 MiB, h2c 19-25 MiB on Node 20 and
 * 22-49 MiB on Node 24 (short-lived chunk buffers awaiting GC). A server that held the body
 * grows by at least its 100 MiB (a bytes()-then-echo app measured about 200 MiB).
 */
const MAX_GROWTH = 80 * MiB;

/** Pseudo-random bytes from a fixed seed (xorshift32), so every run sends the same body. */
const BASE = (() => {
  const buffer = Buffer.allocUnsafe(CHUNK);
  let x = 0x9e3779b9;
  for (let i = 0; i < CHUNK; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buffer.writeUInt32LE(x >>> 0, i);
  }
  return buffer;
})();

/** Chunk `index` of the body: the base pattern stamped with its index every 4 KiB (so no two chunks are equal). */
function chunkAt(index: number, size: number): Buffer {
  const chunk = Buffer.allocUnsafe(size);
  BASE.copy(chunk, 0, 0, size);
  for (let at = 0; at + 4 <= size; at += 4096) chunk.writeUInt32BE(index, at);
  return chunk;
}

interface Digest {
  bytes: number;
  sha256: string;
}

/** Bytes moved so far, for the stall watchdog. */
interface Progress {
  sent: number;
  received: number;
  /** What the client's transport looks like, for the failure message. */
  describe(): string;
}

/** Writes `total` bytes with backpressure and ends the stream; returns what was sent. */
async function upload(stream: Writable, total: number, progress: Progress): Promise<Digest> {
  const hash = createHash('sha256');
  for (let index = 0; progress.sent < total; index++) {
    const chunk = chunkAt(index, Math.min(CHUNK, total - progress.sent));
    hash.update(chunk);
    progress.sent += chunk.length;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  return { bytes: progress.sent, sha256: hash.digest('hex') };
}

/** Reads a response body to its end, hashing as it goes. */
async function download(stream: Readable, progress: Progress): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    progress.received += chunk.length;
  }
  return { bytes: progress.received, sha256: hash.digest('hex') };
}

/** The process's peak resident set size (VmHWM), bytes. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  assert.ok(match, `no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

interface EchoResult {
  status: number;
  sent: Digest;
  received: Digest;
}

/**
 * Runs `exchange` (which uploads and downloads concurrently) and fails it, tearing the
 * client down, when no byte moves either way for `stallMs`: a stall is reported with the
 * transport's state instead of hanging the test.
 */
async function guarded(exchange: (progress: Progress) => Promise<EchoResult>, describe: () => string, stallMs = 5000): Promise<EchoResult> {
  const progress: Progress = { sent: 0, received: 0, describe };
  let fail!: (error: Error) => void;
  const cancelled = new Promise<never>((_, reject) => (fail = reject));
  cancelled.catch(() => {});
  let last = -1;
  let lastMoved = Date.now();
  const watchdog = setInterval(() => {
    const moved = progress.sent + progress.received;
    if (moved !== last) {
      last = moved;
      lastMoved = Date.now();
    } else if (Date.now() - lastMoved > stallMs) {
      fail(new Error(`stalled for ${stallMs} ms: sent ${progress.sent}, received ${progress.received}; ${progress.describe()}`));
    }
  }, 100);
  try {
    return await Promise.race([exchange(progress), cancelled]);
  } finally {
    clearInterval(watchdog);
  }
}

function echoHttp1(url: string, total: number): Promise<EchoResult> {
  const agent = new http.Agent({ keepAlive: false });
  let req: http.ClientRequest | undefined;
  const describe = (): string => `http/1.1 client: writableLength ${req?.writableLength}, socket bytesWritten ${req?.socket?.bytesWritten}, bytesRead ${req?.socket?.bytesRead}`;
  return guarded(async (progress) => {
    req = http.request(url + '/echo', { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) } });
    const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
    const sending = upload(req, total, progress);
    const [res] = await response;
    const [sent, received] = await Promise.all([sending, download(res, progress)]);
    return { status: res.statusCode ?? 0, sent, received };
  }, describe).finally(() => {
    req?.destroy();
    agent.destroy();
  });
}

function echoHttp2(url: string, total: number): Promise<EchoResult> {
  const session = http2.connect(url);
  session.on('error', () => {});
  let stream: http2.ClientHttp2Stream | undefined;
  const describe = (): string => `h2 client: stream writableLength ${stream?.writableLength}, readableLength ${stream?.readableLength}, stream state ${JSON.stringify(stream?.state)}, session state ${JSON.stringify(session.destroyed ? 'destroyed' : session.state)}`;
  return guarded(async (progress) => {
    stream = session.request({ ':method': 'POST', ':path': '/echo', 'content-type': 'application/octet-stream' });
    const response = once(stream, 'response') as Promise<[http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader]>;
    const sending = upload(stream, total, progress);
    const [headers] = await response;
    const [sent, received] = await Promise.all([sending, download(stream, progress)]);
    return { status: Number(headers[':status']), sent, received };
  }, describe).finally(() => session.destroy());
}

async function measure(protocol: 'http/1.1' | 'h2c', diagnostic: (message: string) => void): Promise<void> {
  const echo = protocol === 'http/1.1' ? echoHttp1 : echoHttp2;
  let server: CliServer | undefined;
  try {
    server = await startCli(ECHO_APP, ['--quiet']);
    // Warm up the code paths (module loading, JIT, the first socket buffers) with a small echo.
    const warm = await echo(server.url, 256 * 1024);
    assert.equal(warm.status, 200);
    assert.equal(warm.received.bytes, 256 * 1024);
    assert.equal(warm.received.sha256, warm.sent.sha256);
    const baseline = peakRss(server.pid);

    const started = Date.now();
    const result = await echo(server.url, TOTAL);
    const seconds = (Date.now() - started) / 1000;
    const peak = peakRss(server.pid);
    const growth = peak - baseline;
    diagnostic(`${protocol} on node ${process.version}: baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, growth ${(growth / MiB).toFixed(1)} MiB, ${seconds.toFixed(1)} s`);

    assert.equal(result.status, 200);
    assert.equal(result.sent.bytes, TOTAL);
    assert.equal(result.received.bytes, TOTAL, 'the echo has the length of the upload');
    assert.equal(result.received.sha256, result.sent.sha256, 'the echo has the bytes of the upload');
    assert.ok(growth < MAX_GROWTH, `server peak RSS grew by ${(growth / MiB).toFixed(1)} MiB during a ${TOTAL / MiB} MiB echo (limit ${MAX_GROWTH / MiB} MiB): the body was buffered`);
  } finally {
    if (server) assert.equal(await server.stop(), 0, `the server exits cleanly on SIGTERM:\n${server.stderr()}`);
  }
}

describe('100 MiB upload echoed by a streaming app (server in its own process)', { timeout: 60_000 }, () => {
  it('HTTP/1.1: bytes intact, server memory bounded', { timeout: 20_000 }, async (t) => {
    await measure('http/1.1', (m) => t.diagnostic(m));
  });

  it('h2c: bytes intact, server memory bounded', { timeout: 20_000 }, async (t) => {
    await measure('h2c', (m) => t.diagnostic(m));
  });
});
