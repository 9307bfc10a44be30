/**
 * 1,200 concurrent WebSockets against `ngi serve` in a child process (so that its memory can
 * be read from /proc/<pid>/status): 1,000 over HTTP/1.1 Upgrade, one TCP connection each,
 * and 200 RFC 8441 streams multiplexed over 4 HTTP/2 (h2c) sessions. Every socket then
 * echoes 20 rounds of a 256-byte message; every echo must come back intact, the server's
 * memory must stay bounded, every socket must be counted closed once the clients close, and
 * the server must exit 0 on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { startCli, type CliServer } from '../helpers/server.ts';
import { within } from '../helpers/raw.ts';

const APP = fileURLToPath(new URL('../fixtures/ws-echo.ts', import.meta.url));
const HTTP1_SOCKETS = 1000;
const H2_SESSIONS = 4;
const H2_STREAMS_PER_SESSION = 50;
const TOTAL = HTTP1_SOCKETS + H2_SESSIONS * H2_STREAMS_PER_SESSION;
const BATCH = 100;
const ROUNDS = 20;
const MESSAGE_SIZE = 256;
const MiB = 1024 * 1024;
/*
 * Memory bounds. Every measurement is taken right after a full GC in the server (GET /memory),
 * so that it shows what the server holds rather than when V8 chose to collect. Measured on
 * loopback, 2 cores, 5+ runs per line (baseline = warmed-up server, no socket open):
 *
 *                               Node 20.20          Node 24.21
 *   RSS, 1,200 sockets open     +20-28 MiB          +37-45 MiB     (17-23 / 31-38 KiB per socket)
 *   RSS after the echoes        +43-48 MiB          +69-88 MiB     (V8 keeps the heap it grew)
 *   heap+external, open         +13.6 MiB           +14.3 MiB      (11.6 / 12.2 KiB per socket)
 *   heap+external, echoes       +1.1 MiB            +6.0 MiB       over "open"
 *   heap+external, all closed   +1.4 MiB            +1.3 MiB       over the baseline
 *
 * The bounds leave 2-4x margin. A leak of 1 MB per socket (1,200 MB) fails all of them, and
 * 100 KiB per socket fails the per-socket one; a server that never released a closed socket's
 * state (~12 KiB each, 14 MiB in all; seen: +9.5 MiB with the registry never emptied) fails
 * the closed bound; one that retained ~700 bytes per echo fails the echo bound.
 */
const MAX_RSS_GROWTH = 200 * MiB;
const MAX_LIVE_PER_SOCKET = 48 * 1024;
const MAX_LIVE_GROWTH_ECHOES = 16 * MiB;
const MAX_LIVE_LEFT_AFTER_CLOSE = 6 * MiB;

interface Memory {
  rss: number;
  hwm: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    assert.ok(m, `${name} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

interface Counts {
  open: number;
  accepted: number;
  http1: number;
  h2: number;
}

function getJson<T>(url: string): Promise<T> {
  return within(
    new Promise<T>((resolve, reject) => {
      const req = http.get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as T);
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    }),
    5000,
    `GET ${url}`,
  );
}

const getCounts = (base: string): Promise<Counts> => getJson<Counts>(`${base}/count`);

interface Snapshot {
  /** /proc/<pid>/status, read right after a full GC in the server. */
  rss: number;
  hwm: number;
  /** process.memoryUsage() of the server after that GC: what it still holds. */
  heapUsed: number;
  external: number;
}

/** Collects the server's garbage (GET /memory), then reads its RSS: live memory, not GC timing. */
async function snapshot(base: string, pid: number): Promise<Snapshot> {
  const usage = await getJson<NodeJS.MemoryUsage>(`${base}/memory`);
  const proc = memoryOf(pid);
  return { rss: proc.rss, hwm: proc.hwm, heapUsed: usage.heapUsed, external: usage.external };
}

/** Polls /count until `predicate` holds; fails after `ms` with the last counts seen. */
async function waitForCounts(base: string, predicate: (c: Counts) => boolean, ms: number, what: string): Promise<Counts> {
  const deadline = Date.now() + ms;
  let last = await getCounts(base);
  while (!predicate(last)) {
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(last)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await getCounts(base);
  }
  return last;
}

/** Resolves once the ws client is open; rejects on error, unexpected response or close. */
function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => () => reject(new Error(`WebSocket did not open: ${why}`));
    ws.once('open', () => resolve());
    ws.once('error', (error: Error) => reject(error));
    ws.once('unexpected-response', (_req: unknown, res: http.IncomingMessage) => fail(`status ${res.statusCode}`)());
    ws.once('close', fail('closed'));
  });
}

function closedWith(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

/** An RFC 8441 WebSocket on `session`: extended CONNECT, :status 200, then ws framing (client side, masked) over the stream. */
async function openH2WebSocket(session: http2.ClientHttp2Session, authority: string): Promise<WebSocket> {
  const stream = session.request({
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'http',
    ':path': '/ws',
    ':authority': authority,
    'sec-websocket-version': '13',
  });
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('error', reject);
    stream.once('close', () => reject(new Error(`the CONNECT stream closed before a response (rst ${stream.rstCode})`)));
  });
  assert.equal(headers[':status'], 200, 'RFC 8441 handshake answered 200');
  const ws = new (WebSocket as unknown as new (address: null, protocols: undefined, options: object) => WebSocket)(null, undefined, { autoPong: true, closeTimeout: 3000 });
  const internals = ws as unknown as { _isServer: boolean; setSocket(s: Duplex, head: Buffer, o: object): void };
  internals._isServer = false;
  internals.setSocket(stream, Buffer.alloc(0), { maxPayload: 1 << 20 });
  return ws;
}

/** A 256-byte message unique to (socket, round): index and round stamped over a fixed pattern. */
function messageFor(socket: number, round: number): Buffer {
  const message = Buffer.alloc(MESSAGE_SIZE);
  for (let i = 0; i < MESSAGE_SIZE; i++) message[i] = (i * 31 + socket + round * 7) & 0xff;
  message.writeUInt32BE(socket, 0);
  message.writeUInt32BE(round, 4);
  return message;
}

test(`${TOTAL} concurrent WebSockets (${HTTP1_SOCKETS} HTTP/1.1 + ${H2_SESSIONS * H2_STREAMS_PER_SESSION} RFC 8441): echoes intact, bounded memory, clean close and exit`, { timeout: 90_000 }, async () => {
  let server: CliServer | undefined;
  const sockets: WebSocket[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  const started = Date.now();
  try {
    server = await startCli(APP, ['--quiet']);
    const base = server.url;
    const { host } = new URL(base);
    const wsUrl = `${base.replace(/^http/, 'ws')}/ws`;

    // Warm-up: load the WebSocket and HTTP/2 code paths once, so the baseline is not the
    // cost of the first socket of each kind.
    const warm = new WebSocket(wsUrl);
    await within(opened(warm), 5000, 'warm-up WebSocket');
    warm.send('warm');
    await within(new Promise((resolve) => warm.once('message', resolve)), 5000, 'warm-up echo');
    warm.close(1000);
    await within(closedWith(warm), 5000, 'warm-up close');
    await waitForCounts(base, (c) => c.open === 0, 5000, 'warm-up socket counted closed');
    const baseline = await snapshot(base, server.pid);

    // 1,000 HTTP/1.1 WebSockets, opened 100 at a time.
    for (let i = 0; i < HTTP1_SOCKETS; i += BATCH) {
      const batch: WebSocket[] = [];
      for (let j = i; j < Math.min(i + BATCH, HTTP1_SOCKETS); j++) {
        const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
        ws.on('error', () => {}); // surfaced by opened() or by a missing echo
        batch.push(ws);
      }
      sockets.push(...batch);
      await within(Promise.all(batch.map(opened)), 15_000, `HTTP/1.1 WebSockets ${i}-${i + batch.length - 1} open`);
    }

    // 200 RFC 8441 streams over 4 h2c sessions (50 each, under the server's 128-stream limit).
    for (let s = 0; s < H2_SESSIONS; s++) {
      const session = http2.connect(base);
      session.on('error', () => {});
      sessions.push(session);
      // The client may send :protocol only after the server's SETTINGS_ENABLE_CONNECT_PROTOCOL.
      await within(new Promise<void>((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        session.once('error', reject);
      }), 5000, 'h2 session settings');
      assert.equal(session.remoteSettings.enableConnectProtocol, true, 'the server advertises RFC 8441');
      const streams = await within(Promise.all(Array.from({ length: H2_STREAMS_PER_SESSION }, () => openH2WebSocket(session, host))), 15_000, `RFC 8441 streams on session ${s}`);
      for (const ws of streams) ws.on('error', () => {});
      sockets.push(...streams);
    }
    assert.equal(sockets.length, TOTAL);
    const opening = await waitForCounts(base, (c) => c.open === TOTAL, 10_000, 'all sockets counted open');
    assert.equal(opening.http1, 1 + HTTP1_SOCKETS, 'HTTP/1.1 sockets the server accepted (warm-up included)');
    assert.equal(opening.h2, H2_SESSIONS * H2_STREAMS_PER_SESSION, 'RFC 8441 sockets the server accepted');
    const afterOpen = await snapshot(base, server.pid);
    const openedAt = Date.now();

    // Traffic: every round, every socket sends its own message and waits for the echo.
    const received = new Array<number>(TOTAL).fill(0);
    const mismatches: string[] = [];
    const waiters = new Map<number, () => void>();
    sockets.forEach((ws, index) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const round = received[index]!;
        const expected = messageFor(index, round);
        if (!isBinary || !data.equals(expected)) mismatches.push(`socket ${index} round ${round}: ${isBinary ? 'binary' : 'text'} ${data.length} bytes`);
        received[index] = round + 1;
        waiters.get(index)?.();
      });
    });
    for (let round = 0; round < ROUNDS; round++) {
      await within(
        Promise.all(
          sockets.map((ws, index) => {
            const echoed = new Promise<void>((resolve) => waiters.set(index, resolve));
            ws.send(messageFor(index, round), { binary: true });
            return echoed;
          }),
        ),
        15_000,
        `round ${round}`,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${received.filter((n) => n > round).length}/${TOTAL} echoes arrived`);
      });
    }
    assert.deepEqual(mismatches.slice(0, 10), [], `${mismatches.length} echoes differ from what was sent`);
    assert.ok(received.every((n) => n === ROUNDS), 'every socket got exactly one echo per round');
    const trafficMs = Date.now() - openedAt;
    const afterTraffic = await snapshot(base, server.pid);

    const live = (m: Snapshot): number => m.heapUsed + m.external;
    const fmt = (m: Snapshot): string => `RSS ${mib(m.rss)} (+${mib(m.rss - baseline.rss)}), heap+external ${mib(live(m))} (+${mib(live(m) - live(baseline))})`;
    console.log(
      `ws-scale ${process.version}: ${TOTAL} sockets; baseline ${fmt(baseline)}; ` +
        `open ${fmt(afterOpen)}, per socket ${((afterOpen.rss - baseline.rss) / TOTAL / 1024).toFixed(1)} KiB RSS, ${((live(afterOpen) - live(baseline)) / TOTAL / 1024).toFixed(1)} KiB live; ` +
        `after ${ROUNDS}x${TOTAL} echoes (${trafficMs} ms) ${fmt(afterTraffic)}, peak RSS ${mib(afterTraffic.hwm)}`,
    );
    assert.ok(afterOpen.rss - baseline.rss < MAX_RSS_GROWTH, `RSS grew by ${mib(afterOpen.rss - baseline.rss)} opening ${TOTAL} sockets (limit ${mib(MAX_RSS_GROWTH)})`);
    assert.ok(afterTraffic.rss - baseline.rss < MAX_RSS_GROWTH, `RSS grew by ${mib(afterTraffic.rss - baseline.rss)} by the end of the echoes (limit ${mib(MAX_RSS_GROWTH)})`);
    assert.ok(afterTraffic.hwm - baseline.rss < MAX_RSS_GROWTH, `peak RSS ${mib(afterTraffic.hwm)} is ${mib(afterTraffic.hwm - baseline.rss)} over the baseline (limit ${mib(MAX_RSS_GROWTH)})`);
    assert.ok((live(afterOpen) - live(baseline)) / TOTAL < MAX_LIVE_PER_SOCKET, `the server holds ${((live(afterOpen) - live(baseline)) / TOTAL / 1024).toFixed(1)} KiB per open socket (limit ${MAX_LIVE_PER_SOCKET / 1024} KiB)`);
    assert.ok(live(afterTraffic) - live(afterOpen) < MAX_LIVE_GROWTH_ECHOES, `the echoes left ${mib(live(afterTraffic) - live(afterOpen))} behind (limit ${mib(MAX_LIVE_GROWTH_ECHOES)})`);

    // Every client closes; the server must answer each close handshake and count it closed.
    const codes = await within(
      Promise.all(
        sockets.map((ws) => {
          const code = closedWith(ws);
          ws.close(1000, 'done');
          return code;
        }),
      ),
      20_000,
      'close handshakes',
    );
    const unclean = codes.filter((code) => code !== 1000);
    assert.equal(unclean.length, 0, `close codes other than 1000: ${unclean.slice(0, 10).join(', ')}`);
    const after = await waitForCounts(base, (c) => c.open === 0, 10_000, 'every socket counted closed');
    assert.equal(after.accepted, 1 + TOTAL);
    const afterClose = await snapshot(base, server.pid);
    console.log(`ws-scale ${process.version}: all closed: ${fmt(afterClose)}`);
    assert.ok(live(afterClose) - live(baseline) < MAX_LIVE_LEFT_AFTER_CLOSE, `closed sockets left ${mib(live(afterClose) - live(baseline))} behind (limit ${mib(MAX_LIVE_LEFT_AFTER_CLOSE)})`);
    for (const session of sessions) session.close();

    const code = await within(server.stop(10_000), 15_000, 'server exit after SIGTERM');
    assert.equal(code, 0, `ngi serve exit code after SIGTERM; stderr:\n${server.stderr()}`);
    assert.doesNotMatch(server.stderr(), /ngi: error/, 'the server logged no errors');
    console.log(`ws-scale ${process.version}: whole run ${Date.now() - started} ms`);
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const session of sessions) session.destroy();
    await server?.stop(2000);
  }
});
