/**
 * Request-body backpressure as the client sees it: an application that does not read (yet)
 * stops the client through the protocol, not through server-side buffering.
 *
 * HTTP/2: a node:http2 client talks to the server through a TCP tap on 127.0.0.1 that
 * forwards every byte unchanged and parses the frames both ways. The client's send window
 * for its stream is computed from what actually crossed the wire: the server's
 * SETTINGS_INITIAL_WINDOW_SIZE, plus the server's WINDOW_UPDATE frames for the stream, minus
 * the client's DATA frames on it (RFC 9113 §6.9).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Exchange } from '../../src/index.ts';
import { startServer } from '../helpers/server.ts';
import { flowControlBooks, startRelay, type FlowControlBooks } from '../helpers/h2-relay.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** An application that reads nothing until released, then counts the body and answers with the count. */
function gatedCounter(): { handler: (exchange: Exchange) => Promise<void>; release: () => void; arrived: Promise<void> } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const arrivedPromise = new Promise<void>((resolve) => (arrived = resolve));
  return {
    release,
    arrived: arrivedPromise,
    async handler(exchange) {
      arrived();
      await gate;
      let count = 0;
      for await (const chunk of exchange.request.body) count += chunk.length;
      exchange.response.send(200, { 'content-type': 'text/plain' }, String(count));
    },
  };
}

/** The flow-control books of the one h2 connection through a recording relay. */
async function startTap(target: URL): Promise<FlowControlBooks & { url: string; close(): Promise<void> }> {
  const relay = await startRelay(target.href);
  return { url: relay.url, ...flowControlBooks(relay), close: () => relay.close() };
}

describe('request-body flow control', { timeout: 60_000 }, () => {
  it('HTTP/2: an app that does not read stops the client at the stream window, then the upload completes', { timeout: 20_000 }, async () => {
    const BODY = 2 * MiB;
    const CHUNK = 16 * KiB;
    const app = gatedCounter();
    const server = await startServer(app.handler);
    const tap = await startTap(new URL(server.url));
    const session = http2.connect(tap.url);
    session.on('error', () => {});
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/upload', 'content-type': 'application/octet-stream' });
      stream.on('error', () => {});
      let drained = false;
      stream.on('drain', () => (drained = true));
      // Hand the whole body to node at once: what reaches the wire is up to flow control.
      const accepted: boolean[] = [];
      for (let sent = 0; sent < BODY; sent += CHUNK) accepted.push(stream.write(Buffer.alloc(CHUNK, sent / CHUNK)));
      stream.end();
      const response = once(stream, 'response') as Promise<[http2.IncomingHttpHeaders]>;

      await app.arrived;
      // Let the client send everything it may; then watch that nothing more moves.
      const deadline = Date.now() + 5000;
      while (tap.sendWindow(stream.id!) > 0 && Date.now() < deadline) await sleep(20);
      const blockedAt = tap.dataSent(stream.id!);
      const queuedAt = stream.writableLength;
      await sleep(800);

      const fit = Math.ceil(stream.writableHighWaterMark / CHUNK); // 16 KiB on Node 20, 64 KiB on 22+
      assert.ok(accepted.slice(fit).every((ok) => ok === false), `write() returns false once ${stream.writableHighWaterMark} bytes are queued`);
      assert.equal(accepted.at(-1), false);
      assert.equal(tap.sendWindow(stream.id!), 0, "the client's send window for the stream is exhausted");
      assert.equal(tap.windowGranted(stream.id!), 0, 'the server granted no stream window while the app did not read');
      assert.equal(blockedAt, tap.initialWindow(), `the client sent exactly the server's initial stream window (${tap.initialWindow()} bytes)`);
      assert.equal(tap.dataSent(stream.id!), blockedAt, 'no DATA crossed the wire during the pause');
      assert.ok(queuedAt >= BODY - tap.initialWindow() - CHUNK, `the rest of the body waits in the client (writableLength ${queuedAt})`);
      assert.equal(stream.writableLength, queuedAt, 'the client queue did not move during the pause');
      assert.equal(drained, false, "the client's stream never drained while blocked");

      app.release();
      const [headers] = await response;
      assert.equal(headers[':status'], 200);
      stream.setEncoding('utf8');
      let text = '';
      for await (const chunk of stream as AsyncIterable<string>) text += chunk;
      assert.equal(Number(text), BODY, 'the app read every byte once it started reading');
      assert.equal(tap.dataSent(stream.id!), BODY, 'all DATA crossed the wire once the app read');
      assert.ok(tap.windowGranted(stream.id!) >= BODY - tap.initialWindow(), 'the server opened the stream window as the app read');
    } finally {
      app.release();
      session.destroy();
      await tap.close();
      await server.close();
    }
  });

  it('HTTP/1.1: an app that does not read stops the client (socket paused, write() returns false), then the upload completes', { timeout: 20_000 }, async () => {
    const BODY = 64 * MiB;
    const CHUNK = 64 * KiB;
    const app = gatedCounter();
    const server = await startServer(app.handler);
    const agent = new http.Agent({ keepAlive: false });
    try {
      const req = http.request(server.url + '/upload', { method: 'POST', agent, headers: { 'content-length': String(BODY) } });
      req.on('error', () => {});
      const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
      let flushed = 0; // bytes the kernel took (write callbacks that fired)
      let offered = 0;
      let stalledAt: number | undefined;
      let refused = 0; // write() calls that returned false
      const chunk = Buffer.alloc(CHUNK, 0x61);
      const writer = (async () => {
        while (offered < BODY) {
          offered += CHUNK;
          const ok = req.write(chunk, () => (flushed += CHUNK));
          if (ok) continue;
          refused++;
          // Wait for 'drain'; a stall is when none comes for 500 ms while the app is not reading.
          const drained = await Promise.race([once(req, 'drain').then(() => true), sleep(500).then(() => false)]);
          if (!drained) {
            stalledAt ??= flushed;
            await once(req, 'drain');
          }
        }
        req.end();
      })();

      await app.arrived;
      const deadline = Date.now() + 10_000;
      while (stalledAt === undefined && Date.now() < deadline) await sleep(50);
      assert.ok(stalledAt !== undefined, `the client never stalled (offered ${offered} bytes while the app read nothing)`);
      const flushedBefore = flushed;
      await sleep(300);
      assert.equal(flushed, flushedBefore, 'no bytes left the client while the app did not read');
      assert.ok(refused > 0, 'req.write() returned false');
      assert.ok(flushed < 16 * MiB, `the connection held ${(flushed / MiB).toFixed(1)} MiB of a ${BODY / MiB} MiB body before the client stalled`);
      assert.ok(offered < BODY, 'the client was stopped before it could send the whole body');

      app.release();
      await writer;
      const [res] = await response;
      assert.equal(res.statusCode, 200);
      res.setEncoding('utf8');
      let text = '';
      for await (const part of res as AsyncIterable<string>) text += part;
      assert.equal(Number(text), BODY, 'the app read every byte once it started reading');
    } finally {
      app.release();
      agent.destroy();
      await server.close();
    }
  });
});
