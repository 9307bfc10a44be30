/**
 * Differential fuzzing of NGI's WebSocket frame reader (src/ws/frame-reader.ts, FrameReader)
 * against ws's Receiver (ws 8, the framing NGI runs on by default), on the SAME bytes: client
 * frame streams generated with a seeded PRNG (a fixed seed by default, so a failure names its
 * seed and reproduces), valid ones and mutated ones, plus a hand-written table of edge cases.
 *
 * ws's side: `new Receiver({ isServer: true, maxPayload, allowSynchronousEvents: true,
 * skipUTF8Validation: false })`, no extension, the way ws's WebSocketServer sets it up;
 * maxPayload is FrameReader's maxMessageSize. Every event comes synchronously from write();
 * ws's refusal is read at once from `receiver.errored` (the 'error' event follows on the next
 * tick): its `.code` (WS_ERR_*) and its close code, stored under ws's private
 * `Symbol('status-code')` (kStatusCode in ws/lib/constants.js, not exported: found by its
 * description). A Close frame is ws's 'conclude' (code, reason Buffer), after which ws ends the
 * stream and reads nothing more, so nothing more is written to it.
 *
 * NGI's side: FrameReader with a recording sink; in some runs the sink calls pause() on random
 * events and the driver calls pause()/resume() between chunks, which must not change anything.
 *
 * Each input is fed to both whole and in several chunkings (random cuts, cuts around frame
 * boundaries, sometimes one byte at a time), each reader getting its own copy (both unmask in
 * place). For each chunking, these must be identical, or the test fails with the seed, the
 * chunking and the hex of the input:
 * - the events in order: messages (bytes and binary flag), pings, pongs (payloads), the close
 *   (code and reason);
 * - the verdict: accepted (waiting for more bytes, or closed by a Close frame) or refused, with
 *   the WS_ERR_* code (NGI's codes are ws's on purpose) and the close code 1002/1007/1009.
 * NGI's `done` must also be true exactly when it closed or refused.
 *
 * Allowed differences: none. No class of input has been found where ws is wrong and NGI right
 * per RFC 6455; if one is, it is listed here, with its RFC section, and excused by name only.
 * Found and fixed in NGI: a frame whose length is over maxMessageSize (or above 2^53 - 1) was
 * refused only once its 4-byte mask key had arrived too; ws refuses it as soon as the length
 * bytes are in (input ending between the two: ws 1009, NGI still waiting). See the table's
 * "no mask yet" entries.
 *
 * NGI_WS_FUZZ_SEED (a number) and NGI_WS_FUZZ_CASES explore other seeds and more cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { FrameReader, type FrameSink } from '../../src/ws/frame-reader.ts';
import { WsFrameError, type WsFrameErrorCode } from '../../src/ws/errors.ts';
import { Rng } from '../helpers/rng.ts';
import { frame } from '../helpers/ws-frame.ts';

const DEFAULT_CASES = 3000;
const FUZZ_CASES = process.env.NGI_WS_FUZZ_CASES !== undefined ? Number(process.env.NGI_WS_FUZZ_CASES) : DEFAULT_CASES;
/** The fixed seed CI runs; NGI_WS_FUZZ_SEED (a number) explores others, NGI_WS_FUZZ_CASES runs more cases. */
const FUZZ_SEED = process.env.NGI_WS_FUZZ_SEED !== undefined ? Number(process.env.NGI_WS_FUZZ_SEED) >>> 0 : 0x5eed_b0a7;
/** Differences reported in full before the test gives up listing them. */
const MAX_REPORTED = 8;
/** Inputs up to this size are printed in hex in a failure; larger ones go to a file. */
const MAX_PRINTED_BYTES = 16 * 1024;

/** Every refusal FrameReader can make: each must be seen (and agreed on) in the default run. */
const ALL_CODES: readonly WsFrameErrorCode[] = [
  'WS_ERR_UNEXPECTED_RSV_1',
  'WS_ERR_UNEXPECTED_RSV_2_3',
  'WS_ERR_INVALID_OPCODE',
  'WS_ERR_EXPECTED_FIN',
  'WS_ERR_EXPECTED_MASK',
  'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
  'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  'WS_ERR_INVALID_UTF8',
  'WS_ERR_INVALID_CLOSE_CODE',
];

// ---------------------------------------------------------------------------------------------
// The two readers

const require = createRequire(import.meta.url);

interface WsReceiverOptions {
  isServer: boolean;
  maxPayload: number;
  allowSynchronousEvents: boolean;
  skipUTF8Validation: boolean;
}
/** ws's Receiver (lib/receiver.js): a Writable; @types/ws does not declare it. */
type WsReceiver = Writable;
const { Receiver } = require('ws') as { Receiver: new (options: WsReceiverOptions) => WsReceiver };

/** One event: kind and payload hex; a close is its code and its reason's hex. */
type Event = string;
interface Outcome {
  events: Event[];
  /** undefined: accepted so far (open, or closed by a Close frame). */
  error: { code: string; closeCode: number } | undefined;
  closed: boolean;
}

const ev = (kind: string, data: Buffer): Event => `${kind}:${data.toString('hex')}`;

function statusCodeOf(error: Error): number | undefined {
  const symbol = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
  const value = symbol === undefined ? undefined : (error as unknown as Record<symbol, unknown>)[symbol];
  return typeof value === 'number' ? value : undefined;
}

function runWs(chunks: readonly Buffer[], maxMessageSize: number): Outcome {
  const receiver = new Receiver({ isServer: true, maxPayload: maxMessageSize, allowSynchronousEvents: true, skipUTF8Validation: false });
  const events: Event[] = [];
  let closed = false;
  receiver.on('message', (data: Buffer, isBinary: boolean) => events.push(ev(isBinary ? 'binary' : 'text', data)));
  receiver.on('ping', (data: Buffer) => events.push(ev('ping', data)));
  receiver.on('pong', (data: Buffer) => events.push(ev('pong', data)));
  receiver.on('conclude', (code: number, reason: Buffer) => {
    events.push(`close:${code}:${reason.toString('hex')}`);
    closed = true;
  });
  receiver.on('error', () => {}); // read synchronously from receiver.errored below
  for (const chunk of chunks) {
    if (closed || receiver.errored) break;
    receiver.write(Buffer.from(chunk));
  }
  const error = receiver.errored as (Error & { code?: unknown }) | null;
  if (error === null) return { events, error: undefined, closed };
  const closeCode = statusCodeOf(error);
  // Read ws's verdict, or fail: a missing code must not compare equal to a missing code.
  assert.ok(typeof error.code === 'string' && closeCode !== undefined, `ws's error has no code or status code: ${String(error)}`);
  return { events, error: { code: error.code, closeCode }, closed };
}

/** A PRNG-driven pause()/resume() schedule for NGI's reader; none when undefined. */
function runNgi(chunks: readonly Buffer[], maxMessageSize: number, pauses?: Rng): Outcome & { doneOk: boolean } {
  const events: Event[] = [];
  let closed = false;
  let paused = false;
  const maybePause = (): void => {
    if (pauses !== undefined && pauses.chance(0.4)) {
      paused = true;
      reader.pause();
    }
  };
  const sink: FrameSink = {
    onMessage(data, binary) {
      events.push(ev(binary ? 'binary' : 'text', data));
      maybePause();
    },
    onPing(payload) {
      events.push(ev('ping', payload));
      maybePause();
    },
    onPong(payload) {
      events.push(ev('pong', payload));
      maybePause();
    },
    onClose(code, reason) {
      events.push(`close:${code}:${Buffer.from(reason, 'utf8').toString('hex')}`);
      closed = true;
      maybePause();
    },
  };
  const reader = new FrameReader(sink, maxMessageSize);
  let error: Outcome['error'];
  try {
    for (const chunk of chunks) {
      if (pauses !== undefined) {
        if (!paused && pauses.chance(0.3)) {
          paused = true;
          reader.pause();
        } else if (paused && pauses.chance(0.6)) {
          paused = false;
          reader.resume();
        }
      }
      reader.push(Buffer.from(chunk));
    }
    // Resume until everything kept has been handed out (the sink may pause again each time).
    for (let i = 0; paused && i < 1_000_000; i++) {
      paused = false;
      reader.resume();
    }
  } catch (e) {
    error = e instanceof WsFrameError ? { code: e.code, closeCode: e.closeCode } : { code: `CRASH ${String(e)}`, closeCode: -1 };
  }
  const doneOk = reader.done === (closed || error !== undefined);
  return { events, error, closed, doneOk };
}

// ---------------------------------------------------------------------------------------------
// Generation

interface Spec {
  fin: boolean;
  /** RSV1-3: the 0x70 bits of the first byte. */
  rsv: number;
  opcode: number;
  masked: boolean;
  key: Buffer;
  payload: Buffer;
  /** The length form; 'min' is the smallest that fits (§5.2), the others may be non-minimal. */
  form: 'min' | 16 | 64;
  /** A 64-bit length written in place of the payload's: the frame is misframed on purpose. */
  announce?: bigint;
}

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 0x7fff, 0xffff];
const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xc2],
  [0xe0, 0x80, 0x80],
  [0xe0, 0x9f, 0xbf],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf0, 0x80, 0x80, 0x80],
  [0xf0, 0x8f, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80],
  [0xc3, 0x28],
];
/** Valid but at the edges: U+0000, U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFE, U+FFFF, U+10000, U+10FFFF. */
const EDGE_UTF8: readonly number[][] = [
  [0x00],
  [0x7f],
  [0xc2, 0x80],
  [0xdf, 0xbf],
  [0xe0, 0xa0, 0x80],
  [0xed, 0x9f, 0xbf],
  [0xee, 0x80, 0x80],
  [0xef, 0xbf, 0xbe],
  [0xef, 0xbf, 0xbf],
  [0xf0, 0x90, 0x80, 0x80],
  [0xf4, 0x8f, 0xbf, 0xbf],
];
const HIGH_LENGTHS = [2n ** 16n, 2n ** 31n, 2n ** 32n, 2n ** 32n + 5n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n, 2n ** 64n - 1n, 1001n, 1000n, 999n];

/** UTF-8 text of exactly `n` bytes, with 1- to 4-byte characters. */
function randomText(rng: Rng, n: number): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const r = rng.next();
    let cp: number;
    if (r < 0.6) cp = 0x20 + rng.int(0x5f);
    else if (r < 0.75) cp = 0x80 + rng.int(0x780);
    else if (r < 0.9) {
      cp = 0x800 + rng.int(0xf800);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000;
    } else cp = 0x10000 + rng.int(0x100000);
    let b = Buffer.from(String.fromCodePoint(cp), 'utf8');
    if (length + b.length > n) b = Buffer.from('a'.repeat(n - length));
    parts.push(b);
    length += b.length;
  }
  return Buffer.concat(parts, n);
}

/** A message length, aimed at the length forms' edges and, for a small limit, at the limit. */
function messageLength(rng: Rng, max: number): number {
  if (max <= 1000 && rng.chance(0.6)) return rng.pick([0, 1, 125, 126, 500, 998, 999, 1000, 1001, 1002, 1100, rng.int(1100)]);
  const r = rng.next();
  if (r < 0.6) return rng.int(141);
  if (r < 0.8) return 120 + rng.int(200);
  if (r < 0.97) return rng.pick([125, 126, 127, 255, 256, 1000, 1024, 4096, 16384, 16385]);
  return rng.pick([65535, 65536, 65537, 40000 + rng.int(30000)]);
}

function newKey(rng: Rng): Buffer {
  return rng.chance(0.05) ? Buffer.alloc(4) : rng.bytes(4);
}

function spec(rng: Rng, opcode: number, payload: Buffer, fin = true): Spec {
  return { fin, rsv: 0, opcode, masked: true, key: newKey(rng), payload, form: rng.chance(0.08) ? rng.pick([16, 64] as const) : 'min' };
}

function controlFrame(rng: Rng): Spec {
  const n = rng.chance(0.3) ? 0 : rng.chance(0.2) ? 125 : rng.int(126);
  const s = spec(rng, rng.chance(0.5) ? 0x9 : 0xa, rng.chance(0.5) ? randomText(rng, n) : rng.bytes(n));
  s.form = 'min';
  return s;
}

function closeFrame(rng: Rng): Spec {
  const r = rng.next();
  let payload: Buffer;
  if (r < 0.2) payload = Buffer.alloc(0);
  else {
    payload = Buffer.alloc(2);
    payload.writeUInt16BE(rng.pick(VALID_CODES));
    if (r > 0.45) payload = Buffer.concat([payload, randomText(rng, rng.chance(0.15) ? 123 : rng.int(60))]);
  }
  const s = spec(rng, 0x8, payload);
  s.form = 'min';
  return s;
}

/** A valid stream: messages (some fragmented, control frames between fragments), maybe a Close and more after it. */
function validStream(rng: Rng, max: number): Spec[] {
  const frames: Spec[] = [];
  const messages = rng.int(4) + (rng.chance(0.8) ? 1 : 0);
  for (let m = 0; m < messages; m++) {
    if (rng.chance(0.2)) frames.push(controlFrame(rng));
    const binary = rng.chance(0.5);
    const n = messageLength(rng, max);
    const payload = binary ? rng.bytes(n) : randomText(rng, n);
    const pieces = rng.chance(0.4) ? 2 + rng.int(4) : 1;
    // Cuts anywhere, a character's middle included; equal cuts make empty fragments.
    const cuts = Array.from({ length: pieces - 1 }, () => rng.int(n + 1)).sort((a, b) => a - b);
    let from = 0;
    for (let i = 0; i < pieces; i++) {
      const to = i < pieces - 1 ? cuts[i]! : n;
      frames.push(spec(rng, i === 0 ? (binary ? 0x2 : 0x1) : 0x0, payload.subarray(from, to), i === pieces - 1));
      from = to;
      if (i < pieces - 1 && rng.chance(0.35)) frames.push(controlFrame(rng));
    }
  }
  if (rng.chance(0.2)) frames.push(controlFrame(rng));
  if (rng.chance(0.45)) {
    frames.push(closeFrame(rng));
    if (rng.chance(0.5)) frames.push(spec(rng, 0x1, randomText(rng, rng.int(20))));
    if (rng.chance(0.3)) frames.push(controlFrame(rng));
  }
  return frames;
}

interface Serialized {
  bytes: Buffer;
  /** Where each frame's head starts and ends (the mask key included), for header mutations. */
  heads: Array<[number, number]>;
  /** Where each frame starts, and the end. */
  bounds: number[];
}

function serialize(frames: readonly Spec[]): Serialized {
  const parts: Buffer[] = [];
  const heads: Array<[number, number]> = [];
  const bounds: number[] = [];
  let at = 0;
  for (const f of frames) {
    const n = f.payload.length;
    // A fixed length form only where the length fits it; the smallest form otherwise.
    const form = f.form === 'min' || n >= 65536 ? undefined : f.form;
    const bytes = frame(f.opcode & 0x0f, f.payload, { fin: f.fin, rsv: f.rsv & 0x70, mask: f.masked, key: f.key, form, announce: f.announce });
    bounds.push(at);
    heads.push([at, at + bytes.length - n]);
    parts.push(bytes);
    at += bytes.length;
  }
  bounds.push(at);
  return { bytes: Buffer.concat(parts), heads, bounds };
}

function insertAt(payload: Buffer, at: number, seq: readonly number[]): Buffer {
  return Buffer.concat([payload.subarray(0, at), Buffer.from(seq), payload.subarray(at)]);
}

/** One mutation of the frames; returns its name. */
function mutateFrames(rng: Rng, frames: Spec[], config: { max: number }): string {
  if (frames.length === 0) frames.push(spec(rng, 0x1, randomText(rng, 3)));
  const i = rng.int(frames.length);
  const f = frames[i]!;
  switch (rng.int(16)) {
    case 0:
      f.rsv = rng.pick([0x40, 0x20, 0x10, 0x30, 0x50, 0x60, 0x70]);
      return `rsv 0x${f.rsv.toString(16)} on frame ${i}`;
    case 1:
      f.opcode = rng.int(16);
      return `opcode ${f.opcode} on frame ${i}`;
    case 2:
      f.fin = !f.fin;
      return `fin ${f.fin} on frame ${i}`;
    case 3:
      f.masked = false;
      return `unmasked frame ${i}`;
    case 4: {
      const text = frames.filter((x) => x.opcode === 0x1 || x.opcode === 0x0 || (x.opcode === 0x8 && x.payload.length >= 2));
      const t = text.length > 0 ? rng.pick(text) : f;
      const min = t.opcode === 0x8 ? 2 : 0;
      const seq = rng.pick(INVALID_UTF8);
      t.payload = insertAt(t.payload, min + rng.int(t.payload.length - min + 1), seq);
      return `invalid UTF-8 ${Buffer.from(seq).toString('hex')} in frame ${frames.indexOf(t)}`;
    }
    case 5: {
      const seq = rng.pick(EDGE_UTF8);
      const min = f.opcode === 0x8 && f.payload.length >= 2 ? 2 : 0;
      f.payload = insertAt(f.payload, min + rng.int(f.payload.length - min + 1), seq);
      return `edge UTF-8 ${Buffer.from(seq).toString('hex')} in frame ${i}`;
    }
    case 6: {
      const c = closeFrame(rng);
      if (c.payload.length < 2) c.payload = Buffer.alloc(2);
      const code = rng.chance(0.7) ? rng.pick(INVALID_CODES) : rng.pick(VALID_CODES);
      c.payload.writeUInt16BE(code);
      frames.splice(i, 0, c);
      return `close code ${code} at ${i}`;
    }
    case 7: {
      const c = closeFrame(rng);
      const kind = rng.int(3);
      c.payload = kind === 0 ? rng.bytes(1) : kind === 1 ? Buffer.concat([Buffer.from([0x03, 0xe8]), randomText(rng, 124)]) : Buffer.concat([Buffer.from([0x03, 0xe8]), rng.bytes(1 + rng.int(8))]);
      frames.splice(i, 0, c);
      return `close payload of ${c.payload.length} bytes (${['1 byte', 'too long', 'random reason'][kind]}) at ${i}`;
    }
    case 8: {
      const c = controlFrame(rng);
      const kind = rng.int(3);
      if (kind === 0) c.payload = rng.bytes(126 + rng.int(5));
      else c.form = kind === 1 ? 16 : 64;
      frames.splice(i, 0, c);
      return `control frame ${kind === 0 ? `of ${c.payload.length} bytes` : `with a ${c.form}-bit length`} at ${i}`;
    }
    case 9:
      f.form = rng.pick([16, 64] as const);
      return `non-minimal ${f.form}-bit length on frame ${i}`;
    case 10:
      f.announce = rng.pick(HIGH_LENGTHS);
      return `64-bit length ${f.announce} on frame ${i}`;
    case 11:
      config.max = 1000;
      return 'maxMessageSize 1000';
    case 12: {
      const j = rng.int(frames.length);
      frames.splice(j, 0, { ...frames[i]!, key: newKey(rng) });
      return `frame ${i} repeated at ${j}`;
    }
    case 13:
      frames.splice(i, 1);
      return `frame ${i} dropped`;
    case 14: {
      const j = rng.int(frames.length);
      frames[i] = frames[j]!;
      frames[j] = f;
      return `frames ${i} and ${j} swapped`;
    }
    default: {
      const n = rng.pick([999, 1000, 1001, 126, 65536]);
      f.payload = f.opcode === 0x2 || rng.chance(0.5) ? rng.bytes(n) : randomText(rng, n);
      return `frame ${i} payload of ${n} bytes`;
    }
  }
}

/** One mutation of the bytes; returns its name. */
function mutateBytes(rng: Rng, s: Serialized): string {
  const b = s.bytes;
  if (b.length === 0) {
    s.bytes = rng.bytes(1 + rng.int(4));
    return 'random bytes';
  }
  // Heads are where the frames were; after an earlier byte mutation, roughly.
  const heads = s.heads.length > 0 ? s.heads : [[0, b.length] as [number, number]];
  switch (rng.int(6)) {
    case 0:
    case 1: {
      const [from, to] = rng.pick(heads);
      const at = Math.min(from + rng.int(to - from), b.length - 1);
      const bit = rng.int(8);
      b[at] = b[at]! ^ (1 << bit);
      return `bit ${bit} of header byte ${at} flipped`;
    }
    case 2: {
      const at = rng.int(b.length);
      b[at] = b[at]! ^ (1 << rng.int(8));
      return `bit of byte ${at} flipped`;
    }
    case 3: {
      // Often inside a frame's head: between its length and its mask, say.
      const [from, to] = rng.pick(heads);
      const at = rng.chance(0.5) ? from + 1 + rng.int(to - from) : rng.int(b.length);
      s.bytes = b.subarray(0, Math.min(at, b.length));
      return `truncated at ${s.bytes.length}`;
    }
    case 4: {
      const at = rng.int(b.length + 1);
      s.bytes = Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(3)), b.subarray(at)]);
      return `bytes inserted at ${at}`;
    }
    default: {
      const at = rng.int(b.length);
      s.bytes = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(3))]);
      return `bytes deleted at ${at}`;
    }
  }
}

interface Case {
  name: string;
  seed: number;
  bytes: Buffer;
  max: number;
  /** Chunkings, each as ascending cut offsets; [] is the whole input. */
  chunkings: Array<{ name: string; cuts: number[]; pauses: boolean }>;
  /** What was generated, for the coverage counts. */
  tags: Set<string>;
}

function randomCuts(rng: Rng, length: number, n: number): number[] {
  if (length < 2) return [];
  return [...new Set(Array.from({ length: n }, () => 1 + rng.int(length - 1)))].sort((a, b) => a - b);
}

function fuzzCase(seed: number, k: number): Case {
  const caseSeed = (seed + Math.imul(k, 0x85ebca6b)) >>> 0;
  const rng = new Rng(caseSeed);
  const config = { max: rng.chance(0.2) ? 1000 : rng.chance(0.1) ? 65536 : 1 << 20 };
  const frames = validStream(rng, config.max);
  const steps: string[] = [];
  const tags = new Set<string>();
  const mutated = k % 4 !== 0;
  if (mutated) {
    const n = 1 + rng.int(3);
    for (let m = 0; m < n; m++) {
      if (rng.chance(0.7)) steps.push(mutateFrames(rng, frames, config));
    }
  }
  for (const f of frames) {
    const n = f.payload.length;
    if (f.announce === undefined) tags.add(f.form === 'min' ? (n < 126 ? 'len7' : n < 65536 ? 'len16' : 'len64') : n < (f.form === 16 ? 126 : 65536) ? 'nonminimal' : `len${f.form}`);
    if (f.opcode === 0x0) tags.add('fragmented');
  }
  const s = serialize(frames);
  if (mutated && (steps.length === 0 || rng.chance(0.4))) {
    const n = 1 + rng.int(2);
    for (let m = 0; m < n; m++) steps.push(mutateBytes(rng, s));
  }
  const bytes = s.bytes;
  const chunkings: Case['chunkings'] = [
    { name: 'whole', cuts: [], pauses: false },
    { name: 'random cuts', cuts: randomCuts(rng, bytes.length, 1 + rng.int(6)), pauses: false },
  ];
  const around = s.bounds.map((b) => b + rng.int(4) - 1).filter((c) => c > 0 && c < bytes.length);
  chunkings.push({ name: 'cuts around frame boundaries, pause()/resume()', cuts: [...new Set(around)].sort((a, b) => a - b), pauses: true });
  if (bytes.length <= 600 && rng.chance(0.15)) {
    chunkings.push({ name: 'one byte at a time', cuts: Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1), pauses: rng.chance(0.5) });
  }
  return { name: `fuzz #${k} (case seed 0x${caseSeed.toString(16)}: ${steps.join(', ') || 'unmutated'})`, seed: caseSeed, bytes, max: config.max, chunkings, tags };
}

// ---------------------------------------------------------------------------------------------
// Hand-written edge cases (hex, masked with 00000000 unless the mask is the point)

const M = '00000000';
const TABLE: ReadonlyArray<readonly [string, string, number?]> = [
  ['text "hello", 7-bit length', `8185${M}68656c6c6f`],
  ['text "hello", non-minimal 16-bit length (126 for 5 bytes)', `81fe0005${M}68656c6c6f`],
  ['text "hello", non-minimal 64-bit length', `81ff0000000000000005${M}68656c6c6f`],
  ['binary, 64-bit length 0', `82ff0000000000000000${M}`],
  ['64-bit length 2^53 - 1, limit 1000', `82ff001fffffffffffff${M}`, 1000],
  ['64-bit length 2^53', `82ff0020000000000000${M}`],
  ['64-bit length 2^63', `82ff8000000000000000${M}`],
  ['16-bit length over the limit, no mask yet', '82fe1000', 1000],
  ['64-bit length 2^53, no mask yet', '82ff0020000000000000'],
  ['64-bit length over the limit, no mask yet', '81ff0000000000001000', 1000],
  ['continuation over the limit, no mask yet', `0264${M}${'00'.repeat(100)}80fe0400`, 1000],
  ['ping 125 bytes', `89fd${M}${'aa'.repeat(125)}`],
  ['ping 126 bytes (16-bit)', `89fe007e${M}${'aa'.repeat(126)}`],
  ['ping with a non-minimal 16-bit length', `89fe0001${M}aa`],
  ['close 1-byte payload', `8881${M}03`],
  ['close, no payload', `8880${M}`],
  ['close 1000 "ok"', `8884${M}03e86f6b`],
  ['close 1005', `8882${M}03ed`],
  ['close 999', `8882${M}03e7`],
  ['close 4999', `8882${M}1387`],
  ['close 5000', `8882${M}1388`],
  ['close reason invalid UTF-8', `8883${M}03e8ff`],
  ['close reason U+FFFF', `8885${M}03e8efbfbf`],
  ['close then a reserved opcode', `8880${M}83`],
  ['close FIN clear', `0880${M}`],
  ['pong FIN clear', `0a80${M}`],
  ['RSV1 on a ping', `c980${M}`],
  ['RSV2 on text', `a180${M}`],
  ['RSV3 on a continuation', `0181${M}61` + `9080${M}`],
  ['opcode 3', `8380${M}`],
  ['opcode 0xb', `8b80${M}`],
  ['continuation without a start', `8080${M}`],
  ['text inside a fragmented message', `0181${M}61` + `8181${M}62`],
  ['unmasked text', '810161'],
  ['unmasked continuation', `0181${M}61` + '800162'],
  ['text "é" split across fragments', `0181${M}c3` + `8081${M}a9`],
  ['text ending inside a character', `0181${M}c3` + `8080${M}`],
  ['surrogate U+D800', `8183${M}eda080`],
  ['overlong NUL', `8182${M}c080`],
  ['U+10FFFF', `8184${M}f48fbfbf`],
  ['above U+10FFFF', `8184${M}f4908080`],
  ['invalid UTF-8 in a 30-byte text', `819e${M}${'61'.repeat(29)}ff`],
  ['masked "Hello" (RFC 6455 §5.7)', '818537fa213d7f9f4d5158'],
  ['§5.7\'s unmasked fragmented "Hel" "lo" with a ping between (a server refuses it)', '010348656c' + '8905' + '48656c6c6f' + '80026c6f'],
  ['fragmented, masked, with a ping between', `0183${M}48656c` + `8985${M}48656c6c6f` + `8082${M}6c6f`],
  ['two messages of 600 under limit 1000', `82fe0258${M}${'00'.repeat(600)}82fe0258${M}${'00'.repeat(600)}`, 1000],
  ['fragments 600 + 401 over limit 1000', `02fe0258${M}${'00'.repeat(600)}80fe0191${M}${'00'.repeat(401)}`, 1000],
];

function tableCases(): Case[] {
  return TABLE.map(([name, hex, max]) => {
    const bytes = Buffer.from(hex, 'hex');
    const chunkings: Case['chunkings'] = [{ name: 'whole', cuts: [], pauses: false }];
    for (let at = 1; at < bytes.length; at++) chunkings.push({ name: `cut at ${at}`, cuts: [at], pauses: at % 2 === 0 });
    chunkings.push({ name: 'one byte at a time', cuts: Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1), pauses: false });
    return { name: `table: ${name}`, seed: 0, bytes, max: max ?? 1 << 20, chunkings, tags: new Set<string>() };
  });
}

// ---------------------------------------------------------------------------------------------
// Running and comparing

function describeOutcome(o: Outcome): string {
  const events = o.events.map((e) => (e.length > 90 ? `${e.slice(0, 80)}…(${e.length} chars)` : e));
  return `[${events.join(', ')}] then ${o.error === undefined ? (o.closed ? 'closed' : 'open') : `refused ${o.error.code} ${o.error.closeCode}`}`;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.events.length !== b.events.length || a.closed !== b.closed) return false;
  for (let i = 0; i < a.events.length; i++) if (a.events[i] !== b.events[i]) return false;
  return a.error?.code === b.error?.code && a.error?.closeCode === b.error?.closeCode;
}

function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(from, to));
    from = to;
  }
  return chunks;
}

function showInput(c: Case): string {
  if (c.bytes.length <= MAX_PRINTED_BYTES) return c.bytes.toString('hex');
  const file = path.join(tmpdir(), `ngi-ws-fuzz-${c.seed.toString(16)}.hex`);
  writeFileSync(file, c.bytes.toString('hex'));
  return `${c.bytes.subarray(0, 256).toString('hex')}… (${c.bytes.length} bytes; all of it in ${file})`;
}

interface Report {
  cases: number;
  runs: number;
  differences: string[];
  /** ws's verdicts, by kind: 'open', 'closed', or the WS_ERR_* code. */
  verdicts: Map<string, number>;
  /** Coverage of what was generated and accepted. */
  coverage: Map<string, number>;
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function runCases(cases: readonly Case[], reproduce: (c: Case) => string): Report {
  const report: Report = { cases: 0, runs: 0, differences: [], verdicts: new Map(), coverage: new Map() };
  for (const c of cases) {
    report.cases++;
    let first: Outcome | undefined;
    for (const chunking of c.chunkings) {
      report.runs++;
      const chunks = chunksOf(c.bytes, chunking.cuts);
      const ws = runWs(chunks, c.max);
      const ngi = runNgi(chunks, c.max, chunking.pauses ? new Rng(c.seed ^ 0xa5a5a5a5 ^ chunking.cuts.length) : undefined);
      first ??= ws;
      const differs = !sameOutcome(ws, ngi);
      if ((differs || !ngi.doneOk) && report.differences.length < MAX_REPORTED) {
        report.differences.push(
          [
            `${c.name}, chunking "${chunking.name}" [${chunking.cuts.join(',')}], maxMessageSize ${c.max}:`,
            `  input (${c.bytes.length} bytes): ${showInput(c)}`,
            `  ws:  ${describeOutcome(ws)}`,
            `  NGI: ${describeOutcome(ngi)}${ngi.doneOk ? '' : ' (and FrameReader.done is wrong)'}`,
            `  reproduce: ${reproduce(c)}`,
          ].join('\n'),
        );
      } else if (differs || !ngi.doneOk) report.differences.push('(more)');
    }
    const verdict = first!.error?.code ?? (first!.closed ? 'closed' : 'open');
    count(report.verdicts, verdict);
    if (first!.error === undefined) {
      count(report.coverage, 'accepted');
      for (const tag of c.tags) count(report.coverage, `accepted with ${tag}`);
      for (const e of first!.events) count(report.coverage, `event ${e.slice(0, e.indexOf(':'))}`);
    }
  }
  return report;
}

function summary(report: Report): string[] {
  const sorted = (m: Map<string, number>): string => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
  return [`${report.cases} cases, ${report.runs} runs per reader`, `verdicts (ws's, on the whole input): ${sorted(report.verdicts)}`, `coverage: ${sorted(report.coverage)}`];
}

function assertNoDifferences(report: Report): void {
  if (report.differences.length === 0) return;
  const more = report.differences.filter((d) => d === '(more)').length;
  const shown = report.differences.filter((d) => d !== '(more)');
  assert.fail(`NGI's FrameReader and ws's Receiver disagree (${shown.length + more} runs):\n${shown.join('\n')}${more > 0 ? `\n… and ${more} more` : ''}`);
}

test('WebSocket framing differential: hand-written edge cases, every split', (t) => {
  const report = runCases(tableCases(), (c) => `the table entry "${c.name.slice('table: '.length)}"`);
  for (const line of summary(report)) t.diagnostic(line);
  assertNoDifferences(report);
  // Not vacuous: the table holds accepted inputs, closes, and refusals of every kind.
  assert.ok((report.verdicts.get('open') ?? 0) >= 10);
  assert.ok((report.verdicts.get('closed') ?? 0) >= 4);
  assert.ok(ALL_CODES.filter((code) => (report.verdicts.get(code) ?? 0) === 0).length === 0, `codes the table misses: ${ALL_CODES.filter((code) => !report.verdicts.has(code)).join(', ')}`);
});

test(`WebSocket framing differential: NGI vs ws on seeded frame streams (seed 0x${FUZZ_SEED.toString(16)}, ${FUZZ_CASES} cases)`, (t) => {
  const cases: Case[] = [];
  for (let k = 0; k < FUZZ_CASES; k++) cases.push(fuzzCase(FUZZ_SEED, k));
  const report = runCases(cases, () => `NGI_WS_FUZZ_SEED=${FUZZ_SEED} NGI_WS_FUZZ_CASES=${FUZZ_CASES} (case seed printed above)`);
  for (const line of summary(report)) t.diagnostic(line);
  assertNoDifferences(report);

  // Not vacuous: the generator produced accepted and refused inputs, and enough of each kind.
  const refused = ALL_CODES.reduce((n, code) => n + (report.verdicts.get(code) ?? 0), 0);
  const accepted = (report.verdicts.get('open') ?? 0) + (report.verdicts.get('closed') ?? 0);
  assert.equal(accepted + refused, FUZZ_CASES, 'every case is accepted or refused with a known code');
  if (FUZZ_CASES >= 200) {
    assert.ok(accepted >= FUZZ_CASES * 0.25, `accepted ${accepted} of ${FUZZ_CASES}`);
    assert.ok(refused >= FUZZ_CASES * 0.25, `refused ${refused} of ${FUZZ_CASES}`);
    assert.ok((report.verdicts.get('closed') ?? 0) >= FUZZ_CASES * 0.1, 'closed by a Close frame');
  }
  if (FUZZ_CASES >= DEFAULT_CASES / 2) {
    const missing = ALL_CODES.filter((code) => (report.verdicts.get(code) ?? 0) < 3);
    assert.deepEqual(missing, [], 'each refusal seen at least 3 times');
    for (const key of ['accepted with fragmented', 'accepted with len16', 'accepted with len64', 'accepted with nonminimal', 'event text', 'event binary', 'event ping', 'event pong', 'event close']) {
      assert.ok((report.coverage.get(key) ?? 0) >= 10, `coverage "${key}": ${report.coverage.get(key) ?? 0}`);
    }
  }
});
