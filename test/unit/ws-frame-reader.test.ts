/**
 * NGI's WebSocket framing, sans I/O (src/ws/): FrameReader (a server reading masked client
 * frames), unmask(), writeFrame() and closePayload(), tested for what a user of them relies on:
 * every length form (RFC 6455 §5.2), any chunking of the input, fragmentation with control
 * frames in between (§5.4), the refusals of §5.1/§5.2/§5.5/§7.4/§8.1 with their WS_ERR_* code
 * and close code, maxMessageSize (§10.4), pause()/resume(), and frames written by writeFrame()
 * read back by FrameReader.
 *
 * test/unit/ws-framing-differential.test.ts compares FrameReader with ws's Receiver on
 * generated inputs; this file pins the behaviour down case by case.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FrameReader, LARGE_UNMASK, unmask, type FrameSink } from '../../src/ws/frame-reader.ts';
import { closePayload, writeFrame } from '../../src/ws/frame-writer.ts';
import { WsFrameError } from '../../src/ws/errors.ts';
import { isValidCloseCode } from '../../src/ws/close-codes.ts';
import { closeBody, frame } from '../helpers/ws-frame.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
// gc() for the memory test, without --expose-gc on the command line.
setFlagsFromString('--expose-gc');


type Event = readonly ['text', string] | readonly ['binary', string] | readonly ['ping', string] | readonly ['pong', string] | readonly ['close', number, string];

class Recorder implements FrameSink {
  readonly events: Event[] = [];
  /** What onMessage was given, as given (views, not copies). */
  readonly raw: Buffer[] = [];
  onEvent: ((reader: FrameReader) => void) | undefined;
  reader: FrameReader | undefined;
  onMessage(data: Buffer, binary: boolean): void {
    this.raw.push(data);
    this.events.push(binary ? ['binary', data.toString('hex')] : ['text', data.toString('utf8')]);
    this.onEvent?.(this.reader!);
  }
  onPing(payload: Buffer): void {
    this.events.push(['ping', payload.toString('hex')]);
    this.onEvent?.(this.reader!);
  }
  onPong(payload: Buffer): void {
    this.events.push(['pong', payload.toString('hex')]);
    this.onEvent?.(this.reader!);
  }
  onClose(code: number, reason: string): void {
    this.events.push(['close', code, reason]);
    this.onEvent?.(this.reader!);
  }
}

function newReader(max = 1 << 20): { reader: FrameReader; rec: Recorder } {
  const rec = new Recorder();
  const reader = new FrameReader(rec, max);
  rec.reader = reader;
  return { reader, rec };
}

interface Outcome {
  events: Event[];
  error: { code: string; closeCode: number } | undefined;
}

/** Feeds `bytes` (copied: the reader unmasks in place) in pieces ending at `cuts`. */
function read(bytes: Buffer, cuts: readonly number[] = [], max = 1 << 20): Outcome {
  const { reader, rec } = newReader(max);
  let from = 0;
  try {
    for (const to of [...cuts, bytes.length]) {
      reader.push(Buffer.from(bytes.subarray(from, to)));
      from = to;
    }
  } catch (error) {
    assert.ok(error instanceof WsFrameError, `not a WsFrameError: ${String(error)}`);
    assert.equal(reader.done, true, 'done after an error');
    return { events: rec.events, error: { code: error.code, closeCode: error.closeCode } };
  }
  return { events: rec.events, error: undefined };
}

function oneByteAtATime(bytes: Buffer): number[] {
  return Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1);
}

function assertRefused(bytes: Buffer, code: string, closeCode: number, events: Event[] = [], max?: number): void {
  assert.deepEqual(read(bytes, [], max), { events, error: { code, closeCode } }, `whole: ${bytes.toString('hex')}`);
  // The verdict does not depend on how the bytes arrive.
  assert.deepEqual(read(bytes, oneByteAtATime(bytes), max), { events, error: { code, closeCode } }, `byte by byte: ${bytes.toString('hex')}`);
}

const bytesOf = (n: number, seed = 1): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

// ---------------------------------------------------------------------------------------------
// FrameReader: valid input

describe('FrameReader: lengths (RFC 6455 §5.2)', () => {
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    test(`a binary frame of ${n} bytes (${n < 126 ? '7' : n < 65536 ? '16' : '64'}-bit length), whole and split`, () => {
      const payload = bytesOf(n, n + 7);
      const bytes = frame(0x2, payload);
      const expected = { events: [['binary', payload.toString('hex')]], error: undefined };
      assert.deepEqual(read(bytes), expected);
      // Split inside the head, right after it, and inside the payload.
      for (const cut of [1, 2, 3, 5, bytes.length - n, bytes.length - n + 1, bytes.length - 1]) {
        if (cut > 0 && cut < bytes.length) assert.deepEqual(read(bytes, [cut]), expected, `cut at ${cut}`);
      }
    });
  }

  test('a text frame of 0, 1, 125, 126, 65535 and 65536 bytes', () => {
    for (const n of [0, 1, 125, 126, 65535, 65536]) {
      const text = 'é'.repeat(n >> 1) + 'a'.repeat(n & 1);
      assert.equal(Buffer.byteLength(text), n);
      assert.deepEqual(read(frame(0x1, text)), { events: [['text', text]], error: undefined });
    }
  });

  test('non-minimal length encodings are accepted (§5.2 asks for the minimal one, ws accepts any)', () => {
    for (const form of [16, 64] as const) {
      for (const n of [0, 5, 125]) {
        const payload = bytesOf(n, 3);
        assert.deepEqual(read(frame(0x2, payload, { form })), { events: [['binary', payload.toString('hex')]], error: undefined }, `${n} bytes in ${form} bits`);
      }
    }
    assert.deepEqual(read(frame(0x2, bytesOf(300), { form: 64 })), { events: [['binary', bytesOf(300).toString('hex')]], error: undefined });
  });

  test('an all-zero mask and an unmasked-looking payload work the same', () => {
    const key = Buffer.alloc(4);
    assert.deepEqual(read(frame(0x1, 'plain', { key })), { events: [['text', 'plain']], error: undefined });
  });
});

/** A stream with a bit of everything: fragments, control frames between them, each length form. */
function mixedStream(): { bytes: Buffer; events: Event[] } {
  const big = bytesOf(300, 11);
  const text = 'héllo, wörld €😀 '.repeat(6); // > 32 bytes: the word-at-a-time unmask
  const t = Buffer.from(text);
  const bytes = Buffer.concat([
    frame(0x1, t.subarray(0, 7), { fin: false, key: Buffer.from([1, 2, 3, 4]) }), // ends inside 'é'?
    frame(0x9, 'ping!', { key: Buffer.from([0xff, 0, 0xaa, 0x55]) }),
    frame(0x0, t.subarray(7, 50), { fin: false }),
    frame(0xa, ''),
    frame(0x0, t.subarray(50), { key: Buffer.from([9, 8, 7, 6]) }),
    frame(0x2, big, { key: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }),
    frame(0x2, Buffer.alloc(0), { fin: false }),
    frame(0x0, big.subarray(0, 100), { fin: false, form: 64 }),
    frame(0x9, bytesOf(125, 5)),
    frame(0x0, big.subarray(100)),
    frame(0x1, ''),
    frame(0x8, closeBody(1000, 'bye ✓')),
  ]);
  return {
    bytes,
    events: [
      ['ping', Buffer.from('ping!').toString('hex')],
      ['pong', ''],
      ['text', text],
      ['binary', big.toString('hex')],
      ['ping', bytesOf(125, 5).toString('hex')],
      ['binary', big.toString('hex')],
      ['text', ''],
      ['close', 1000, 'bye ✓'],
    ],
  };
}

describe('FrameReader: any chunking gives the same result', () => {
  test('split in two at every byte boundary', () => {
    const { bytes, events } = mixedStream();
    const expected = { events, error: undefined };
    assert.deepEqual(read(bytes), expected);
    for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(read(bytes, [cut]), expected, `cut at ${cut}`);
  });

  test('split in three at every pair of boundaries of a masked 200-byte payload (mask phase continues)', () => {
    const payload = bytesOf(200, 99);
    const bytes = frame(0x2, payload, { key: Buffer.from([0x01, 0x80, 0x7f, 0xfe]), form: 16 });
    const expected = { events: [['binary', payload.toString('hex')]] as Event[], error: undefined };
    for (let a = 1; a < bytes.length; a += 3) {
      for (let b = a + 1; b < bytes.length; b += 5) assert.deepEqual(read(bytes, [a, b]), expected, `cuts at ${a}, ${b}`);
    }
  });

  test('one byte at a time', () => {
    const { bytes, events } = mixedStream();
    assert.deepEqual(read(bytes, oneByteAtATime(bytes)), { events, error: undefined });
  });

  test('empty chunks change nothing', () => {
    const { bytes, events } = mixedStream();
    const { reader, rec } = newReader();
    reader.push(Buffer.alloc(0));
    for (let i = 0; i < bytes.length; i += 37) {
      reader.push(Buffer.from(bytes.subarray(i, i + 37)));
      reader.push(Buffer.alloc(0));
    }
    assert.deepEqual(rec.events, events);
  });

  test('a delivered message is not changed by later pushes (in-chunk views and gathered payloads)', () => {
    const { reader, rec } = newReader();
    const a = bytesOf(100, 1);
    const b = bytesOf(5000, 2);
    const c = bytesOf(40, 3);
    const stream = Buffer.concat([frame(0x2, a), frame(0x2, b), frame(0x2, c, { fin: false }), frame(0x0, c), frame(0x2, a)]);
    for (let i = 0; i < stream.length; i += 999) reader.push(Buffer.from(stream.subarray(i, i + 999)));
    assert.deepEqual(
      rec.raw.map((d) => d.toString('hex')),
      [a, b, Buffer.concat([c, c]), a].map((d) => d.toString('hex')),
    );
  });
});

describe('FrameReader: fragmentation (RFC 6455 §5.4)', () => {
  test('fragmented text and binary messages, with pings and pongs between fragments', () => {
    const bytes = Buffer.concat([
      frame(0x1, 'Hel', { fin: false }),
      frame(0x9, 'p1'),
      frame(0x0, 'lo ', { fin: false }),
      frame(0xa, 'q1'),
      frame(0x0, '', { fin: false }),
      frame(0x0, 'world'),
      frame(0x2, Buffer.from([1, 2]), { fin: false }),
      frame(0xa, ''),
      frame(0x9, ''),
      frame(0x0, Buffer.from([3])),
    ]);
    const events: Event[] = [
      ['ping', Buffer.from('p1').toString('hex')],
      ['pong', Buffer.from('q1').toString('hex')],
      ['text', 'Hello world'],
      ['pong', ''],
      ['ping', ''],
      ['binary', '010203'],
    ];
    assert.deepEqual(read(bytes), { events, error: undefined });
    assert.deepEqual(read(bytes, oneByteAtATime(bytes)), { events, error: undefined });
  });

  test('many small fragments (the message builder grows)', () => {
    const parts: Buffer[] = [frame(0x2, Buffer.from([0]), { fin: false })];
    const expected: number[] = [0];
    for (let i = 1; i < 3000; i++) {
      parts.push(frame(0x0, Buffer.from([i & 0xff]), { fin: i === 2999 }));
      expected.push(i & 0xff);
    }
    assert.deepEqual(read(Buffer.concat(parts)), { events: [['binary', Buffer.from(expected).toString('hex')]], error: undefined });
  });

  test('a message of empty fragments is one empty message', () => {
    const bytes = Buffer.concat([frame(0x1, '', { fin: false }), frame(0x0, '', { fin: false }), frame(0x0, '')]);
    assert.deepEqual(read(bytes), { events: [['text', '']], error: undefined });
  });

  test('a UTF-8 character split across two fragments (and across chunks) is accepted', () => {
    for (const ch of ['é', '€', '😀']) {
      const b = Buffer.from(`a${ch}b`);
      for (let at = 2; at < b.length - 1; at++) {
        const bytes = Buffer.concat([frame(0x1, b.subarray(0, at), { fin: false }), frame(0x0, b.subarray(at))]);
        assert.deepEqual(read(bytes), { events: [['text', `a${ch}b`]], error: undefined }, `${ch} split at ${at}`);
        assert.deepEqual(read(bytes, oneByteAtATime(bytes)), { events: [['text', `a${ch}b`]], error: undefined });
      }
    }
  });

  test('an incomplete character at the end of a fragmented text message is refused, 1007', () => {
    const bytes = Buffer.concat([frame(0x1, 'ok', { fin: false }), frame(0x0, Buffer.from([0xe2, 0x82]))]);
    assertRefused(bytes, 'WS_ERR_INVALID_UTF8', 1007);
  });
});

// ---------------------------------------------------------------------------------------------
// FrameReader: refusals

describe('FrameReader: protocol errors', () => {
  test('invalid UTF-8 in a text message → WS_ERR_INVALID_UTF8, 1007', () => {
    const invalid = [
      [0xff],
      [0x80],
      [0xc0, 0x80], // overlong
      [0xc3], // truncated
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // surrogate U+D800
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
    ];
    for (const seq of invalid) {
      // Short messages and long ones (> 24 bytes: ws validates those another way).
      assertRefused(frame(0x1, Buffer.from([0x61, ...seq])), 'WS_ERR_INVALID_UTF8', 1007);
      assertRefused(frame(0x1, Buffer.concat([Buffer.from('x'.repeat(40)), Buffer.from(seq)])), 'WS_ERR_INVALID_UTF8', 1007);
    }
    // Binary messages are not checked.
    assert.deepEqual(read(frame(0x2, Buffer.from([0xff]))), { events: [['binary', 'ff']], error: undefined });
    // Edge characters that are valid.
    for (const s of ['\u{0}', '\u{7f}', '\u{80}', '\u{7ff}', '\u{800}', '\u{d7ff}', '\u{e000}', '\u{fffd}', '\u{ffff}', '\u{10000}', '\u{10ffff}']) {
      assert.deepEqual(read(frame(0x1, s)), { events: [['text', s]], error: undefined }, JSON.stringify(s));
    }
  });

  test('an unmasked client frame → WS_ERR_EXPECTED_MASK, 1002 (§5.1)', () => {
    assertRefused(frame(0x1, 'hi', { mask: false }), 'WS_ERR_EXPECTED_MASK', 1002);
    assertRefused(frame(0x9, '', { mask: false }), 'WS_ERR_EXPECTED_MASK', 1002);
    // Refused from its first two bytes, before its length or payload arrive.
    assert.deepEqual(read(Buffer.from([0x81, 0x7e])), { events: [], error: { code: 'WS_ERR_EXPECTED_MASK', closeCode: 1002 } });
  });

  test('RSV1, RSV2, RSV3 set (no extension) → 1002 (§5.2)', () => {
    for (const opcode of [0x1, 0x2, 0x9]) {
      assertRefused(frame(opcode, 'x', { rsv: 0x40 }), 'WS_ERR_UNEXPECTED_RSV_1', 1002);
      assertRefused(frame(opcode, 'x', { rsv: 0x20 }), 'WS_ERR_UNEXPECTED_RSV_2_3', 1002);
      assertRefused(frame(opcode, 'x', { rsv: 0x10 }), 'WS_ERR_UNEXPECTED_RSV_2_3', 1002);
      assertRefused(frame(opcode, 'x', { rsv: 0x70 }), 'WS_ERR_UNEXPECTED_RSV_2_3', 1002);
    }
    // On a continuation frame too, after the first fragment was accepted.
    assertRefused(Buffer.concat([frame(0x1, 'a', { fin: false }), frame(0x0, 'b', { rsv: 0x40 })]), 'WS_ERR_UNEXPECTED_RSV_1', 1002);
  });

  test('reserved opcodes 3-7 and 0xB-0xF → WS_ERR_INVALID_OPCODE, 1002 (§5.2)', () => {
    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      assertRefused(frame(opcode, 'x'), 'WS_ERR_INVALID_OPCODE', 1002);
      assertRefused(frame(opcode, ''), 'WS_ERR_INVALID_OPCODE', 1002);
    }
  });

  test('a continuation frame without a message to continue → 1002 (§5.4)', () => {
    assertRefused(frame(0x0, 'x'), 'WS_ERR_INVALID_OPCODE', 1002);
    assertRefused(Buffer.concat([frame(0x1, 'done'), frame(0x0, 'x')]), 'WS_ERR_INVALID_OPCODE', 1002, [['text', 'done']]);
  });

  test('a new text or binary frame inside a fragmented message → 1002 (§5.4)', () => {
    for (const opcode of [0x1, 0x2]) {
      assertRefused(Buffer.concat([frame(0x1, 'a', { fin: false }), frame(opcode, 'b')]), 'WS_ERR_INVALID_OPCODE', 1002);
      assertRefused(Buffer.concat([frame(0x2, 'a', { fin: false }), frame(0x9, 'p'), frame(opcode, 'b', { fin: false })]), 'WS_ERR_INVALID_OPCODE', 1002, [['ping', '70']]);
    }
  });

  test('a control frame with FIN clear → WS_ERR_EXPECTED_FIN, 1002 (§5.5)', () => {
    for (const opcode of [0x8, 0x9, 0xa]) assertRefused(frame(opcode, '', { fin: false }), 'WS_ERR_EXPECTED_FIN', 1002);
  });

  test('a control frame over 125 bytes, or with a 16/64-bit length → 1002 (§5.5)', () => {
    for (const opcode of [0x8, 0x9, 0xa]) {
      const body = opcode === 0x8 ? closeBody(1000, 'r'.repeat(124)) : bytesOf(126);
      assertRefused(frame(opcode, body), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002);
      assertRefused(frame(opcode, opcode === 0x8 ? closeBody(1000) : 'x', { form: 16 }), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002);
      assertRefused(frame(opcode, opcode === 0x8 ? closeBody(1000) : 'x', { form: 64 }), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002);
    }
    // 125 is allowed.
    assert.deepEqual(read(frame(0x9, bytesOf(125))), { events: [['ping', bytesOf(125).toString('hex')]], error: undefined });
    assert.deepEqual(read(frame(0x8, closeBody(1000, 'r'.repeat(123)))), { events: [['close', 1000, 'r'.repeat(123)]], error: undefined });
  });

  test('a Close payload of 1 byte → 1002 (§5.5.1)', () => {
    assertRefused(frame(0x8, Buffer.from([0x03])), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002);
  });

  test('the first refusal wins, in ws\'s order: RSV2/3, RSV1, opcode, FIN, control length, mask', () => {
    assert.equal(read(Buffer.from([0x73, 0x00])).error?.code, 'WS_ERR_UNEXPECTED_RSV_2_3');
    assert.equal(read(Buffer.from([0x43, 0x00])).error?.code, 'WS_ERR_UNEXPECTED_RSV_1');
    assert.equal(read(Buffer.from([0x03, 0x00])).error?.code, 'WS_ERR_INVALID_OPCODE');
    assert.equal(read(Buffer.from([0x09, 0x7e])).error?.code, 'WS_ERR_EXPECTED_FIN');
    assert.equal(read(Buffer.from([0x89, 0x7e])).error?.code, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
    assert.equal(read(Buffer.from([0x89, 0x05])).error?.code, 'WS_ERR_EXPECTED_MASK');
  });
});

describe('FrameReader: Close frames (RFC 6455 §5.5.1, §7.4)', () => {
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
  const invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1999, 2000, 2999, 5000, 65535];

  test('valid close codes are reported with their reason', () => {
    for (const code of valid) {
      assert.deepEqual(read(frame(0x8, closeBody(code))), { events: [['close', code, '']], error: undefined }, String(code));
      assert.deepEqual(read(frame(0x8, closeBody(code, 'déjà vu'))), { events: [['close', code, 'déjà vu']], error: undefined }, String(code));
      assert.equal(isValidCloseCode(code), true);
    }
  });

  test('invalid close codes → WS_ERR_INVALID_CLOSE_CODE, 1002', () => {
    for (const code of invalid) {
      assertRefused(frame(0x8, closeBody(code)), 'WS_ERR_INVALID_CLOSE_CODE', 1002);
      assertRefused(frame(0x8, closeBody(code, 'why')), 'WS_ERR_INVALID_CLOSE_CODE', 1002);
      assert.equal(isValidCloseCode(code), false);
    }
  });

  test('a Close frame without a payload reports 1005 and an empty reason', () => {
    assert.deepEqual(read(frame(0x8, '')), { events: [['close', 1005, '']], error: undefined });
  });

  test('a close reason that is not UTF-8 → WS_ERR_INVALID_UTF8, 1007', () => {
    assertRefused(frame(0x8, closeBody(1000, Buffer.from([0x61, 0xff]))), 'WS_ERR_INVALID_UTF8', 1007);
    assertRefused(frame(0x8, closeBody(1000, Buffer.from([0xed, 0xbf, 0xbf]))), 'WS_ERR_INVALID_UTF8', 1007);
  });

  test('a Close frame between fragments ends the reading (control frames may be interleaved, §5.4)', () => {
    const bytes = Buffer.concat([frame(0x1, 'par', { fin: false }), frame(0x8, closeBody(1001)), frame(0x0, 'tial')]);
    assert.deepEqual(read(bytes), { events: [['close', 1001, '']], error: undefined });
  });

  test('nothing is delivered or refused after a Close frame, in the same chunk or a later one', () => {
    const after = Buffer.concat([frame(0x1, 'late'), frame(0x9, 'p'), Buffer.from([0xff, 0xff, 0xff]), frame(0x3, '')]);
    const bytes = Buffer.concat([frame(0x1, 'early'), frame(0x8, closeBody(1000, 'done')), after]);
    const expected = { events: [['text', 'early'], ['close', 1000, 'done']] as Event[], error: undefined };
    assert.deepEqual(read(bytes), expected);
    assert.deepEqual(read(bytes, oneByteAtATime(bytes)), expected);
    const { reader, rec } = newReader();
    reader.push(Buffer.concat([frame(0x1, 'early'), frame(0x8, '')]));
    assert.equal(reader.done, true);
    reader.push(Buffer.from(after));
    reader.pause();
    reader.resume();
    assert.deepEqual(rec.events, [['text', 'early'], ['close', 1005, '']]);
  });
});

describe('FrameReader: maxMessageSize (RFC 6455 §10.4, close code 1009)', () => {
  test('a message of exactly maxMessageSize is accepted; one byte more → WS_ERR_UNSUPPORTED_MESSAGE_LENGTH, 1009', () => {
    assert.deepEqual(read(frame(0x2, bytesOf(1000)), [], 1000).error, undefined);
    assertRefused(frame(0x2, bytesOf(1001)), 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, [], 1000);
    assertRefused(frame(0x1, 'x'.repeat(1001), { form: 64 }), 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, [], 1000);
  });

  test('a fragmented message whose sum is over the limit → 1009, whatever its fragments', () => {
    const bytes = Buffer.concat([frame(0x2, bytesOf(400), { fin: false }), frame(0x9, 'p'), frame(0x0, bytesOf(400), { fin: false }), frame(0x0, bytesOf(201))]);
    assertRefused(bytes, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, [['ping', '70']], 1000);
    // Control frames do not count, and each message starts from 0.
    const ok = Buffer.concat([
      frame(0x2, bytesOf(400), { fin: false }),
      frame(0x9, bytesOf(125)),
      frame(0x0, bytesOf(600)),
      frame(0x1, 'y'.repeat(999), { fin: false }),
      frame(0x0, 'z'),
    ]);
    // Whole, and byte by byte: a head that arrives in pieces counts its length once.
    for (const cuts of [[], oneByteAtATime(ok)]) {
      const out = read(ok, cuts, 1000);
      assert.equal(out.error, undefined);
      assert.deepEqual(
        out.events.map((e) => e[0]),
        ['ping', 'binary', 'text'],
      );
    }
  });

  test('a 64-bit length above 2^53 - 1 → WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH, 1009', () => {
    for (const announce of [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) {
      assertRefused(frame(0x2, Buffer.alloc(0), { announce }), 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1009, [], 2 ** 53);
    }
    // 2^53 - 1 itself is a length JavaScript holds: refused by the limit only.
    assertRefused(frame(0x2, Buffer.alloc(0), { announce: 2n ** 53n - 1n }), 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, [], 1 << 20);
  });

  test('a length over the limit is refused as soon as its length bytes arrive, before the mask (as ws)', () => {
    // 16-bit length 4096 > 1000, no mask yet; 64-bit length 2^53; 64-bit length 4096.
    for (const [hex, code] of [
      ['82fe1000', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
      ['82ff0020000000000000', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'],
      ['81ff0000000000001000', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
    ] as const) {
      const bytes = Buffer.from(hex, 'hex');
      assert.deepEqual(read(bytes, [], 1000), { events: [], error: { code, closeCode: 1009 } }, hex);
      assert.deepEqual(read(bytes, oneByteAtATime(bytes), 1000), { events: [], error: { code, closeCode: 1009 } }, hex);
    }
    // The same within a fragmented message: the second fragment's length (401) makes the sum too
    // large; 400 would not.
    const bytes = Buffer.concat([frame(0x2, bytesOf(600), { fin: false }), Buffer.from('80fe0191', 'hex')]);
    assert.deepEqual(read(bytes, [], 1000), { events: [], error: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 } });
    assert.deepEqual(read(bytes, oneByteAtATime(bytes), 1000).error?.closeCode, 1009);
    const exact = Buffer.concat([frame(0x2, bytesOf(600), { fin: false }), Buffer.from('80fe0190', 'hex')]);
    assert.deepEqual(read(exact, oneByteAtATime(exact), 1000), { events: [], error: undefined });
  });

  test('memory follows the bytes that arrived, not the length a head announced; nothing for a message over the limit', (t) => {
    const allocUnsafe = t.mock.method(Buffer, 'allocUnsafe');
    const alloc = t.mock.method(Buffer, 'alloc');
    const allocUnsafeSlow = t.mock.method(Buffer, 'allocUnsafeSlow');
    const sizes = (): number[] => [...allocUnsafe.mock.calls, ...alloc.mock.calls, ...allocUnsafeSlow.mock.calls].map((c) => Number(c.arguments[0]));
    // A frame under the limit whose payload has not all arrived holds only what arrived.
    {
      const { reader, rec } = newReader(1 << 20);
      reader.push(Buffer.from('82fe5000' + '01020304' + '00', 'hex')); // 20480 bytes announced, 1 sent
      assert.ok(Math.max(0, ...sizes()) <= 1024, `allocated before the payload arrived: ${JSON.stringify(sizes())}`);
      // Control: the spies see an allocation of that size (the test's own), and the message
      // is whole once the rest is here. (Buffer.concat does not call the spied
      // Buffer.allocUnsafe on every Node line, so the reader's join is not what is checked.)
      reader.push(Buffer.alloc(0x5000 - 1));
      assert.ok(sizes().includes(0x5000 - 1), `the spies saw ${JSON.stringify(sizes())}`);
      assert.equal(rec.events.length, 1);
    }
    for (const m of [allocUnsafe, alloc, allocUnsafeSlow]) m.mock.resetCalls();
    for (const head of ['82fe5000', '82ff0000000000a00000', '82ff0000000100000000', '80ff0000000000a00000']) {
      const { reader } = newReader(1000);
      const prefix = head.startsWith('80') ? frame(0x2, bytesOf(10), { fin: false }) : Buffer.alloc(0);
      assert.throws(
        () => reader.push(Buffer.concat([prefix, Buffer.from(head + '01020304' + '00'.repeat(64), 'hex')])),
        (e) => e instanceof WsFrameError && e.closeCode === 1009,
      );
      assert.ok(Math.max(0, ...sizes()) <= 1024, `allocations: ${JSON.stringify(sizes())}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// FrameReader: pause() and resume()

describe('FrameReader: memory under tiny chunks', () => {
  test('a payload sent a byte per chunk holds about its bytes, not an object per chunk', () => {
    // Found in review: the pieces of a payload spread over chunks were kept as views until it
    // was whole, each holding its chunk's own memory (200-400 bytes per byte received): a 16 MiB
    // frame sent a byte per TCP segment or DATA frame would take gigabytes.
    const gc = runInNewContext('gc') as () => void;
    const PIECES = 200_000;
    const { reader, rec } = newReader(1 << 20);
    reader.push(Buffer.from('82ff' + PIECES.toString(16).padStart(16, '0') + '00000000', 'hex'));
    gc();
    const before = process.memoryUsage();
    for (let i = 0; i < PIECES - 1; i++) {
      const chunk = Buffer.allocUnsafeSlow(1); // its own memory, as a socket read's
      chunk[0] = i & 0xff;
      reader.push(chunk);
    }
    gc();
    const after = process.memoryUsage();
    const held = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    assert.ok(held < 4 * PIECES, `${held} bytes held for ${PIECES - 1} bytes received`);
    assert.equal(rec.events.length, 0);
    reader.push(Buffer.from([0xff]));
    assert.equal(rec.events.length, 1);
    assert.equal(rec.raw[0]!.length, PIECES);
    assert.equal(rec.raw[0]![PIECES - 2], (PIECES - 2) & 0xff);
  });
});

describe('FrameReader: pause() and resume()', () => {
  const three = (): Buffer => Buffer.concat([frame(0x1, 'one'), frame(0x9, 'p'), frame(0x2, Buffer.from([2])), frame(0x1, 'three')]);
  const all: Event[] = [['text', 'one'], ['ping', '70'], ['binary', '02'], ['text', 'three']];

  test('pause() from inside onMessage stops delivery mid-chunk; resume() delivers the rest in order', () => {
    const { reader, rec } = newReader();
    rec.onEvent = (r) => {
      if (rec.events.length === 1) r.pause();
    };
    reader.push(three());
    assert.deepEqual(rec.events, all.slice(0, 1));
    reader.push(frame(0x1, 'four')); // kept while paused
    assert.deepEqual(rec.events, all.slice(0, 1));
    reader.resume();
    assert.deepEqual(rec.events, [...all, ['text', 'four']]);
  });

  test('a sink that pauses on every event: each resume() hands out exactly one', () => {
    const { reader, rec } = newReader();
    rec.onEvent = (r) => r.pause();
    reader.push(three());
    for (let i = 1; i <= all.length; i++) {
      assert.deepEqual(rec.events, all.slice(0, i));
      reader.resume();
    }
    assert.deepEqual(rec.events, all);
    reader.resume();
    reader.push(frame(0x1, 'more'));
    assert.deepEqual(rec.events, [...all, ['text', 'more']]);
  });

  test('pause() and resume() at every byte boundary, with pause() inside callbacks', () => {
    const { bytes, events } = mixedStream();
    for (let cut = 1; cut < bytes.length; cut += 2) {
      const { reader, rec } = newReader();
      rec.onEvent = (r) => r.pause();
      reader.pause();
      reader.push(Buffer.from(bytes.subarray(0, cut)));
      assert.deepEqual(rec.events, [], 'nothing while paused');
      reader.resume();
      reader.push(Buffer.from(bytes.subarray(cut)));
      for (let i = 0; i < 20 && !reader.done; i++) reader.resume();
      assert.deepEqual(rec.events, events, `cut at ${cut}`);
    }
  });

  test('pause() while a payload is half gathered: the rest waits for resume()', () => {
    const payload = bytesOf(5000, 4);
    const bytes = Buffer.concat([frame(0x2, payload), frame(0x1, 'after')]);
    const { reader, rec } = newReader();
    reader.push(Buffer.from(bytes.subarray(0, 2000)));
    reader.pause();
    reader.push(Buffer.from(bytes.subarray(2000)));
    assert.deepEqual(rec.events, []);
    reader.resume();
    assert.deepEqual(rec.events, [['binary', payload.toString('hex')], ['text', 'after']]);
  });

  test('resume() without pause() does nothing; a refusal kept while paused is thrown by resume()', () => {
    const { reader, rec } = newReader();
    reader.resume();
    reader.pause();
    reader.push(Buffer.concat([frame(0x1, 'ok'), frame(0x3, '')]));
    assert.equal(reader.done, false);
    assert.deepEqual(rec.events, []);
    assert.throws(() => reader.resume(), (e) => e instanceof WsFrameError && e.code === 'WS_ERR_INVALID_OPCODE');
    assert.deepEqual(rec.events, [['text', 'ok']]);
    assert.equal(reader.done, true);
  });
});

// ---------------------------------------------------------------------------------------------
// unmask()

describe('unmask()', () => {
  const naive = (buf: Uint8Array, start: number, end: number, mask: Uint8Array, phase: number): void => {
    for (let i = start; i < end; i++) buf[i] = buf[i]! ^ mask[(phase + i - start) & 3]!;
  };
  // From 1,024 bytes the SIMD path: its edges (a 16-byte block and a tail), one page (64 KiB)
  // and more than one.
  const lengths = [...Array.from({ length: 71 }, (_, i) => i), 127, 1000, 1023, 1024, 1039, 1041, 4099, 65536, 65536 + 3, 65536 + 16 + 5, 3 * 65536 + 7];

  test('payloads of 1,024 bytes and more go through WebAssembly SIMD on every supported Node line', () => {
    assert.equal(LARGE_UNMASK, 'simd');
  });

  test('equals a byte loop at every alignment (byteOffset 0..3), every phase, lengths 0..70 and large', () => {
    const mask = Buffer.from([0xa1, 0x02, 0xf3, 0x74]);
    for (const length of lengths) {
      for (let offset = 0; offset < 4; offset++) {
        for (let phase = 0; phase < 4; phase++) {
          const ab = new ArrayBuffer(length + 16);
          const buf = Buffer.from(ab, offset + 4, length + 4); // 2 guard bytes each side
          const src = bytesOf(length + 4, length * 16 + offset * 4 + phase);
          src.copy(buf);
          const expected = Buffer.from(src);
          naive(expected, 2, 2 + length, mask, phase);
          const next = unmask(buf, 2, 2 + length, mask, phase);
          assert.equal(next, (phase + length) & 3, `next phase, length ${length} offset ${offset} phase ${phase}`);
          assert.ok(buf.equals(expected), `length ${length} offset ${offset} phase ${phase}`);
          // Nothing outside the buffer's view was touched.
          assert.deepEqual([...new Uint8Array(ab, 0, offset + 4)], new Array(offset + 4).fill(0));
          assert.deepEqual([...new Uint8Array(ab, offset + 8 + length)], new Array(8 - offset).fill(0));
        }
      }
    }
  });

  test('a payload unmasked in pieces equals one unmasked at once (the phase carries over)', () => {
    const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
    const src = bytesOf(300, 5);
    const whole = Buffer.from(src);
    unmask(whole, 0, 300, mask, 0);
    for (const cuts of [[1], [3, 40], [33, 34, 35, 100], [64, 128, 199], [2, 5, 9, 77, 200, 299]]) {
      const buf = Buffer.from(src);
      let phase = 0;
      let from = 0;
      for (const to of [...cuts, 300]) {
        phase = unmask(buf, from, to, mask, phase);
        from = to;
      }
      assert.ok(buf.equals(whole), `cuts ${cuts.join(',')}`);
    }
  });

  test('large pieces (the SIMD path) continue the phase of the pieces before them', () => {
    const mask = Buffer.from([0x9e, 0x01, 0x5c, 0xe7]);
    const length = 140_001;
    const src = bytesOf(length, 9);
    const expected = Buffer.from(src);
    for (let i = 0; i < length; i++) expected[i] = expected[i]! ^ mask[i & 3]!;
    for (const cuts of [[1], [3, 1027], [1025, 2050, 70_001], [5, 65_541, 131_077], [2047, 2048, 2049, 100_003]]) {
      const buf = Buffer.from(src);
      let phase = 0;
      let from = 0;
      for (const to of [...cuts, length]) {
        phase = unmask(buf, from, to, mask, phase);
        from = to;
      }
      assert.ok(buf.equals(expected), `cuts ${cuts.join(',')}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// writeFrame() and closePayload()

/** A Writable that records each write() and writev() call. */
function collector(): { out: Writable; calls: Buffer[][]; bytes(): Buffer } {
  const calls: Buffer[][] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, cb) {
      calls.push([chunk]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      cb();
    },
  });
  return { out, calls, bytes: () => Buffer.concat(calls.flat()) };
}

function serverFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

async function written(opcode: number, payload: string | ArrayBufferView | ArrayBuffer): Promise<{ bytes: Buffer; calls: Buffer[][] }> {
  const { out, calls, bytes } = collector();
  await new Promise<void>((resolve, reject) => {
    writeFrame(out, opcode, payload, (error) => (error ? reject(error) : resolve()));
  });
  return { bytes: bytes(), calls };
}

/** A server frame masked as a client would send it, for FrameReader. */
function maskServerFrame(bytes: Buffer, key: Buffer): Buffer {
  const short = bytes[1]! & 0x7f;
  const headLength = short === 126 ? 4 : short === 127 ? 10 : 2;
  const head = Buffer.from(bytes.subarray(0, headLength));
  head[1] = head[1]! | 0x80;
  const payload = Buffer.from(bytes.subarray(headLength));
  for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, key, payload]);
}

describe('writeFrame()', () => {
  const sizes = [0, 1, 125, 126, 127, 65535, 65536, 16383, 16384, 16385, 70000];

  test('Buffer payloads: the head for each length form, FIN set, no mask, the payload as is', async () => {
    for (const n of sizes) {
      const payload = bytesOf(n, n);
      for (const opcode of [0x1, 0x2]) {
        const { bytes, calls } = await written(opcode, payload);
        assert.ok(bytes.equals(serverFrame(opcode, payload)), `${n} bytes, opcode ${opcode}`);
        // Up to 16 KiB: one buffer, one write; above: the head and the payload (not copied) in one writev.
        if (n <= 16384) {
          assert.equal(calls.length, 1, `${n} bytes: one write`);
          assert.equal(calls[0]!.length, 1, `${n} bytes: one buffer`);
        } else {
          assert.equal(calls.length, 1, `${n} bytes: one writev`);
          assert.equal(calls[0]!.length, 2);
          assert.equal(calls[0]![1]!.buffer, payload.buffer, 'the payload is not copied');
        }
      }
    }
  });

  test('Uint8Array payloads (not Buffers), including a view into a larger ArrayBuffer', async () => {
    for (const n of sizes) {
      const ab = new ArrayBuffer(n + 10);
      const view = new Uint8Array(ab, 3, n);
      view.set(bytesOf(n, n + 1));
      new Uint8Array(ab).fill(0xee, 0, 3);
      new Uint8Array(ab).fill(0xee, n + 3);
      const { bytes } = await written(0x2, view);
      assert.ok(bytes.equals(serverFrame(0x2, Buffer.from(view))), `${n} bytes`);
    }
  });

  test('other views and ArrayBuffers are sent as their bytes, never with uninitialized memory', async () => {
    // Found in review: set() copied a Uint16Array element by element (half the frame unset)
    // and an ArrayBuffer or DataView not at all, and allocUnsafe's old bytes went out.
    for (const n of [0, 24, 126, 16384, 16386, 70000]) {
      const source = bytesOf(n, n + 3);
      const ab = new ArrayBuffer(n + 8);
      new Uint8Array(ab).set(source, 4);
      const cases: Array<[string, ArrayBufferView | ArrayBuffer]> = [
        ['ArrayBuffer', ab.slice(4, 4 + n)],
        ['DataView', new DataView(ab, 4, n)],
        ['Uint16Array', n % 2 === 0 ? new Uint16Array(ab, 4, n / 2) : new Uint8Array(0)],
      ];
      for (const [kind, payload] of cases) {
        const expected = kind === 'Uint16Array' && n % 2 !== 0 ? Buffer.alloc(0) : source;
        const { bytes } = await written(0x2, payload);
        assert.ok(bytes.equals(serverFrame(0x2, expected)), `${kind} of ${n} bytes`);
      }
    }
  });

  test('strings: byte lengths counted in UTF-8, multibyte characters, both sides of 16 KiB', async () => {
    const strings = [
      '',
      'a',
      'héllo €😀',
      'é'.repeat(62) + 'a', // 125 bytes
      'é'.repeat(63), // 126 bytes
      '€'.repeat(5461) + 'a', // 16384 bytes
      '€'.repeat(5461) + 'é', // 16385 bytes
      '😀'.repeat(4096), // 16384 bytes
      '😀'.repeat(4096) + 'x', // 16385 bytes
      '€'.repeat(21845), // 65535 bytes
      '€'.repeat(21845) + 'a', // 65536 bytes
    ];
    for (const s of strings) {
      const { bytes } = await written(0x1, s);
      assert.ok(bytes.equals(serverFrame(0x1, Buffer.from(s, 'utf8'))), `${Buffer.byteLength(s)} bytes`);
    }
  });

  test('a lone surrogate is written as U+FFFD, so the frame is valid UTF-8 and its length right', async () => {
    for (const s of ['\ud800', 'a\udc00b', 'x'.repeat(16383) + '\ud83d']) {
      const { bytes } = await written(0x1, s);
      assert.ok(bytes.equals(serverFrame(0x1, Buffer.from(s, 'utf8'))));
      assert.ok(Buffer.from(s, 'utf8').includes(Buffer.from([0xef, 0xbf, 0xbd])));
    }
  });

  test('works on a PassThrough; done runs once the bytes are taken; returns write()\'s result', async () => {
    const pass = new PassThrough({ highWaterMark: 64 });
    const got: Buffer[] = [];
    pass.on('data', (c: Buffer) => got.push(c));
    const payload = bytesOf(20000, 8);
    const done = new Promise<void>((resolve, reject) => {
      writeFrame(pass, 0x2, payload, (error) => (error ? reject(error) : resolve()));
    });
    await done;
    assert.ok(Buffer.concat(got).equals(serverFrame(0x2, payload)));
    // A transport whose buffer is full: writeFrame says so.
    const slow = new Writable({ highWaterMark: 16, write(_c, _e, _cb) { /* never done */ } });
    assert.equal(writeFrame(slow, 0x2, bytesOf(100)), false);
  });
});

describe('closePayload()', () => {
  test('a code and a reason, or nothing', () => {
    assert.deepEqual(closePayload(1000, ''), Buffer.from([0x03, 0xe8]));
    assert.deepEqual(closePayload(4999, 'ok'), Buffer.from([0x13, 0x87, 0x6f, 0x6b]));
    assert.deepEqual(closePayload(undefined, ''), Buffer.alloc(0));
    const reason = 'é'.repeat(61) + 'a'; // 123 bytes
    assert.equal(closePayload(1001, reason).length, 125);
  });

  test('refuses invalid codes, 1005, 1006, non-integers', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535, 1000.5, NaN, -1000]) {
      assert.throws(() => closePayload(code, ''), RangeError, String(code));
    }
  });

  test('refuses a reason over 123 bytes, counted in UTF-8 bytes', () => {
    assert.throws(() => closePayload(1000, 'a'.repeat(124)), RangeError);
    assert.throws(() => closePayload(1000, 'é'.repeat(62)), RangeError); // 62 characters, 124 bytes
    assert.throws(() => closePayload(1000, '😀'.repeat(31)), RangeError); // 124 bytes
    assert.equal(closePayload(1000, '😀'.repeat(30) + 'abc').length, 125);
  });

  test('refuses a reason without a code', () => {
    assert.throws(() => closePayload(undefined, 'why'), RangeError);
  });
});

describe('round trip: writeFrame() → masked → FrameReader', () => {
  test('messages, pings, pongs of every length form and both sides of 16 KiB', async () => {
    const key = Buffer.from([0x5a, 0xc3, 0x00, 0xff]);
    const cases: Array<[number, string | Uint8Array, Event]> = [];
    for (const n of [0, 1, 125, 126, 16384, 16385, 65535, 65536, 100000]) {
      const b = bytesOf(n, n ^ 0x55);
      cases.push([0x2, b, ['binary', b.toString('hex')]]);
      cases.push([0x2, new Uint8Array(b), ['binary', b.toString('hex')]]);
      const s = '€😀a'.repeat(Math.ceil(n / 8)).slice(0, n);
      cases.push([0x1, s, ['text', s]]);
    }
    for (const n of [0, 5, 125]) {
      cases.push([0x9, bytesOf(n), ['ping', bytesOf(n).toString('hex')]]);
      cases.push([0xa, bytesOf(n), ['pong', bytesOf(n).toString('hex')]]);
    }
    const stream: Buffer[] = [];
    for (const [opcode, payload] of cases) stream.push(maskServerFrame((await written(opcode, payload)).bytes, key));
    const all = Buffer.concat(stream);
    const expected = { events: cases.map((c) => c[2]), error: undefined };
    assert.deepEqual(read(all), expected);
    const cuts: number[] = [];
    for (let at = 7; at < all.length; at += 4093) cuts.push(at);
    assert.deepEqual(read(all, cuts), expected);
  });

  test('Close frames made by closePayload()', async () => {
    for (const [code, reason, expected] of [
      [1000, '', ['close', 1000, '']],
      [4000, 'fin ✓', ['close', 4000, 'fin ✓']],
      [1001, 'é'.repeat(61) + 'a', ['close', 1001, 'é'.repeat(61) + 'a']],
      [undefined, '', ['close', 1005, '']],
    ] as const) {
      const { bytes } = await written(0x8, closePayload(code, reason));
      assert.deepEqual(read(maskServerFrame(bytes, KEY)), { events: [expected], error: undefined });
    }
  });
});
