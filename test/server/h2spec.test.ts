/**
 * h2spec (github.com/summerwind/h2spec), the HTTP/2 conformance suite, reproduced with our raw
 * frame client (test/helpers/h2-frames.ts) so that CI, which installs from npm and Debian only,
 * runs it: every case of h2spec's default run (sections generic, http2 and hpack; not the
 * "strict" ones), one test per case id, against both HTTP/2 engines.
 *
 * Each case sends what h2spec sends and accepts the outcomes h2spec accepts (RFC 7540 numbering
 * in the ids, RFC 9113 / RFC 7541 sections in the names). h2spec's verdicts, as used here:
 * - connection error: GOAWAY with one of the codes, or the connection closes;
 * - stream error: RST_STREAM or GOAWAY with one of the codes, or the connection closes;
 * - "the first HEADERS / SETTINGS / PING / DATA frame received is ...".
 * One deliberate difference: h2spec keeps reading after a GOAWAY or RST_STREAM with another code
 * and passes if the connection then closes; here that frame fails the case (the code is the point).
 *
 * Like h2spec, each case reads the frames it receives in order: a verdict consumes the frames it
 * looked at, and the next verdict starts after them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Exchange } from '../../src/index.ts';
import type { ServerHandle } from '../../src/server/serve.ts';
import { ErrorCode, Flag, FrameType, H2FrameClient, PREFACE, SettingId, codeName, frameBytes, parseGoaway, settingsPayload, u32, type Frame } from '../helpers/h2-frames.ts';
import { portOf, startServer, testCertificate } from '../helpers/server.ts';

/** How long a case waits for what it expects (h2spec's default is 2 s per frame). */
const WAIT = 3000;
/** h2spec's default --max-header-length: the size of its dummy field values. */
const MAX_HEADER_LEN = 4000;
/** The body of every response: h2spec needs one of at least 5 octets for its flow-control cases. */
const BODY = 'h2spec conformance body';

/** Answers every request 200 with BODY, after reading the request body (h2spec's target is "/"). */
async function h2specApp(ex: Exchange): Promise<void> {
  try {
    for await (const _chunk of ex.request.body) {
      // read to the end
    }
  } catch {
    // The stream was reset (most cases here do that on purpose).
    return;
  }
  if (!ex.signal.aborted) ex.response.send(200, { 'content-type': 'text/plain' }, BODY);
}

type Verdict = 'pass' | 'fail' | undefined;

function frameName(f: Frame): string {
  const names = new Map<number, string>(Object.entries(FrameType).map(([name, type]) => [type, name]));
  let s = `${names.get(f.type) ?? `type ${f.type}`} (stream ${f.streamId}, flags 0x${f.flags.toString(16)}, length ${f.payload.length}`;
  if (f.type === FrameType.GOAWAY) s += `, ${codeName(parseGoaway(f).code)}`;
  if (f.type === FrameType.RST_STREAM) s += `, ${codeName(f.payload.readUInt32BE(0))}`;
  return `${s})`;
}

/** A name list [name, value, ...]. */
type Fields = string[];

/** One h2spec connection: the raw client, the frames read so far, and h2spec's verdicts. */
class Conn {
  readonly c: H2FrameClient;
  readonly scheme: string;
  readonly authority: string;
  /** Frames before this index were read by an earlier verdict. */
  #cursor = 0;

  constructor(c: H2FrameClient, scheme: string, authority: string) {
    this.c = c;
    this.scheme = scheme;
    this.authority = authority;
  }

  /** h2spec's CommonHeaders: :method GET, :scheme, :path /, :authority host:port, in this order. */
  common(method = 'GET'): Fields {
    return [':method', method, ':scheme', this.scheme, ':path', '/', ':authority', this.authority];
  }

  /** h2spec's DummyHeaders: x-dummy0..n-1, each MAX_HEADER_LEN octets. */
  dummy(n: number): Fields {
    const out: Fields = [];
    for (let i = 0; i < n; i++) out.push(`x-dummy${i}`, 'x'.repeat(MAX_HEADER_LEN));
    return out;
  }

  encode(fields: Fields): Buffer {
    return this.c.encode(fields);
  }

  /** The server's SETTINGS_MAX_FRAME_SIZE (h2spec's MaxFrameSize). */
  get maxFrameSize(): number {
    return this.c.serverSettings.get(SettingId.MAX_FRAME_SIZE) ?? 16_384;
  }

  /**
   * h2spec's Handshake: the preface, SETTINGS (INITIAL_WINDOW_SIZE 65,535), then every frame up
   * to both the server's SETTINGS and the ACK of ours is read.
   */
  async handshake(): Promise<void> {
    this.c.write(Buffer.concat([PREFACE, frameBytes(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 65_535]]))]));
    let settings = false;
    let ack = false;
    await this.#expect('the server SETTINGS and the ACK of ours', (f) => {
      if (f.type === FrameType.SETTINGS) {
        if ((f.flags & Flag.ACK) !== 0) ack = true;
        else settings = true;
      }
      return settings && ack ? 'pass' : undefined;
    }, false);
  }

  // ---- sending, as h2spec's framer does

  headers(id: number, block: Buffer, o: { endStream?: boolean; endHeaders?: boolean; priority?: Buffer; pad?: number } = {}): void {
    let flags = (o.endStream ? Flag.END_STREAM : 0) | (o.endHeaders === false ? 0 : Flag.END_HEADERS);
    const parts: Buffer[] = [];
    if (o.pad !== undefined) {
      flags |= Flag.PADDED;
      parts.push(Buffer.from([o.pad]));
    }
    if (o.priority !== undefined) {
      flags |= Flag.PRIORITY;
      parts.push(o.priority);
    }
    parts.push(block);
    if (o.pad !== undefined) parts.push(Buffer.alloc(o.pad));
    this.c.frame(FrameType.HEADERS, flags, id, Buffer.concat(parts));
  }

  continuation(id: number, endHeaders: boolean, block: Buffer): void {
    this.c.frame(FrameType.CONTINUATION, endHeaders ? Flag.END_HEADERS : 0, id, block);
  }

  data(id: number, endStream: boolean, payload: string | Buffer): void {
    this.c.frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, id, Buffer.from(payload));
  }

  priority(id: number, dep: number, weight: number, exclusive = false): void {
    this.c.frame(FrameType.PRIORITY, 0, id, priorityFields(dep, weight, exclusive));
  }

  settings(settings: Array<[number, number]>): void {
    this.c.frame(FrameType.SETTINGS, 0, 0, settingsPayload(settings));
  }

  ping(data: Buffer, ack = false): void {
    this.c.frame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
  }

  goaway(lastId: number, code: number, debug: string): void {
    this.c.frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(lastId), u32(code), Buffer.from(debug)]));
  }

  /** Bytes as they are, h2spec's conn.Send. */
  send(bytes: string): void {
    this.c.write(hex(bytes));
  }

  // ---- h2spec's verdicts

  /**
   * Reads frames from the cursor until `decide` settles, the connection closes (then `closed`
   * is the verdict), or WAIT passes (a failure).
   */
  async #expect(what: string, decide: (f: Frame) => Verdict, closed: boolean): Promise<void> {
    let verdict: Verdict;
    let seen = '';
    await this.c.until(
      () => {
        const frames = this.c.frames;
        while (this.#cursor < frames.length) {
          const f = frames[this.#cursor++]!;
          const v = decide(f);
          if (v !== undefined) {
            verdict = v;
            seen = frameName(f);
            return true;
          }
        }
        if (this.c.isClosed) {
          verdict = closed ? 'pass' : 'fail';
          seen = 'the connection closed';
          return true;
        }
        return false;
      },
      what,
      WAIT,
    );
    if (verdict !== 'pass') assert.fail(`expected ${what}; got ${seen}; frames: ${this.c.describe()}`);
  }

  /** VerifyConnectionError: GOAWAY with one of `codes`, or the connection closes. */
  connectionError(...codes: number[]): Promise<void> {
    const names = codes.map(codeName).join(' or ');
    return this.#expect(`GOAWAY ${names}, or the connection closed`, (f) => (f.type === FrameType.GOAWAY ? (codes.includes(parseGoaway(f).code) ? 'pass' : 'fail') : undefined), true);
  }

  /** VerifyStreamError: RST_STREAM or GOAWAY with one of `codes`, or the connection closes. */
  streamError(...codes: number[]): Promise<void> {
    const names = codes.map(codeName).join(' or ');
    return this.#expect(`RST_STREAM or GOAWAY ${names}, or the connection closed`, (f) => {
      if (f.type === FrameType.GOAWAY) return codes.includes(parseGoaway(f).code) ? 'pass' : 'fail';
      if (f.type === FrameType.RST_STREAM) return codes.includes(f.payload.readUInt32BE(0)) ? 'pass' : 'fail';
      return undefined;
    }, true);
  }

  /** VerifyConnectionClose: the connection closes (whatever frames come first). */
  connectionClose(): Promise<void> {
    return this.#expect('the connection closed', () => undefined, true);
  }

  /** VerifyStreamClose: DATA or HEADERS with END_STREAM, or RST_STREAM NO_ERROR. */
  streamClose(): Promise<void> {
    return this.#expect('the end of the stream (END_STREAM, or RST_STREAM NO_ERROR)', (f) => {
      if ((f.type === FrameType.DATA || f.type === FrameType.HEADERS) && (f.flags & Flag.END_STREAM) !== 0) return 'pass';
      if (f.type === FrameType.RST_STREAM && f.payload.readUInt32BE(0) === ErrorCode.NO_ERROR) return 'pass';
      return undefined;
    }, false);
  }

  /** VerifyHeadersFrame: the next HEADERS frame is on stream `id`. */
  headersFrame(id: number): Promise<void> {
    return this.#expect(`a HEADERS frame on stream ${id}`, (f) => (f.type === FrameType.HEADERS ? (f.streamId === id ? 'pass' : 'fail') : undefined), false);
  }

  /** VerifySettingsFrameWithAck: the next SETTINGS frame is an ACK. */
  settingsAck(): Promise<void> {
    return this.#expect('SETTINGS with ACK', (f) => (f.type === FrameType.SETTINGS ? ((f.flags & Flag.ACK) !== 0 ? 'pass' : 'fail') : undefined), false);
  }

  /** VerifyPingFrameWithAck: the next PING frame is an ACK of `data`. */
  pingAck(data: Buffer): Promise<void> {
    return this.#expect(`PING with ACK and ${JSON.stringify(data.toString('latin1'))}`, (f) => (f.type === FrameType.PING ? ((f.flags & Flag.ACK) !== 0 && f.payload.equals(data) ? 'pass' : 'fail') : undefined), false);
  }

  /** VerifyPingFrameOrConnectionClose: a PING ACK of `data`, or the connection closes. */
  pingAckOrClose(data: Buffer): Promise<void> {
    return this.#expect(`PING with ACK and ${JSON.stringify(data.toString('latin1'))}, or the connection closed`, (f) => (f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.equals(data) ? 'pass' : undefined), true);
  }

  /** WaitEventByType(DATA), optionally checking its length. */
  dataFrame(length?: number): Promise<void> {
    const what = length === undefined ? 'a DATA frame' : `a DATA frame of ${length} octet(s)`;
    return this.#expect(what, (f) => (f.type === FrameType.DATA ? (length === undefined || f.payload.length === length ? 'pass' : 'fail') : undefined), false);
  }

  /** WaitEventByType(GOAWAY), checking its code. */
  goawayFrame(code: number): Promise<void> {
    return this.#expect(`GOAWAY ${codeName(code)}`, (f) => (f.type === FrameType.GOAWAY ? (parseGoaway(f).code === code ? 'pass' : 'fail') : undefined), false);
  }

  /** WaitEventByType(RST_STREAM), checking its stream and code. */
  resetFrame(id: number, code: number): Promise<void> {
    return this.#expect(`RST_STREAM ${codeName(code)} on stream ${id}`, (f) => (f.type === FrameType.RST_STREAM ? (f.streamId === id && f.payload.readUInt32BE(0) === code ? 'pass' : 'fail') : undefined), false);
  }

  /** The next frame (any type) is a SETTINGS frame without ACK. */
  firstFrameIsSettings(): Promise<void> {
    return this.#expect('SETTINGS without ACK as the first frame', (f) => (f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0 ? 'pass' : 'fail'), false);
  }
}

/** Octets written as hex, spaces allowed. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** A PRIORITY frame's fields (also what the PRIORITY flag puts in HEADERS): E, stream dependency, weight. */
function priorityFields(dep: number, weight: number, exclusive = false): Buffer {
  return Buffer.concat([u32(((exclusive ? 0x8000_0000 : 0) | dep) >>> 0), Buffer.from([weight])]);
}

/** PING payloads h2spec uses. */
const ZERO8 = Buffer.alloc(8);
const H2SPEC8 = Buffer.concat([Buffer.from('h2spec'), Buffer.alloc(2)]);
const INVALID8 = Buffer.concat([Buffer.from('invalid'), Buffer.alloc(1)]);

/** An HPACK integer with an `prefixBits`-bit prefix whose first octet carries `pattern` (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, pattern: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([pattern | value]);
  const out = [pattern | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push(0x80 | (rest & 0x7f));
    rest >>>= 7;
  }
  out.push(rest);
  return Buffer.from(out);
}

interface Ctx {
  /** A cleartext connection with prior knowledge; nothing sent yet. */
  open(): Promise<Conn>;
  /** A TLS connection, ALPN h2; nothing sent yet. */
  openTls(): Promise<Conn>;
}

interface Case {
  id: string;
  /** 'RFC 9113 §x' or 'RFC 7541 §x'. */
  rfc: string;
  title: string;
  run: (ctx: Ctx) => Promise<void>;
}

const cases: Case[] = [];
function h2spec(id: string, rfc: string, title: string, run: (ctx: Ctx) => Promise<void>): void {
  cases.push({ id, rfc, title, run });
}

/** A connection after h2spec's handshake. */
async function ready(ctx: Ctx): Promise<Conn> {
  const conn = await ctx.open();
  await conn.handshake();
  return conn;
}

// ================================================================ generic: the basics a server must accept

h2spec('generic/1/1', 'RFC 9113 §3.4', 'a client connection preface (TLS, ALPN h2) is answered with the server SETTINGS first', async (ctx) => {
  const conn = await ctx.openTls();
  conn.c.write(Buffer.concat([PREFACE, frameBytes(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 65_535]]))]));
  await conn.firstFrameIsSettings();
});

h2spec('generic/2/1', 'RFC 9113 §5.1', 'PRIORITY on an idle stream is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(1, 0, 255);
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('generic/2/2', 'RFC 9113 §5.1', 'WINDOW_UPDATE on a half-closed (remote) stream is accepted: DATA follows', async (ctx) => {
  const conn = await ready(ctx);
  // A zero initial window keeps the stream from closing.
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 0]]);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.c.windowUpdate(1, 1);
  await conn.dataFrame();
});

h2spec('generic/2/3', 'RFC 9113 §5.1', 'PRIORITY on a half-closed (remote) stream is accepted: DATA follows', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 0]]);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.priority(1, 0, 255);
  conn.c.windowUpdate(1, 1);
  await conn.dataFrame();
});

h2spec('generic/2/4', 'RFC 9113 §5.1', 'RST_STREAM on a half-closed (remote) stream is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.c.rst(1, ErrorCode.CANCEL);
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('generic/2/5', 'RFC 9113 §5.1', 'PRIORITY on a closed stream is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.streamClose();
  conn.priority(1, 0, 255);
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('generic/3.1/1', 'RFC 9113 §6.1', 'a DATA frame is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.data(1, true, 'test');
  await conn.headersFrame(1);
});

h2spec('generic/3.1/2', 'RFC 9113 §6.1', 'multiple DATA frames are accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.data(1, false, 'test');
  conn.data(1, true, 'test');
  await conn.headersFrame(1);
});

h2spec('generic/3.1/3', 'RFC 9113 §6.1', 'a DATA frame with padding is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.c.frame(FrameType.DATA, Flag.END_STREAM | Flag.PADDED, 1, Buffer.concat([Buffer.from([5]), Buffer.from('test'), Buffer.alloc(5)]));
  await conn.headersFrame(1);
});

h2spec('generic/3.2/1', 'RFC 9113 §6.2', 'a HEADERS frame is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/3.2/2', 'RFC 9113 §6.2', 'a HEADERS frame with padding is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true, pad: 8 });
  await conn.headersFrame(1);
});

h2spec('generic/3.2/3', 'RFC 9113 §6.2', 'a HEADERS frame with priority is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true, priority: priorityFields(0, 255) });
  await conn.headersFrame(1);
});

h2spec('generic/3.3/1', 'RFC 9113 §6.3', 'PRIORITY with weight 1 is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(1, 0, 0);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/3.3/2', 'RFC 9113 §6.3', 'PRIORITY with weight 256 is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(1, 0, 255);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/3.3/3', 'RFC 9113 §6.3', 'PRIORITY with a stream dependency is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(3, 1, 0);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/3.3/4', 'RFC 9113 §6.3', 'PRIORITY with the exclusive flag is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(1, 0, 0, true);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/3.3/5', 'RFC 9113 §6.3', 'PRIORITY for an idle stream, then HEADERS on a lower stream id, is answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(3, 0, 255);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/3.4/1', 'RFC 9113 §6.4', 'a RST_STREAM frame is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()));
  conn.c.rst(1, ErrorCode.CANCEL);
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('generic/3.5/1', 'RFC 9113 §6.5', 'a SETTINGS frame with every defined setting is acknowledged', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([
    [SettingId.HEADER_TABLE_SIZE, 4096],
    [SettingId.ENABLE_PUSH, 1],
    [SettingId.MAX_CONCURRENT_STREAMS, 100],
    [SettingId.INITIAL_WINDOW_SIZE, 65_535],
    [SettingId.MAX_FRAME_SIZE, 16_384],
    [SettingId.MAX_HEADER_LIST_SIZE, 100],
  ]);
  await conn.settingsAck();
});

h2spec('generic/3.7/1', 'RFC 9113 §6.7', 'a PING frame is answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.ping(H2SPEC8);
  await conn.pingAck(H2SPEC8);
});

h2spec('generic/3.8/1', 'RFC 9113 §6.8', 'a GOAWAY frame is accepted (a PING is still answered, or the connection closes)', async (ctx) => {
  const conn = await ready(ctx);
  conn.goaway(0, ErrorCode.NO_ERROR, 'h2spec');
  conn.ping(H2SPEC8);
  await conn.pingAckOrClose(H2SPEC8);
});

h2spec('generic/3.9/1', 'RFC 9113 §6.9', 'WINDOW_UPDATE on the connection is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.windowUpdate(0, 1);
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('generic/3.9/2', 'RFC 9113 §6.9', 'WINDOW_UPDATE on stream 1 is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.c.windowUpdate(1, 1);
  await conn.headersFrame(1);
});

h2spec('generic/3.10/1', 'RFC 9113 §6.10', 'a CONTINUATION frame is accepted', async (ctx) => {
  const conn = await ready(ctx);
  const block = conn.encode(conn.common());
  conn.headers(1, block.subarray(0, 5), { endStream: true, endHeaders: false });
  conn.continuation(1, true, block.subarray(5));
  await conn.headersFrame(1);
});

h2spec('generic/3.10/2', 'RFC 9113 §6.10', 'multiple CONTINUATION frames are accepted', async (ctx) => {
  const conn = await ready(ctx);
  const block = conn.encode(conn.common());
  conn.headers(1, block.subarray(0, 5), { endStream: true, endHeaders: false });
  conn.continuation(1, false, block.subarray(5, 10));
  conn.continuation(1, true, block.subarray(10));
  await conn.headersFrame(1);
});

h2spec('generic/4/1', 'RFC 9113 §8.1', 'a GET request is answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/4/2', 'RFC 9113 §8.1', 'a HEAD request is answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('HEAD')), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/4/3', 'RFC 9113 §8.1', 'a POST request is answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.data(1, true, 'test');
  await conn.headersFrame(1);
});

h2spec('generic/4/4', 'RFC 9113 §8.1', 'a POST request with trailers is answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode([...conn.common('POST'), 'trailer', 'x-test']));
  conn.data(1, false, 'test');
  conn.headers(1, conn.encode(['x-test', 'ok']), { endStream: true });
  await conn.headersFrame(1);
});

/**
 * generic/5: the common request with one more field representation after it, h2spec's bytes.
 * (h2spec calls cases 2, 3, 7, 10 and 11 "indexed name"; its bytes carry a literal name, and the
 * titles here say what is sent.)
 */
const representations: Array<[number, string, string, string]> = [
  [1, 'RFC 7541 §6.1', 'an indexed field (static index 58, user-agent) is accepted', 'ba'],
  [2, 'RFC 7541 §6.2.1', 'a literal field with incremental indexing, new name, Huffman (user-agent: h2spec), is accepted', '40 87 b505b161cc5a93 84 9c48aca4'],
  [3, 'RFC 7541 §6.2.1', 'a literal field with incremental indexing, new name (user-agent: h2spec), is accepted', '40 0a 757365722d6167656e74 06 683273706563'],
  [4, 'RFC 7541 §6.2.1', 'a literal field with incremental indexing, new name (x-test: h2spec), is accepted', '40 06 782d74657374 06 683273706563'],
  [5, 'RFC 7541 §6.2.1', 'a literal field with incremental indexing, new name, Huffman (x-test: h2spec), is accepted', '40 85 f2b24a84ff 84 9c48aca4'],
  [6, 'RFC 7541 §6.2.2', 'a literal field without indexing, new name (user-agent: h2spec), is accepted', '00 0a 757365722d6167656e74 06 683273706563'],
  [7, 'RFC 7541 §6.2.2', 'a literal field without indexing, new name, Huffman (user-agent: h2spec), is accepted', '00 87 b505b161cc5a93 84 9c48aca4'],
  [8, 'RFC 7541 §6.2.2', 'a literal field without indexing, new name (x-test: h2spec), is accepted', '00 06 782d74657374 06 683273706563'],
  [9, 'RFC 7541 §6.2.2', 'a literal field without indexing, new name, Huffman (x-test: h2spec), is accepted', '00 85 f2b24a84ff 84 9c48aca4'],
  [10, 'RFC 7541 §6.2.3', 'a literal field never indexed, new name (user-agent: h2spec), is accepted', '10 0a 757365722d6167656e74 06 683273706563'],
  [11, 'RFC 7541 §6.2.3', 'a literal field never indexed, new name, Huffman (user-agent: h2spec), is accepted', '10 87 b505b161cc5a93 84 9c48aca4'],
  [12, 'RFC 7541 §6.2.3', 'a literal field never indexed, new name, Huffman (x-test: h2spec), is accepted', '10 85 f2b24a84ff 84 9c48aca4'],
  [13, 'RFC 7541 §6.2.3', 'a literal field never indexed, new name, Huffman (x-test: h2spec), again (as h2spec), is accepted', '10 85 f2b24a84ff 84 9c48aca4'],
];
for (const [n, rfc, title, bytes] of representations) {
  h2spec(`generic/5/${n}`, rfc, title, async (ctx) => {
    const conn = await ready(ctx);
    conn.headers(1, Buffer.concat([conn.encode(conn.common()), hex(bytes)]), { endStream: true });
    await conn.headersFrame(1);
  });
}

h2spec('generic/5/14', 'RFC 7541 §6.3', 'a dynamic table size update (to 128) is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, Buffer.concat([hpackInt(128, 5, 0x20), conn.encode(conn.common())]), { endStream: true });
  await conn.headersFrame(1);
});

h2spec('generic/5/15', 'RFC 7541 §4.2', 'two dynamic table size updates (128, then 4,096) are accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, Buffer.concat([hex('3f613fe11f'), conn.encode(conn.common())]), { endStream: true });
  await conn.headersFrame(1);
});

// ================================================================ http2: RFC 7540 section by section

h2spec('http2/3.5/1', 'RFC 9113 §3.4', 'the client connection preface is answered with SETTINGS as the first frame', async (ctx) => {
  const conn = await ctx.open();
  conn.c.write(Buffer.concat([PREFACE, frameBytes(FrameType.SETTINGS, 0, 0, settingsPayload([[SettingId.INITIAL_WINDOW_SIZE, 65_535]]))]));
  await conn.firstFrameIsSettings();
});

// Over TLS: on cleartext without the preface the connection is not HTTP/2 at all (our listener
// sniffs the preface and hands anything else to HTTP/1.1); after ALPN h2 it is HTTP/2's to refuse.
h2spec('http2/3.5/2', 'RFC 9113 §3.4', 'an invalid connection preface (TLS, ALPN h2) draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ctx.openTls();
  conn.c.write(Buffer.from('INVALID CONNECTION PREFACE\r\n\r\n', 'latin1'));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/4.1/1', 'RFC 9113 §4.1', 'a frame of unknown type is ignored', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000008 16 00 00000000 0000000000000000');
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('http2/4.1/2', 'RFC 9113 §4.1', 'undefined flags are ignored', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000008 06 16 00000000 0000000000000000');
  await conn.pingAck(ZERO8);
});

h2spec('http2/4.1/3', 'RFC 9113 §4.1', 'the reserved bit of the stream identifier is ignored', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000008 06 16 80000000 0000000000000000');
  await conn.pingAck(ZERO8);
});

h2spec('http2/4.2/1', 'RFC 9113 §4.2', 'a DATA frame of SETTINGS_MAX_FRAME_SIZE octets is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.data(1, true, 'x'.repeat(conn.maxFrameSize));
  await conn.headersFrame(1);
});

h2spec('http2/4.2/2', 'RFC 9113 §4.2', 'a DATA frame exceeding SETTINGS_MAX_FRAME_SIZE draws FRAME_SIZE_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.data(1, true, 'x'.repeat(conn.maxFrameSize + 1));
  await conn.streamError(ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/4.2/3', 'RFC 9113 §4.2', 'a HEADERS frame exceeding SETTINGS_MAX_FRAME_SIZE draws a connection error FRAME_SIZE_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode([...conn.common(), ...conn.dummy(5)]), { endStream: true });
  await conn.connectionError(ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/4.3/1', 'RFC 9113 §4.3', 'a header block that does not decode draws a connection error COMPRESSION_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  // A literal with incremental indexing and nothing after it.
  conn.send('000001 01 05 00000001 40');
  await conn.connectionError(ErrorCode.COMPRESSION_ERROR);
});

// h2spec sends the same two interrupted header blocks under §4.3 and again under §6.2.
/** HEADERS without END_HEADERS, a PRIORITY frame, then the CONTINUATION. */
async function priorityInsideHeaderBlock(ctx: Ctx): Promise<void> {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endHeaders: false });
  conn.priority(1, 0, 255);
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
}

/** HEADERS without END_HEADERS, HEADERS on stream 3, then the CONTINUATION. */
async function headersInsideHeaderBlock(ctx: Ctx): Promise<void> {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endHeaders: false });
  conn.headers(3, conn.encode(conn.common()), { endStream: true });
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
}

h2spec('http2/4.3/2', 'RFC 9113 §4.3', 'PRIORITY inside a header block draws a connection error PROTOCOL_ERROR', priorityInsideHeaderBlock);

h2spec('http2/4.3/3', 'RFC 9113 §4.3', 'HEADERS on another stream inside a header block draws a connection error PROTOCOL_ERROR', headersInsideHeaderBlock);

h2spec('http2/5.1/1', 'RFC 9113 §5.1', 'idle: DATA draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.data(1, true, 'test');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1/2', 'RFC 9113 §5.1', 'idle: RST_STREAM draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.rst(1, ErrorCode.CANCEL);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1/3', 'RFC 9113 §5.1', 'idle: WINDOW_UPDATE draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.windowUpdate(1, 100);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1/4', 'RFC 9113 §5.1', 'idle: CONTINUATION draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.continuation(1, true, conn.encode(conn.common()));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1/5', 'RFC 9113 §5.1', 'half-closed (remote): DATA draws a stream error STREAM_CLOSED', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.data(1, true, 'test');
  await conn.streamError(ErrorCode.STREAM_CLOSED);
});

h2spec('http2/5.1/6', 'RFC 9113 §5.1', 'half-closed (remote): HEADERS draws a stream error STREAM_CLOSED', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.streamError(ErrorCode.STREAM_CLOSED);
});

h2spec('http2/5.1/7', 'RFC 9113 §5.1', 'half-closed (remote): CONTINUATION draws a stream error STREAM_CLOSED or PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  const block = conn.encode(conn.common());
  conn.headers(1, block, { endStream: true });
  conn.continuation(1, true, block);
  await conn.streamError(ErrorCode.STREAM_CLOSED, ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1/8', 'RFC 9113 §5.1', 'closed: DATA after our RST_STREAM draws a stream error STREAM_CLOSED', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()));
  conn.c.rst(1, ErrorCode.CANCEL);
  conn.data(1, true, 'test');
  await conn.streamError(ErrorCode.STREAM_CLOSED);
});

h2spec('http2/5.1/9', 'RFC 9113 §5.1', 'closed: HEADERS after our RST_STREAM draws a stream error STREAM_CLOSED', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()));
  conn.c.rst(1, ErrorCode.CANCEL);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.streamError(ErrorCode.STREAM_CLOSED);
});

h2spec('http2/5.1/10', 'RFC 9113 §5.1', 'closed: CONTINUATION after our RST_STREAM draws a stream error STREAM_CLOSED or PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()));
  conn.c.rst(1, ErrorCode.CANCEL);
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  await conn.streamError(ErrorCode.STREAM_CLOSED, ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1/11', 'RFC 9113 §5.1', 'closed: DATA after both ends ended the stream draws STREAM_CLOSED', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.streamClose();
  conn.data(1, true, 'test');
  await conn.streamError(ErrorCode.STREAM_CLOSED);
});

h2spec('http2/5.1/12', 'RFC 9113 §5.1', 'closed: HEADERS after both ends ended the stream draws a connection error STREAM_CLOSED', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.streamClose();
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.connectionError(ErrorCode.STREAM_CLOSED);
});

h2spec('http2/5.1/13', 'RFC 9113 §5.1', 'closed: CONTINUATION after both ends ended the stream draws a connection error STREAM_CLOSED or PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.streamClose();
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  await conn.connectionError(ErrorCode.STREAM_CLOSED, ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1.1/1', 'RFC 9113 §5.1.1', 'an even-numbered stream identifier draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(2, conn.encode(conn.common()), { endStream: true });
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1.1/2', 'RFC 9113 §5.1.1', 'a stream identifier lower than a previous one draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(5, conn.encode(conn.common()), { endStream: true });
  conn.headers(3, conn.encode(conn.common()), { endStream: true });
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.1.2/1', 'RFC 9113 §5.1.2', 'streams beyond SETTINGS_MAX_CONCURRENT_STREAMS draw a stream error PROTOCOL_ERROR or REFUSED_STREAM', async (ctx) => {
  const conn = await ready(ctx);
  const max = conn.c.serverSettings.get(SettingId.MAX_CONCURRENT_STREAMS);
  // h2spec skips the case when the server sets no limit; ours always does.
  assert.ok(max !== undefined, 'the server advertises SETTINGS_MAX_CONCURRENT_STREAMS');
  // A zero initial window keeps every stream open.
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 0]]);
  const block = conn.encode(conn.common());
  for (let i = 0, id = 1; i <= max; i++, id += 2) conn.headers(id, block, { endStream: true });
  await conn.streamError(ErrorCode.PROTOCOL_ERROR, ErrorCode.REFUSED_STREAM);
});

h2spec('http2/5.3.1/1', 'RFC 9113 §5.3.1', 'HEADERS that make a stream depend on itself draw a stream error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true, priority: priorityFields(1, 255) });
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.3.1/2', 'RFC 9113 §5.3.1', 'PRIORITY that makes a stream depend on itself draws a stream error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(1, 1, 255);
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/5.4.1/1', 'RFC 9113 §5.4.1', 'after a connection error (PING on a stream) the server closes the TCP connection', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000008 06 00 00000003 0000000000000000');
  await conn.connectionClose();
});

h2spec('http2/5.5/1', 'RFC 9113 §5.5', 'an unknown extension frame is ignored', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000008 16 00 00000000 0000000000000000');
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('http2/5.5/2', 'RFC 9113 §5.5', 'an unknown extension frame inside a header block draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true, endHeaders: false });
  conn.send('000008 16 00 00000000 0000000000000000');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.1/1', 'RFC 9113 §6.1', 'DATA on stream 0 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.data(0, true, 'test');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.1/2', 'RFC 9113 §6.1', 'DATA on a stream not "open" or "half-closed (local)" draws a stream error STREAM_CLOSED', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')), { endStream: true });
  conn.data(1, true, 'test');
  await conn.streamError(ErrorCode.STREAM_CLOSED);
});

h2spec('http2/6.1/3', 'RFC 9113 §6.1', 'DATA padding as long as the payload draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode([...conn.common('POST'), 'content-length', '4']));
  // Length 5, PADDED | END_STREAM, pad length 6.
  conn.send('000005 00 09 00000001 06 54657374');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.2/1', 'RFC 9113 §6.2', 'HEADERS without END_HEADERS, then PRIORITY, draws a connection error PROTOCOL_ERROR', priorityInsideHeaderBlock);

h2spec('http2/6.2/2', 'RFC 9113 §6.2', 'HEADERS without END_HEADERS, then HEADERS on another stream, draws a connection error PROTOCOL_ERROR', headersInsideHeaderBlock);

h2spec('http2/6.2/3', 'RFC 9113 §6.2', 'HEADERS on stream 0 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(0, conn.encode(conn.common()), { endStream: true });
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.2/4', 'RFC 9113 §6.2', 'HEADERS padding longer than what remains draws PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  const block = conn.encode(conn.common());
  // PADDED | END_HEADERS | END_STREAM; the pad length is one more than the block.
  conn.c.write(Buffer.concat([frameBytes(FrameType.HEADERS, Flag.PADDED | Flag.END_HEADERS | Flag.END_STREAM, 1, undefined, block.length + 1), Buffer.from([block.length + 2]), block]));
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.3/1', 'RFC 9113 §6.3', 'PRIORITY on stream 0 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.priority(0, 0, 255);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.3/2', 'RFC 9113 §6.3', 'PRIORITY of 4 octets draws a stream error FRAME_SIZE_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.send('000004 02 00 00000001 80000001');
  await conn.streamError(ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/6.4/1', 'RFC 9113 §6.4', 'RST_STREAM on stream 0 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.rst(0, ErrorCode.CANCEL);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.4/2', 'RFC 9113 §6.4', 'RST_STREAM on an idle stream draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.rst(1, ErrorCode.CANCEL);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.4/3', 'RFC 9113 §6.4', 'RST_STREAM of 3 octets draws FRAME_SIZE_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.send('000003 03 00 00000001 000000');
  await conn.streamError(ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/6.5/1', 'RFC 9113 §6.5', 'SETTINGS with ACK and a payload draws a connection error FRAME_SIZE_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000001 04 01 00000000 00');
  await conn.connectionError(ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/6.5/2', 'RFC 9113 §6.5', 'SETTINGS on a stream draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000006 04 00 00000001 0003 00000064');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.5/3', 'RFC 9113 §6.5', 'SETTINGS of a length other than a multiple of 6 draws FRAME_SIZE_ERROR or PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000003 04 00 00000000 000300');
  await conn.streamError(ErrorCode.PROTOCOL_ERROR, ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/6.5.2/1', 'RFC 9113 §6.5.2', 'SETTINGS_ENABLE_PUSH of 2 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.ENABLE_PUSH, 2]]);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.5.2/2', 'RFC 9113 §6.5.2', 'SETTINGS_INITIAL_WINDOW_SIZE of 2^31 draws a connection error FLOW_CONTROL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 2 ** 31]]);
  await conn.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
});

h2spec('http2/6.5.2/3', 'RFC 9113 §6.5.2', 'SETTINGS_MAX_FRAME_SIZE of 16,383 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.MAX_FRAME_SIZE, 16_383]]);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.5.2/4', 'RFC 9113 §6.5.2', 'SETTINGS_MAX_FRAME_SIZE of 2^24 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.MAX_FRAME_SIZE, 2 ** 24]]);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.5.2/5', 'RFC 9113 §6.5.2', 'a SETTINGS frame with an unknown identifier is accepted', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[0xff, 1]]);
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('http2/6.5.3/1', 'RFC 9113 §6.5.3', 'two SETTINGS_INITIAL_WINDOW_SIZE values in one frame apply in order (the last, 1, wins)', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([
    [SettingId.INITIAL_WINDOW_SIZE, 100],
    [SettingId.INITIAL_WINDOW_SIZE, 1],
  ]);
  await conn.settingsAck();
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.dataFrame(1);
});

h2spec('http2/6.5.3/2', 'RFC 9113 §6.5.3', 'SETTINGS without ACK is acknowledged', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.ENABLE_PUSH, 0]]);
  await conn.settingsAck();
});

h2spec('http2/6.7/1', 'RFC 9113 §6.7', 'PING is answered with ACK and the same payload', async (ctx) => {
  const conn = await ready(ctx);
  conn.ping(H2SPEC8);
  await conn.pingAck(H2SPEC8);
});

h2spec('http2/6.7/2', 'RFC 9113 §6.7', 'PING with ACK is not answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.ping(INVALID8, true);
  conn.ping(H2SPEC8);
  // The first PING the server sends must be the ACK of the second one.
  await conn.pingAck(H2SPEC8);
});

h2spec('http2/6.7/3', 'RFC 9113 §6.7', 'PING on a stream draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000008 06 00 00000001 0000000000000000');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.7/4', 'RFC 9113 §6.7', 'PING of 6 octets draws a connection error FRAME_SIZE_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000006 06 00 00000000 000000000000');
  await conn.connectionError(ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/6.8/1', 'RFC 9113 §6.8', 'GOAWAY on a stream draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000008 07 00 00000001 0000000000000000');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.9/1', 'RFC 9113 §6.9', 'WINDOW_UPDATE of 0 on the connection draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.windowUpdate(0, 0);
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.9/2', 'RFC 9113 §6.9', 'WINDOW_UPDATE of 0 on a stream draws a stream error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()));
  conn.c.windowUpdate(1, 0);
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.9/3', 'RFC 9113 §6.9', 'WINDOW_UPDATE of 3 octets draws a connection error FRAME_SIZE_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000003 08 00 00000000 000001');
  await conn.connectionError(ErrorCode.FRAME_SIZE_ERROR);
});

h2spec('http2/6.9.1/1', 'RFC 9113 §6.9.1', 'with SETTINGS_INITIAL_WINDOW_SIZE 1 the response DATA comes 1 octet at a time', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 1]]);
  await conn.settingsAck();
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.dataFrame(1);
});

h2spec('http2/6.9.1/2', 'RFC 9113 §6.9.1', 'WINDOW_UPDATEs taking the connection window above 2^31-1 draw GOAWAY FLOW_CONTROL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.windowUpdate(0, 2 ** 31 - 1);
  conn.c.windowUpdate(0, 2 ** 31 - 1);
  await conn.goawayFrame(ErrorCode.FLOW_CONTROL_ERROR);
});

h2spec('http2/6.9.1/3', 'RFC 9113 §6.9.1', 'WINDOW_UPDATEs taking a stream window above 2^31-1 draw RST_STREAM FLOW_CONTROL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()));
  conn.c.windowUpdate(1, 2 ** 31 - 1);
  conn.c.windowUpdate(1, 2 ** 31 - 1);
  await conn.resetFrame(1, ErrorCode.FLOW_CONTROL_ERROR);
});

h2spec('http2/6.9.2/1', 'RFC 9113 §6.9.2', 'raising SETTINGS_INITIAL_WINDOW_SIZE after HEADERS applies to the open stream', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 0]]);
  await conn.settingsAck();
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 1]]);
  await conn.dataFrame(1);
});

h2spec('http2/6.9.2/2', 'RFC 9113 §6.9.2', 'a smaller SETTINGS_INITIAL_WINDOW_SIZE makes the stream window negative, and the sender tracks it', async (ctx) => {
  const conn = await ready(ctx);
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 3]]);
  await conn.settingsAck();
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  await conn.dataFrame();
  // 3 sent of 3: 2 - 3 = -1, and +2 leaves room for 1.
  conn.settings([[SettingId.INITIAL_WINDOW_SIZE, 2]]);
  await conn.settingsAck();
  conn.c.windowUpdate(1, 2);
  await conn.dataFrame(1);
});

h2spec('http2/6.9.2/3', 'RFC 9113 §6.9.2', 'SETTINGS_INITIAL_WINDOW_SIZE of 2^31 draws a connection error FLOW_CONTROL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.send('000006 04 00 00000000 0004 80000000');
  await conn.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
});

h2spec('http2/6.10/1', 'RFC 9113 §6.10', 'HEADERS and several CONTINUATION frames are answered', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true, endHeaders: false });
  conn.continuation(1, false, conn.encode(conn.dummy(1)));
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  await conn.headersFrame(1);
});

h2spec('http2/6.10/2', 'RFC 9113 §6.10', 'CONTINUATION followed by a frame other than CONTINUATION draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')), { endHeaders: false });
  conn.continuation(1, false, conn.encode(conn.dummy(1)));
  conn.data(1, true, 'test');
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.10/3', 'RFC 9113 §6.10', 'CONTINUATION on stream 0 draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true, endHeaders: false });
  conn.continuation(0, true, conn.encode(conn.dummy(1)));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.10/4', 'RFC 9113 §6.10', 'CONTINUATION after HEADERS with END_HEADERS draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true });
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.10/5', 'RFC 9113 §6.10', 'CONTINUATION after CONTINUATION with END_HEADERS draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common()), { endStream: true, endHeaders: false });
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  conn.continuation(1, true, conn.encode(conn.dummy(1)));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/6.10/6', 'RFC 9113 §6.10', 'CONTINUATION after DATA draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')), { endHeaders: false });
  conn.data(1, true, 'test');
  conn.continuation(1, false, conn.encode(conn.dummy(1)));
  conn.continuation(0, true, conn.encode(conn.dummy(1)));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/7/1', 'RFC 9113 §7', 'GOAWAY with an unknown error code triggers nothing special', async (ctx) => {
  const conn = await ready(ctx);
  conn.goaway(0, 0xff, '');
  conn.ping(H2SPEC8);
  await conn.pingAckOrClose(H2SPEC8);
});

h2spec('http2/7/2', 'RFC 9113 §7', 'RST_STREAM with an unknown error code triggers nothing special', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.c.rst(1, 0xff);
  conn.ping(ZERO8);
  await conn.pingAck(ZERO8);
});

h2spec('http2/8.1/1', 'RFC 9113 §8.1', 'a second HEADERS without END_STREAM draws a stream error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.data(1, false, 'test');
  conn.headers(1, conn.encode(['x-test', 'ok']));
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

/** http2/8.1.2.x and 8.1.2.6: malformed requests, each a stream error PROTOCOL_ERROR. */
function malformed(id: string, rfc: string, title: string, fields: (conn: Conn) => Fields): void {
  h2spec(id, rfc, `${title} draws a stream error PROTOCOL_ERROR`, async (ctx) => {
    const conn = await ready(ctx);
    conn.headers(1, conn.encode(fields(conn)), { endStream: true });
    await conn.streamError(ErrorCode.PROTOCOL_ERROR);
  });
}

malformed('http2/8.1.2/1', 'RFC 9113 §8.2.1', 'a field name in uppercase letters', (conn) => [...conn.common(), 'X-TEST', 'ok']);
malformed('http2/8.1.2.1/1', 'RFC 9113 §8.3', 'an unknown pseudo-header field', (conn) => [...conn.common(), ':test', 'ok']);
malformed('http2/8.1.2.1/2', 'RFC 9113 §8.3', 'the response pseudo-header field :status in a request', (conn) => [...conn.common(), ':status', '200']);

h2spec('http2/8.1.2.1/3', 'RFC 9113 §8.3', 'a pseudo-header field in trailers draws a stream error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode(conn.common('POST')));
  conn.data(1, false, 'test');
  // As h2spec: without END_STREAM (which is malformed too).
  conn.headers(1, conn.encode([':method', 'POST']));
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

malformed('http2/8.1.2.1/4', 'RFC 9113 §8.3', 'a pseudo-header field after a regular field', (conn) => ['x-test', 'ok', ...conn.common()]);
malformed('http2/8.1.2.2/1', 'RFC 9113 §8.2.2', 'a connection-specific field (connection)', (conn) => [...conn.common(), 'connection', 'keep-alive']);
malformed('http2/8.1.2.2/2', 'RFC 9113 §8.2.2', 'TE with a value other than "trailers"', (conn) => [...conn.common(), 'trailers', 'test', 'te', 'trailers, deflate']);
malformed('http2/8.1.2.3/1', 'RFC 9113 §8.3.1', 'an empty :path', (conn) => [':method', 'GET', ':scheme', conn.scheme, ':path', '', ':authority', conn.authority]);
// h2spec's own code drops :scheme here as well (it slices its list twice); we omit :method only, as its title says.
malformed('http2/8.1.2.3/2', 'RFC 9113 §8.3.1', 'no :method', (conn) => [':scheme', conn.scheme, ':path', '/', ':authority', conn.authority]);
malformed('http2/8.1.2.3/3', 'RFC 9113 §8.3.1', 'no :scheme', (conn) => [':method', 'GET', ':path', '/', ':authority', conn.authority]);
malformed('http2/8.1.2.3/4', 'RFC 9113 §8.3.1', 'no :path', (conn) => [':method', 'GET', ':scheme', conn.scheme, ':authority', conn.authority]);
malformed('http2/8.1.2.3/5', 'RFC 9113 §8.3.1', 'a duplicated :method', (conn) => [...conn.common(), ':method', 'GET']);
malformed('http2/8.1.2.3/6', 'RFC 9113 §8.3.1', 'a duplicated :scheme', (conn) => [...conn.common(), ':scheme', conn.scheme]);
malformed('http2/8.1.2.3/7', 'RFC 9113 §8.3.1', 'a duplicated :path', (conn) => [...conn.common(), ':path', '/']);

h2spec('http2/8.1.2.6/1', 'RFC 9113 §8.1.1', 'a content-length other than the DATA payload length draws a stream error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode([...conn.common('POST'), 'content-length', '1']));
  conn.data(1, true, 'test');
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/8.1.2.6/2', 'RFC 9113 §8.1.1', 'a content-length other than the sum of the DATA payload lengths draws a stream error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.headers(1, conn.encode([...conn.common('POST'), 'content-length', '1']));
  conn.data(1, false, 'test');
  conn.data(1, true, 'test');
  await conn.streamError(ErrorCode.PROTOCOL_ERROR);
});

h2spec('http2/8.2/1', 'RFC 9113 §8.4', 'PUSH_PROMISE from a client draws a connection error PROTOCOL_ERROR', async (ctx) => {
  const conn = await ready(ctx);
  conn.c.frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.concat([u32(3), conn.encode(conn.common())]));
  await conn.connectionError(ErrorCode.PROTOCOL_ERROR);
});

// ================================================================ hpack: decoding errors are connection errors COMPRESSION_ERROR (RFC 9113 §4.3)

/** The common request's block with `before` in front of it and `after` behind it. */
function compressionError(id: string, rfc: string, title: string, parts: (conn: Conn) => { before?: Buffer; after?: Buffer }): void {
  h2spec(id, rfc, `${title} draws a connection error COMPRESSION_ERROR`, async (ctx) => {
    const conn = await ready(ctx);
    const { before = Buffer.alloc(0), after = Buffer.alloc(0) } = parts(conn);
    conn.headers(1, Buffer.concat([before, conn.encode(conn.common()), after]), { endStream: true });
    await conn.connectionError(ErrorCode.COMPRESSION_ERROR);
  });
}

compressionError('hpack/2.3.3/1', 'RFC 7541 §2.3.3', 'an indexed field with an index beyond both tables (70)', () => ({ after: hex('c6') }));
compressionError('hpack/2.3.3/2', 'RFC 7541 §2.3.3', 'a literal field whose name index is beyond both tables (70)', () => ({ after: hex('7f0700') }));
compressionError('hpack/4.2/1', 'RFC 7541 §4.2', 'a dynamic table size update at the end of the block', () => ({ after: hex('21') }));
compressionError('hpack/5.2/1', 'RFC 7541 §5.2', 'a Huffman string with more than 7 bits of padding', () => ({ after: hex('0085f2b24a84ff84 49509fff') }));
compressionError('hpack/5.2/2', 'RFC 7541 §5.2', 'a Huffman string padded with zeros', () => ({ after: hex('0085f2b24a84ff83 495090') }));
compressionError('hpack/5.2/3', 'RFC 7541 §5.2', 'a Huffman string that contains EOS', () => ({ after: hex('0085f2b24a84ff87 4951fffffffa7f') }));
compressionError('hpack/6.1/1', 'RFC 7541 §6.1', 'an indexed field with index 0', () => ({ after: hex('80') }));
compressionError('hpack/6.3/1', 'RFC 7541 §6.3', 'a dynamic table size update above SETTINGS_HEADER_TABLE_SIZE', (conn) => ({
  before: hpackInt((conn.c.serverSettings.get(SettingId.HEADER_TABLE_SIZE) ?? 4096) + 1, 5, 0x20),
}));

// ================================================================ the run, on both engines

/**
 * Where node:http2 (nghttp2, which we do not control) does otherwise than h2spec accepts: `todo`
 * on that engine, with what it does instead. NGI's own engine has none: a failure there is a bug
 * of src/h2/ to fix.
 */
const NODE_GOAWAY_INTERNAL = (code: string): string =>
  `node:http2 turns the protocol error nghttp2 reports into a session error and destroys the session: GOAWAY INTERNAL_ERROR, not ${code}`;
const NODE_IGNORES = (what: string): string => `nghttp2 ignores ${what}: no RST_STREAM, no GOAWAY, the connection stays open`;
const NODE_TODO = new Map<string, string>([
  ['http2/3.5/2', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/5.1/2', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/5.1/3', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/5.1/6', NODE_GOAWAY_INTERNAL('STREAM_CLOSED')],
  ['http2/5.1/8', NODE_IGNORES('DATA on a stream the client reset')],
  ['http2/5.1/9', NODE_IGNORES('HEADERS on a stream the client reset')],
  ['http2/5.1/11', NODE_IGNORES('DATA on a closed stream')],
  ['http2/5.1/12', NODE_IGNORES('HEADERS on a closed stream')],
  ['http2/5.1.1/1', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/5.1.1/2', NODE_IGNORES('HEADERS on a stream id below the last one (it takes it for a closed stream)')],
  ['http2/5.1.2/1', 'nghttp2 takes a stream beyond the acknowledged limit for a connection error, and node:http2 then resets every stream with INTERNAL_ERROR and sends GOAWAY INTERNAL_ERROR, not REFUSED_STREAM or PROTOCOL_ERROR'],
  ['http2/5.3.1/1', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/5.3.1/2', NODE_IGNORES('PRIORITY frames unchecked under SETTINGS_NO_RFC7540_PRIORITIES (a self-dependency too)')],
  ['http2/6.2/3', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.3/1', NODE_IGNORES('PRIORITY frames unchecked under SETTINGS_NO_RFC7540_PRIORITIES (stream 0 too)')],
  ['http2/6.4/1', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.4/2', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.5/2', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.5.2/1', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.5.2/2', NODE_GOAWAY_INTERNAL('FLOW_CONTROL_ERROR')],
  ['http2/6.5.2/3', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.5.2/4', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.7/2', 'node:http2 takes a PING ACK it did not ask for as a protocol error: GOAWAY INTERNAL_ERROR and close, instead of answering the next PING'],
  ['http2/6.7/3', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.8/1', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.9/1', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.9/2', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  ['http2/6.9.1/2', NODE_GOAWAY_INTERNAL('FLOW_CONTROL_ERROR')],
  ['http2/6.9.2/3', NODE_GOAWAY_INTERNAL('FLOW_CONTROL_ERROR')],
  ['http2/8.2/1', NODE_GOAWAY_INTERNAL('PROTOCOL_ERROR')],
  // Node 20 answers these three as h2spec wants; Node 24 answers GOAWAY
  // INTERNAL_ERROR (22 was not measured). A line that conforms shows them as passing todos.
  ...(Number(process.versions.node.split('.')[0]) >= 22
    ? ([
        ['http2/6.9.1/3', NODE_GOAWAY_INTERNAL('RST_STREAM FLOW_CONTROL_ERROR (Node 22+)')],
        ['http2/8.1.2.6/1', NODE_GOAWAY_INTERNAL('RST_STREAM PROTOCOL_ERROR (Node 22+)')],
        ['http2/8.1.2.6/2', NODE_GOAWAY_INTERNAL('RST_STREAM PROTOCOL_ERROR (Node 22+)')],
      ] as const)
    : []),
]);

for (const engine of ['node', 'ngi'] as const) {
  // Cases run side by side (each on its own connection): the ones that wait out WAIT do so together.
  describe(`h2spec on the ${engine} HTTP/2 engine`, { concurrency: 8 }, () => {
    let plain: ServerHandle;
    let secure: ServerHandle;
    before(async () => {
      plain = await startServer(h2specApp, { http2Engine: engine, timeouts: { drain: 1000 } });
      secure = await startServer(h2specApp, { http2Engine: engine, tls: testCertificate(), timeouts: { drain: 1000 } });
    });
    after(async () => {
      await Promise.all([plain?.close(), secure?.close()]);
    });

    for (const c of cases) {
      const todo = engine === 'node' ? NODE_TODO.get(c.id) : undefined;
      test(`h2spec ${c.id} (${c.rfc}): ${c.title}`, { todo }, async () => {
        const clients: H2FrameClient[] = [];
        const connect = async (server: ServerHandle, tls: boolean): Promise<Conn> => {
          const port = portOf(server.url);
          const client = await H2FrameClient.connect(port, { tls, preface: false });
          clients.push(client);
          return new Conn(client, tls ? 'https' : 'http', `127.0.0.1:${port}`);
        };
        try {
          await c.run({ open: () => connect(plain, false), openTls: () => connect(secure, true) });
        } finally {
          for (const client of clients) client.destroy();
        }
      });
    }
  });
}

test('h2spec: every case of the default run is here (146: generic 44, http2 94, hpack 8), each id once', () => {
  const ids = cases.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  const count = (prefix: string): number => ids.filter((id) => id.startsWith(`${prefix}/`)).length;
  assert.deepEqual({ generic: count('generic'), http2: count('http2'), hpack: count('hpack') }, { generic: 44, http2: 94, hpack: 8 });
});
