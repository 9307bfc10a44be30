/**
 * A bounded WebSocket echo load generator: N clients, one message in flight each, for a
 * fixed time; counts echoes per second. Over HTTP/1.1 (an Upgrade on a TCP connection) or
 * over HTTP/2 (one RFC 8441 extended CONNECT stream per client on node:http2).
 *
 *   node --import tsx bench/clients/ws-load.ts --url http://127.0.0.1:3000/ws --transport h1|h2
 *     [--clients 50] [--size 32] [--duration 10] [--warmup 2] [--sessions N]
 *
 * Prints one JSON line: { echoes, seconds, rate, bytesPerSec, clients, opened, errors }.
 *
 * Lean on purpose, so that one load core can keep one server core busy: every client masks
 * its message once, at start, and writes the same frame each time; replies are checked by
 * their frame headers (opcode, length, FIN), and their payload bytes are counted, not
 * copied. With ws's client, which masks (in JavaScript, without bufferutil) and frames
 * every message, the load generator was the bottleneck: the servers ran at 0.5-0.9 of a
 * core, and the echo rate measured the client. Reusing one masking key breaks RFC 6455
 * §5.3's "unpredictable" (a defence for proxies that cache) and nothing else: a server
 * cannot tell.
 */
import { createHash, randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { parseArgs } from 'node:util';

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
const OPEN_TIMEOUT = 15_000;
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455 §1.3

const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

let measuring = false;
let stopped = false;
let echoes = 0;
let errors = 0;

/** A client frame (RFC 6455 §5.2): FIN, the opcode, a masking key and the masked payload. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = Buffer.alloc(2 + lengthBytes + 4 + length);
  frame[0] = 0x80 | opcode;
  if (lengthBytes === 0) frame[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const keyAt = 2 + lengthBytes;
  randomBytes(4).copy(frame, keyAt);
  for (let i = 0; i < length; i++) frame[keyAt + 4 + i] = payload[i]! ^ frame[keyAt + (i & 3)]!;
  return frame;
}

/**
 * Reads server frames (unmasked, RFC 6455 §5.1) incrementally: headers may be split across
 * chunks; data payloads are only counted; control payloads (at most 125 bytes) are kept.
 */
class FrameReader {
  readonly #head = Buffer.alloc(10);
  #headLength = 0;
  #headNeeded = 2;
  #inPayload = false;
  #remaining = 0;
  #opcode = 0;
  #fin = false;
  #frameLength = 0;
  #messageLength = 0;
  #control: Buffer[] = [];

  constructor(
    readonly onMessage: (length: number) => void,
    readonly onControl: (opcode: number, payload: Buffer) => void,
    readonly onError: (why: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#inPayload) {
        const take = Math.min(this.#remaining, chunk.length - at);
        if (this.#opcode >= 0x8) this.#control.push(chunk.subarray(at, at + take));
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) this.#frameDone();
        continue;
      }
      this.#head[this.#headLength++] = chunk[at++]!;
      if (this.#headLength === 2) {
        if ((this.#head[1]! & 0x80) !== 0) return this.onError('a masked server frame');
        const length7 = this.#head[1]! & 0x7f;
        this.#headNeeded = length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
      }
      if (this.#headLength < this.#headNeeded) continue;
      const length7 = this.#head[1]! & 0x7f;
      this.#frameLength = length7 === 126 ? this.#head.readUInt16BE(2) : length7 === 127 ? Number(this.#head.readBigUInt64BE(2)) : length7;
      this.#opcode = this.#head[0]! & 0x0f;
      this.#fin = (this.#head[0]! & 0x80) !== 0;
      this.#headLength = 0;
      this.#headNeeded = 2;
      this.#remaining = this.#frameLength;
      this.#inPayload = this.#remaining > 0;
      if (!this.#inPayload) this.#frameDone();
    }
  }

  #frameDone(): void {
    this.#inPayload = false;
    if (this.#opcode >= 0x8) {
      const payload = Buffer.concat(this.#control);
      this.#control = [];
      this.onControl(this.#opcode, payload);
      return;
    }
    this.#messageLength += this.#frameLength;
    if (this.#fin) {
      const length = this.#messageLength;
      this.#messageLength = 0;
      this.onMessage(length);
    }
  }
}

interface Transport {
  write(data: Buffer): unknown;
  destroy(): void;
}

/** One WebSocket: sends its message, and the next one when the echo has arrived. */
class EchoClient {
  readonly reader: FrameReader;
  readonly #frame: Buffer;
  #transport: Transport | undefined;
  #closed = false;

  constructor(frame: Buffer) {
    this.#frame = frame;
    this.reader = new FrameReader(
      (length) => this.#onEcho(length),
      (opcode, payload) => this.#onControl(opcode, payload),
      (why) => this.fail(why),
    );
  }

  start(transport: Transport): void {
    this.#transport = transport;
    transport.write(this.#frame);
  }

  #onEcho(length: number): void {
    if (length !== size) errors++;
    else if (measuring) echoes++;
    if (!stopped) this.#transport!.write(this.#frame);
  }

  #onControl(opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) this.#transport!.write(maskedFrame(OP_PONG, payload));
    else if (opcode === OP_CLOSE) this.fail('the server closed the WebSocket');
  }

  /** The connection ended or misbehaved: counted as an error unless the run is over. */
  fail(_why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!stopped) errors++;
    this.#transport?.destroy();
  }

  stop(): void {
    this.#closed = true;
    this.#transport?.destroy();
  }
}

function openH1(client: EchoClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no 101 in time'));
    }, OPEN_TIMEOUT);
    let head = Buffer.alloc(0);
    const onHandshake = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.off('data', onHandshake);
      const text = head.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 101 /.test(text) || !new RegExp(`^sec-websocket-accept: *${accept.replace(/[+/=]/g, '\\$&')} *$`, 'im').test(text)) {
        socket.destroy();
        return reject(new Error(`the handshake failed: ${text.split('\r\n')[0]}`));
      }
      socket.on('data', (data: Buffer) => client.reader.push(data));
      socket.on('close', () => client.fail('the connection closed'));
      client.start(socket);
      if (head.length > end + 4) client.reader.push(head.subarray(end + 4));
      resolve();
    };
    socket.on('data', onHandshake);
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('the connection closed before the 101')); // a no-op once open
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      client.fail(error.message);
      reject(error);
    });
    socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
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

function openH2(session: http2.ClientHttp2Session, client: EchoClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': url.pathname, ':authority': url.host, 'sec-websocket-version': '13' },
      { endStream: false },
    );
    stream.on('error', () => {});
    const timer = setTimeout(() => reject(new Error('no response to the CONNECT')), OPEN_TIMEOUT);
    stream.once('close', () => {
      clearTimeout(timer);
      client.fail('the stream closed');
      reject(new Error(`the CONNECT stream closed (rst ${stream.rstCode})`));
    });
    stream.once('response', (headers) => {
      clearTimeout(timer);
      if (headers[':status'] !== 200) return reject(new Error(`CONNECT answered ${headers[':status']}`));
      stream.on('data', (data: Buffer) => client.reader.push(data));
      client.start(stream);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const hardStop = setTimeout(() => {
    process.stderr.write('ws-load: hard time limit reached\n');
    process.exit(3);
  }, OPEN_TIMEOUT + warmup + duration + 10_000);
  hardStop.unref();
  const message = Buffer.alloc(size, 0x61);
  const all: EchoClient[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  if (values.transport === 'h2') {
    for (let i = 0; i < sessionCount; i++) sessions.push(await connectH2());
  }
  for (let i = 0; i < clients; i++) {
    const client = new EchoClient(maskedFrame(OP_BINARY, message));
    all.push(client);
    if (values.transport === 'h2') await openH2(sessions[i % sessionCount]!, client);
    else await openH1(client);
  }
  await new Promise((resolve) => setTimeout(resolve, warmup));
  echoes = 0;
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, duration));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  const counted = echoes;
  stopped = true;
  for (const client of all) client.stop();
  for (const session of sessions) session.destroy();
  const rate = counted / seconds;
  process.stdout.write(JSON.stringify({ echoes: counted, seconds, rate, bytesPerSec: rate * size * 2, clients, opened: all.length, errors }) + '\n');
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`ws-load: ${(error as Error).message}\n`);
  process.exit(1);
});
