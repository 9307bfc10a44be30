/**
 * Opens N keep-alive connections and holds them idle, for the memory scenarios. Raw bytes on
 * net sockets, so the client itself stays small: HTTP/1.1 sends one GET / and repeats it every
 * --refresh-ms (below the servers' 5 s keep-alive timeouts), HTTP/2 sends the preface,
 * acknowledges the server's SETTINGS and makes one GET / on stream 1, then stays silent.
 *
 *   node --import tsx bench/clients/idle-conns.ts --port P --protocol h1|h2 [--count 10000]
 *     [--refresh-ms 2000] [--max-seconds 180]
 *
 * Prints "READY <n>" once every connection has had an answer, and on SIGTERM (or at
 * --max-seconds) one JSON line: { count, opened, answered, closedEarly, errors }.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    protocol: { type: 'string', default: 'h1' },
    count: { type: 'string', default: '10000' },
    'refresh-ms': { type: 'string', default: '2000' },
    'max-seconds': { type: 'string', default: '180' },
  },
});
const port = Number(values.port);
const count = Number(values.count);
const refreshMs = Number(values['refresh-ms']);
const h2 = values.protocol === 'h2';
const AUTHORITY = '127.0.0.1';
const CONCURRENT_CONNECTS = 200;

const GET = Buffer.from(`GET / HTTP/1.1\r\nHost: ${AUTHORITY}:${port}\r\n\r\n`);
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
};
const SETTINGS = frame(0x4, 0, 0, Buffer.alloc(0));
const SETTINGS_ACK = frame(0x4, 0x1, 0, Buffer.alloc(0));
// HPACK (RFC 7541 Appendix A): :method GET, :scheme http, :path / from the static table,
// :authority as a literal with incremental indexing.
const HEADERS = frame(0x1, 0x5, 1, Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x41, AUTHORITY.length]), Buffer.from(AUTHORITY)]));

let opened = 0;
let answered = 0;
let closedEarly = 0;
let errors = 0;
let finishing = false;
const sockets: net.Socket[] = [];
const timers: NodeJS.Timeout[] = [];

function open(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let gotAnswer = false;
    let acked = false;
    socket.on('error', () => errors++);
    socket.once('close', () => {
      if (!finishing) closedEarly++;
      resolve();
    });
    socket.once('connect', () => {
      opened++;
      sockets.push(socket);
      if (h2) socket.write(Buffer.concat([PREFACE, SETTINGS]));
      else socket.write(GET);
    });
    socket.on('data', () => {
      if (h2 && !acked) {
        // The server's first bytes are its SETTINGS: acknowledge them, then ask.
        acked = true;
        socket.write(Buffer.concat([SETTINGS_ACK, HEADERS]));
        return;
      }
      if (!gotAnswer) {
        gotAnswer = true;
        answered++;
        if (!h2) {
          const timer = setInterval(() => socket.write(GET), refreshMs);
          timer.unref();
          timers.push(timer);
        }
        resolve();
      }
    });
  });
}

function finish(): void {
  if (finishing) return;
  finishing = true;
  for (const timer of timers) clearInterval(timer);
  process.stdout.write(JSON.stringify({ count, opened, answered, closedEarly, errors }) + '\n');
  for (const socket of sockets) socket.destroy();
  process.exit(0);
}

process.once('SIGTERM', finish);
process.once('SIGINT', finish);
setTimeout(finish, Number(values['max-seconds']) * 1000).unref();
// Keep the event loop alive until finish().
const keepAlive = setInterval(() => {}, 1000);
void keepAlive;

let next = 0;
async function worker(): Promise<void> {
  while (next < count && !finishing) {
    next++;
    await open();
  }
}
await Promise.all(Array.from({ length: Math.min(CONCURRENT_CONNECTS, count) }, worker));
process.stdout.write(`READY ${answered}\n`);
