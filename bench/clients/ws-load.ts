/**
 * A bounded WebSocket echo load generator: N clients, one message in flight each, for a
 * fixed time; counts echoes per second. Over HTTP/1.1 (ws's client) or over HTTP/2: one
 * RFC 8441 extended CONNECT stream per client, ws framing over the node:http2 stream.
 *
 *   node --import tsx bench/clients/ws-load.ts --url http://127.0.0.1:3000/ws --transport h1|h2
 *     [--clients 50] [--size 32] [--duration 10] [--warmup 2] [--sessions N]
 *
 * Prints one JSON line: { echoes, seconds, rate, bytesPerSec, clients, opened, errors }.
 */
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    transport: { type: 'string', default: 'h1' },
    clients: { type: 'string', default: '50' },
    size: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    // HTTP/2: how many connections carry the clients' streams (default: one each).
    sessions: { type: 'string' },
  },
});
if (!values.url) throw new Error('--url is required');
const url = new URL(values.url);
const clients = Number(values.clients);
const size = Number(values.size);
const duration = Number(values.duration) * 1000;
const warmup = Number(values.warmup) * 1000;
const sessionCount = Math.max(1, Math.min(clients, Number(values.sessions ?? clients)));
const payload = Buffer.alloc(size, 0x61);
const OPEN_TIMEOUT = 15_000;

let measuring = false;
let stopped = false;
let echoes = 0;
let errors = 0;
const sockets: WebSocket[] = [];
const sessions: http2.ClientHttp2Session[] = [];

function drive(ws: WebSocket): void {
  ws.on('message', (data: Buffer) => {
    if (data.length !== size) errors++;
    else if (measuring) echoes++;
    if (!stopped) ws.send(payload);
  });
  ws.on('close', () => {
    if (!stopped) errors++;
  });
  ws.send(payload);
}

function openH1(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${url.host}${url.pathname}`, { perMessageDeflate: false, handshakeTimeout: OPEN_TIMEOUT });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function connectH2(): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${url.host}`);
    const timer = setTimeout(() => reject(new Error('no SETTINGS')), OPEN_TIMEOUT);
    session.once('remoteSettings', (settings: http2.Settings & { enableConnectProtocol?: boolean }) => {
      clearTimeout(timer);
      if (settings.enableConnectProtocol !== true) reject(new Error('the server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL'));
      else resolve(session);
    });
    session.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function openH2(session: http2.ClientHttp2Session): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': url.pathname, ':authority': url.host, 'sec-websocket-version': '13' },
      { endStream: false },
    );
    stream.on('error', () => {});
    const timer = setTimeout(() => reject(new Error('no response to the CONNECT')), OPEN_TIMEOUT);
    stream.once('close', () => reject(new Error(`the CONNECT stream closed (rst ${stream.rstCode})`)));
    stream.once('response', (headers) => {
      clearTimeout(timer);
      if (headers[':status'] !== 200) return reject(new Error(`CONNECT answered ${headers[':status']}`));
      const ws = new (WebSocket as unknown as new (a: null, p: undefined, o: object) => WebSocket)(null, undefined, { autoPong: true, closeTimeout: 3000 });
      const internals = ws as unknown as { _isServer: boolean; setSocket(s: unknown, h: Buffer, o: object): void };
      internals._isServer = false; // a client masks its frames (RFC 6455 §5.3)
      internals.setSocket(stream, Buffer.alloc(0), { maxPayload: 0, allowSynchronousEvents: true });
      resolve(ws);
    });
  });
}

async function main(): Promise<void> {
  const hardStop = setTimeout(() => {
    process.stderr.write('ws-load: hard time limit reached\n');
    process.exit(3);
  }, OPEN_TIMEOUT + warmup + duration + 10_000);
  hardStop.unref();
  if (values.transport === 'h2') {
    for (let i = 0; i < sessionCount; i++) sessions.push(await connectH2());
    for (let i = 0; i < clients; i++) sockets.push(await openH2(sessions[i % sessionCount]!));
  } else {
    for (let i = 0; i < clients; i++) sockets.push(await openH1());
  }
  for (const ws of sockets) ws.on('error', () => errors++);
  for (const ws of sockets) drive(ws);
  await new Promise((resolve) => setTimeout(resolve, warmup));
  echoes = 0;
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, duration));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  const counted = echoes;
  stopped = true;
  for (const ws of sockets) ws.terminate();
  for (const session of sessions) session.destroy();
  const rate = counted / seconds;
  process.stdout.write(JSON.stringify({ echoes: counted, seconds, rate, bytesPerSec: rate * size * 2, clients, opened: sockets.length, errors }) + '\n');
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`ws-load: ${(error as Error).message}\n`);
  process.exit(1);
});
