import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HpackDecoder, HpackEncoder, HpackError, hpackEncodedLengthBound } from '../../src/h2/hpack.ts';
import { huffmanDecode, huffmanDecodedLengthBound, huffmanEncode, huffmanEncodedLength } from '../../src/h2/huffman.ts';

/** Hex as printed in RFC 7541 Appendix C (spaces and line breaks ignored). */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeAll(decoder: HpackDecoder, block: Uint8Array): string[] | undefined {
  return decoder.decode(block, 0, block.length);
}

function assertHpackError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HpackError, `an HpackError, got ${String(error)}`);
    assert.equal(error.code, 'COMPRESSION_ERROR');
    assert.match(error.message, message);
    return true;
  });
}

/** A small seeded PRNG (mulberry32), so that fuzz failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- RFC 7541 Appendix C ------------------------------------------------------------------------

test('C.2: literal with indexing, without indexing, never indexed, indexed (one decoder each)', () => {
  let d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), ['custom-key', 'custom-header']);
  assert.equal(d.tableSize, 55);
  assert.equal(d.tableEntries, 1);
  assert.deepEqual(decodeAll(d, hex('be')), ['custom-key', 'custom-header'], 'the entry is index 62');

  d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, hex('040c 2f73 616d 706c 652f 7061 7468')), [':path', '/sample/path']);
  assert.equal(d.tableSize, 0);

  d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), ['password', 'secret']);
  assert.equal(d.tableSize, 0);

  d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, hex('82')), [':method', 'GET']);
  assert.equal(d.tableSize, 0);
});

const C3_FIELDS = [
  [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'],
  [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache'],
  [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value'],
];
/** The dynamic table after each request of C.3/C.4, newest first, and its size. */
const C3_TABLES: [string[], number][] = [
  [[':authority', 'www.example.com'], 57],
  [['cache-control', 'no-cache', ':authority', 'www.example.com'], 110],
  [['custom-key', 'custom-value', 'cache-control', 'no-cache', ':authority', 'www.example.com'], 164],
];

/** Checks the dynamic table through indexed references (which do not change it), and its end. */
function assertTable(d: HpackDecoder, entries: string[], size: number): void {
  assert.equal(d.tableSize, size);
  assert.equal(d.tableEntries, entries.length / 2);
  const refs = Buffer.from(Array.from({ length: entries.length / 2 }, (_, i) => 0x80 | (62 + i)));
  assert.deepEqual(decodeAll(d, refs), entries);
  assertHpackError(() => decodeAll(d, Buffer.from([0x80 | (62 + entries.length / 2)])), /beyond the table/);
}

for (const [name, blocks] of [
  ['C.3: three requests without Huffman coding', ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65']],
  ['C.4: three requests with Huffman coding', ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf']],
] as const) {
  test(name, () => {
    const d = new HpackDecoder();
    blocks.forEach((block, i) => {
      assert.deepEqual(decodeAll(d, hex(block)), C3_FIELDS[i], `request ${i + 1}`);
      const [entries, size] = C3_TABLES[i]!;
      assertTable(d, entries, size);
    });
  });
}

test('C.4: the encoder produces the RFC bytes exactly (its policy indexes these fields, Huffman is shorter)', () => {
  const e = new HpackEncoder();
  const blocks = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
  C3_FIELDS.forEach((fields, i) => assert.equal(e.encode(fields).toString('hex'), hex(blocks[i]!).toString('hex'), `request ${i + 1}`));
  assert.equal(e.tableSize, 164);
});

const C5_FIELDS = [
  [':status', '302', 'cache-control', 'private', 'date', 'Mon, 21 Oct 2013 20:13:21 GMT', 'location', 'https://www.example.com'],
  [':status', '307', 'cache-control', 'private', 'date', 'Mon, 21 Oct 2013 20:13:21 GMT', 'location', 'https://www.example.com'],
  [
    ':status', '200', 'cache-control', 'private', 'date', 'Mon, 21 Oct 2013 20:13:22 GMT', 'location', 'https://www.example.com',
    'content-encoding', 'gzip', 'set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
  ],
];
const C5_TABLES: [string[], number][] = [
  [['location', 'https://www.example.com', 'date', 'Mon, 21 Oct 2013 20:13:21 GMT', 'cache-control', 'private', ':status', '302'], 222],
  [[':status', '307', 'location', 'https://www.example.com', 'date', 'Mon, 21 Oct 2013 20:13:21 GMT', 'cache-control', 'private'], 222],
  [['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1', 'content-encoding', 'gzip', 'date', 'Mon, 21 Oct 2013 20:13:22 GMT'], 215],
];

for (const [name, blocks] of [
  [
    'C.5: three responses without Huffman coding, 256-octet table with eviction',
    [
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ],
  ],
  [
    'C.6: three responses with Huffman coding, 256-octet table with eviction',
    [
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ],
  ],
] as const) {
  test(name, () => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    blocks.forEach((block, i) => {
      assert.deepEqual(decodeAll(d, hex(block)), C5_FIELDS[i], `response ${i + 1}`);
      const [entries, size] = C5_TABLES[i]!;
      assertTable(d, entries, size);
    });
  });
}

test('C.3-C.6 fields through our encoder (4096 and 256-octet tables): decoded back in lockstep, and replayed by a fresh decoder', () => {
  for (const [fieldLists, tableSize] of [[C3_FIELDS, 4096], [C5_FIELDS, 256]] as const) {
    const e = new HpackEncoder(tableSize);
    const d = new HpackDecoder({ maxTableSize: tableSize });
    const blocks = fieldLists.map((fields) => {
      const block = e.encode(fields);
      assert.deepEqual(decodeAll(d, block), fields);
      assert.equal(d.tableSize, e.tableSize);
      assert.ok(e.tableSize <= tableSize);
      return block;
    });
    const replay = new HpackDecoder({ maxTableSize: tableSize });
    blocks.forEach((block, i) => assert.deepEqual(decodeAll(replay, block), fieldLists[i]));
    assert.equal(replay.tableSize, e.tableSize);
  }
  // Where our policy differs from the RFC's encoder: location is not indexed, set-cookie never is.
  const e = new HpackEncoder(256);
  const block = e.encode(['location', 'https://www.example.com', 'set-cookie', 'a=b']);
  assert.equal(block.subarray(0, 2).toString('hex'), '0f1f', 'location: literal without indexing, static name 46 (15 + 31)');
  assert.equal(block[2]! & 0x80, 0x80, 'Huffman-coded value');
  assert.equal(block.subarray(-6).toString('hex'), '1f2803613d62', 'set-cookie: never indexed, static name 55 (15 + 40), raw "a=b"');
  assert.equal(e.tableEntries, 0);
});

// ---- Huffman -----------------------------------------------------------------------------------

function huffman(s: string): Buffer {
  const out = Buffer.alloc(huffmanEncodedLength(s));
  assert.equal(huffmanEncode(s, out, 0), out.length);
  return out;
}

function unhuffman(b: Uint8Array): string | undefined {
  const out = Buffer.alloc(huffmanDecodedLengthBound(b.length));
  const n = huffmanDecode(b, 0, b.length, out);
  return n < 0 ? undefined : out.toString('latin1', 0, n);
}

test('Huffman: every octet round-trips, alone, repeated, and all together; RFC strings encode as printed', () => {
  for (let c = 0; c < 256; c++) {
    for (const s of [String.fromCharCode(c), String.fromCharCode(c).repeat(7), `a${String.fromCharCode(c)}z`]) {
      assert.equal(unhuffman(huffman(s)), s, `octet ${c}`);
    }
  }
  const all = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c)).join('');
  assert.equal(unhuffman(huffman(all)), all);
  assert.equal(unhuffman(huffman(all + [...all].reverse().join(''))), all + [...all].reverse().join(''));
  assert.equal(unhuffman(Buffer.alloc(0)), '');
  assert.equal(huffman('www.example.com').toString('hex'), 'f1e3c2e5f23a6ba0ab90f4ff');
  assert.equal(huffman('no-cache').toString('hex'), 'a8eb10649cbf');
  assert.equal(huffman('Mon, 21 Oct 2013 20:13:21 GMT').toString('hex'), 'd07abe941054d444a8200595040b8166e082a62d1bff');
  // A string at an offset, and a code longer than 24 bits after pending bits.
  const dst = Buffer.alloc(20);
  const end = huffmanEncode('a\u0000\u00ff\n', dst, 3);
  assert.equal(unhuffman(dst.subarray(3, end)), 'a\u0000\u00ff\n');
});

test('Huffman: invalid padding and EOS are rejected (§5.2)', () => {
  // 'a' is 00011: with 111 padding it is 0x1f.
  assert.equal(unhuffman(Buffer.from([0x1f])), 'a');
  assert.equal(unhuffman(Buffer.from([0x18])), undefined, 'padding not all ones');
  assert.equal(unhuffman(Buffer.from([0x1e])), undefined, 'padding 110');
  assert.equal(unhuffman(Buffer.from([0x1f, 0xff])), undefined, 'padding of 11 bits');
  assert.equal(unhuffman(Buffer.from([0xff])), undefined, 'padding of 8 bits, no symbol');
  assert.equal(unhuffman(Buffer.from([0xff, 0xff, 0xff, 0xff])), undefined, 'EOS (30 ones)');
  assert.equal(unhuffman(Buffer.from([0x1f, 0xff, 0xff, 0xff, 0xfc])), undefined, "'a', EOS, then 00 (not a padding anyway)");
  assert.equal(unhuffman(Buffer.from([0x00])), undefined, "'0' then 000");
  // '0' '0' (00000 00000) then 101111: an incomplete code, not a padding.
  assert.equal(unhuffman(Buffer.from([0x00, 0x2f])), undefined);
  assert.equal(unhuffman(Buffer.from([0x00, 0x3f])), '00');
  // Exhaustively for 1- and 2-octet inputs: exactly the encodings of the strings of 1 to 16 bits
  // are accepted, and each decodes to its string.
  const valid = new Map<string, string>();
  // A code's length in bits: 8 copies of it fill whole octets.
  const codeBits = Array.from({ length: 256 }, (_, c) => huffmanEncodedLength(String.fromCharCode(c).repeat(8)));
  const grow = (s: string, used: number): void => {
    for (let c = 0; c < 256; c++) {
      if (used + codeBits[c]! > 16) continue;
      const t = s + String.fromCharCode(c);
      valid.set(huffman(t).toString('hex'), t);
      grow(t, used + codeBits[c]!);
    }
  };
  grow('', 0);
  let accepted = 0;
  for (let x = 0; x < 65536 + 256; x++) {
    const input = x < 256 ? Buffer.from([x]) : Buffer.from([(x - 256) >> 8, (x - 256) & 0xff]);
    const s = unhuffman(input);
    if (s !== undefined) accepted++;
    assert.equal(s, valid.get(input.toString('hex')), `input ${input.toString('hex')}`);
  }
  assert.equal(accepted, valid.size);
  assert.ok(valid.size > 1000);
});

// ---- Decoder errors ----------------------------------------------------------------------------

test('decoding errors are HpackErrors (COMPRESSION_ERROR)', () => {
  const d = () => new HpackDecoder();
  assertHpackError(() => decodeAll(d(), hex('80')), /index 0/);
  assertHpackError(() => decodeAll(d(), hex('be')), /beyond the table/);
  assertHpackError(() => decodeAll(d(), hex('ff00')), /beyond the table/);
  assertHpackError(() => decodeAll(d(), hex('7e 01 61')), /beyond the table/); // literal name index 62
  assertHpackError(() => decodeAll(d(), hex('ff ff ff ff ff 0f')), /overflow/);
  assertHpackError(() => decodeAll(d(), hex('ff 80 80 80 80 80 00')), /too many continuation/);
  assertHpackError(() => decodeAll(d(), hex('ff 80')), /truncated integer/);
  assertHpackError(() => decodeAll(d(), hex('40 0a 63 75')), /truncated string/);
  assertHpackError(() => decodeAll(d(), hex('40')), /missing string/);
  assertHpackError(() => decodeAll(d(), hex('41 03 61 62')), /truncated string/);
  assertHpackError(() => decodeAll(d(), hex('41 81 ff')), /Huffman/);
  assertHpackError(() => decodeAll(d(), hex('3f e2 1f')), /exceeds the maximum 4096/); // 4097
  assertHpackError(() => decodeAll(d(), hex('82 20')), /after the beginning/);
  assertHpackError(() => decodeAll(d(), hex('82 3f e1 1f')), /after the beginning/);
  assert.deepEqual(decodeAll(d(), hex('20 3f e1 1f 82')), [':method', 'GET'], 'two updates (0 then 4096) open a block');
  // The largest accepted integer (2^31 - 1), and one past it.
  assert.deepEqual(decodeAll(new HpackDecoder({ maxTableSize: 0xffffffff }), hex('3f e0 ff ff ff 07')), []);
  assertHpackError(() => decodeAll(new HpackDecoder({ maxTableSize: 0xffffffff }), hex('3f e1 ff ff ff 07')), /overflow/);
  // A plain Uint8Array (not a Buffer), and a range inside a larger buffer.
  assert.deepEqual(new HpackDecoder().decode(new Uint8Array([0x00, 0x82, 0x84, 0x00]), 1, 3), [':method', 'GET', ':path', '/']);
  assert.deepEqual(new HpackDecoder().decode(new Uint8Array(hex('ff 82 ff')).subarray(1, 2), 0, 1), [':method', 'GET']);
  assert.deepEqual(new HpackDecoder().decode(Buffer.alloc(3), 1, 1), [], 'an empty block');
  assert.throws(() => new HpackDecoder().decode(Buffer.alloc(3), 2, 4), RangeError, 'a bad range is a caller bug');
});

test('after our SETTINGS_HEADER_TABLE_SIZE is lowered, the next block must begin with an update to at most it (§4.2)', () => {
  let d = new HpackDecoder();
  decodeAll(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
  d.setMaxTableSize(1024);
  assertHpackError(() => decodeAll(d, hex('82')), /expected a dynamic table size update to at most 1024/);

  d = new HpackDecoder();
  d.setMaxTableSize(1024);
  assertHpackError(() => decodeAll(d, hex('3f e2 07 82')), /exceeds the maximum 1024/); // 1025
  d = new HpackDecoder();
  d.setMaxTableSize(1024);
  assert.deepEqual(decodeAll(d, hex('3f e1 07 82')), [':method', 'GET']); // 1024
  assert.deepEqual(decodeAll(d, hex('82')), [':method', 'GET'], 'only the first block needs it');

  // Lowered to 100 then raised back: the smallest value must be signalled, then the new one may be.
  d = new HpackDecoder();
  d.setMaxTableSize(100);
  d.setMaxTableSize(4096);
  assertHpackError(() => decodeAll(d, hex('3f e1 1f 82')), /at most 100/);
  d = new HpackDecoder();
  d.setMaxTableSize(100);
  d.setMaxTableSize(4096);
  assert.deepEqual(decodeAll(d, hex('3f 45 3f e1 1f 82')), [':method', 'GET']); // 100, then 4096

  // Raising the maximum requires nothing; a table already smaller than the new maximum neither.
  d = new HpackDecoder();
  d.setMaxTableSize(8192);
  assert.deepEqual(decodeAll(d, hex('82')), [':method', 'GET']);
  assert.deepEqual(decodeAll(d, hex('3f e1 3f 82')), [':method', 'GET']); // 8192
  d = new HpackDecoder();
  decodeAll(d, hex('3f e1 01')); // the peer shrinks to 256 by itself
  d.setMaxTableSize(1024);
  assert.deepEqual(decodeAll(d, hex('82')), [':method', 'GET']);
});

test('a size update evicts (§4.3), an entry larger than the table empties it (§4.4)', () => {
  const d = new HpackDecoder();
  decodeAll(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // 55 octets
  decodeAll(d, hex('4003 6b65 7901 76')); // key: v, 36 octets
  assert.equal(d.tableSize, 91);
  decodeAll(d, hex('3f 11')); // 48: only the newest fits
  assert.equal(d.tableSize, 36);
  assert.deepEqual(decodeAll(d, hex('be')), ['key', 'v']);
  // key: 13 x's is exactly 48 octets: it fits, evicting the other entry.
  decodeAll(d, Buffer.concat([hex('40 03 6b65 79 0d'), Buffer.from('x'.repeat(13))]));
  assert.equal(d.tableSize, 48);
  assert.deepEqual(decodeAll(d, hex('be')), ['key', 'x'.repeat(13)]);
  // key: 14 x's (49 octets) does not: the table is emptied, the field still decoded.
  assert.deepEqual(decodeAll(d, Buffer.concat([hex('40 03 6b65 79 0e'), Buffer.from('x'.repeat(14))])), ['key', 'x'.repeat(14)]);
  assert.equal(d.tableSize, 0);
  assertHpackError(() => decodeAll(d, hex('be')), /beyond the table/);
  // A table of size 0 takes nothing.
  decodeAll(d, hex('20 4003 6b65 7901 76'));
  assert.equal(d.tableEntries, 0);
});

// ---- maxHeaderListSize -------------------------------------------------------------------------

test('maxHeaderListSize: an HPACK bomb returns undefined without growing the output, and the table stays in sync', () => {
  const big = 'b'.repeat(4000);
  const insert = Buffer.concat([hex('40 06'), Buffer.from('x-bomb'), hex('7f a1 1e'), Buffer.from(big)]); // value length 127 + 3873
  const bomb = Buffer.concat([insert, Buffer.alloc(10_000, 0xbe)]);
  const d = new HpackDecoder({ maxHeaderListSize: 16_384 });
  const started = process.hrtime.bigint();
  assert.equal(decodeAll(d, bomb), undefined);
  assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
  assert.equal(d.tableSize, 4000 + 6 + 32);
  // The next block refers to the entry the bomb inserted: the table is in sync.
  assert.deepEqual(decodeAll(d, hex('be 82')), ['x-bomb', big, ':method', 'GET']);

  // Over the limit, later literals (indexed or not) are still decoded for the table and checked.
  const d2 = new HpackDecoder({ maxHeaderListSize: 100 });
  const block = Buffer.concat([hex('0f 2e 03'), Buffer.from('abc'), hex('40 01 61 81 1f'), hex('00 01 61 01 62'), hex('58 86 a8eb 1064 9cbf')]);
  assert.equal(decodeAll(d2, block), undefined, 'www-authenticate: abc is 51 octets, a: a (Huffman) 34, a: b 34: over 100');
  assert.deepEqual(decodeAll(d2, hex('be bf')), ['cache-control', 'no-cache', 'a', 'a']);
  assertHpackError(() => decodeAll(d2, Buffer.concat([Buffer.alloc(10, 0xbe), hex('00 01 61 81 ff')])), /Huffman/);
  // Exactly at the limit is fine: 'a' + 'a' + 32 = 34 octets.
  assert.deepEqual(decodeAll(new HpackDecoder({ maxHeaderListSize: 34 }), hex('00 01 61 01 61')), ['a', 'a']);
  assert.equal(decodeAll(new HpackDecoder({ maxHeaderListSize: 33 }), hex('00 01 61 01 61')), undefined);
  assert.equal(decodeAll(new HpackDecoder({ maxHeaderListSize: 0 }), hex('82')), undefined);
  assert.deepEqual(decodeAll(new HpackDecoder({ maxHeaderListSize: 0 }), hex('')), []);
});

// ---- Encoder -----------------------------------------------------------------------------------

test('encoder: static :status codes are one octet, repeated responses shrink to indices', () => {
  const e = new HpackEncoder();
  for (const [status, byte] of [['200', 0x88], ['204', 0x89], ['206', 0x8a], ['304', 0x8b], ['400', 0x8c], ['404', 0x8d], ['500', 0x8e]] as const) {
    assert.deepEqual([...e.encode([':status', status])], [byte]);
  }
  const response = [':status', '200', 'content-type', 'text/plain; charset=utf-8', 'date', 'Mon, 21 Oct 2013 20:13:21 GMT', 'server', 'ngi', 'content-length', '12'];
  const d = new HpackDecoder();
  const first = e.encode(response);
  assert.deepEqual(decodeAll(d, first), response);
  const second = e.encode(response);
  assert.deepEqual(decodeAll(d, second), response);
  // 4 indices, then content-length: literal without indexing (0000), static name 28 = 15 + 13, raw "12".
  assert.equal(second.toString('hex'), '88' + 'c0' + 'bf' + 'be' + '0f0d' + '023132');
  assert.equal(e.tableEntries, 3);
  // A new date is indexed again (its name from the static table).
  const third = e.encode([':status', '200', 'date', 'Mon, 21 Oct 2013 20:13:22 GMT']);
  assert.equal(third[1], 0x40 | 33);
  assert.deepEqual(decodeAll(d, third), [':status', '200', 'date', 'Mon, 21 Oct 2013 20:13:22 GMT']);
  assert.equal(e.tableEntries, 4);
  assert.equal(d.tableSize, e.tableSize);
});

test('encoder: indexing policy (never indexed credentials, unindexed volatile and large values)', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const check = (fields: string[], firstByte: number, entries: number): void => {
    const block = e.encode(fields);
    assert.equal(block[0], firstByte, `${fields[0]}: first octet ${block[0]?.toString(16)}`);
    assert.deepEqual(decodeAll(d, block), fields);
    assert.equal(e.tableEntries, entries, fields[0]);
  };
  check(['authorization', 'Bearer abc'], 0x1f, 0); // never indexed (0001), name 23 = 15 + 8
  check(['proxy-authorization', 'Basic abc'], 0x1f, 0);
  check(['set-cookie', 'id=1; Secure'], 0x1f, 0);
  check(['cookie', 'id=1'], 0x1f, 0); // < 20 octets
  check(['cookie', 'session=0123456789abcdef'], 0x40 | 32, 1);
  check(['etag', '"abc"'], 0x0f, 1); // without indexing (0000)
  check(['last-modified', 'Mon, 21 Oct 2013 20:13:21 GMT'], 0x0f, 1);
  check([':path', '/a/b?c=d'], 0x04, 1);
  check(['location', '/elsewhere'], 0x0f, 1);
  check(['x-large', 'v'.repeat(1025)], 0x00, 1); // over a quarter of the table, literal name
  check(['x-small', 'v'.repeat(1024)], 0x40, 2);
  check(['x-small', 'w'], 0x40 | 62, 3); // name from the dynamic table (index 62)
  check(['x-small', 'w'], 0x80 | 62, 3);
  check(['authorization', ''], 0x80 | 23, 3); // an exact static match is fine
  // Names are used as given (the caller validates them); octets above 0x7f pass through.
  check(['X-Odd\u0000name', 'caf\u00e9 \u00ff\u0080'], 0x40, 4);
});

test('encoder: dynamic table size updates after setPeerMaxTableSize (§4.2, §6.3)', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const fields = ['x-a', 'one', 'x-b', 'two'];
  decodeAll(d, e.encode(fields));
  assert.equal(e.tableEntries, 2);

  e.setPeerMaxTableSize(256);
  d.setMaxTableSize(256);
  let block = e.encode(fields);
  assert.equal(block.subarray(0, 3).toString('hex'), '3fe101', 'update to 256 first');
  assert.deepEqual(decodeAll(d, block), fields);
  assert.equal(e.encode(fields).toString('hex'), 'bfbe', 'entries kept: they fit in 256');

  // Lowered to 0 then raised to 4096 between two blocks: 0 first (the table is emptied), then 4096.
  e.setPeerMaxTableSize(0);
  e.setPeerMaxTableSize(4096);
  d.setMaxTableSize(0);
  d.setMaxTableSize(4096);
  block = e.encode(fields);
  assert.equal(block.subarray(0, 4).toString('hex'), '203fe11f');
  assert.deepEqual(decodeAll(d, block), fields);
  assert.equal(d.tableSize, e.tableSize);

  // A larger peer maximum is capped at our own table size.
  e.setPeerMaxTableSize(65536);
  d.setMaxTableSize(65536);
  block = e.encode([]);
  assert.equal(block.toString('hex'), '3fe11f');
  decodeAll(d, block);
  // With a table of 0 nothing is indexed.
  const small = new HpackEncoder();
  small.setPeerMaxTableSize(0);
  assert.equal(small.encode(fields).toString('hex').slice(0, 4), '2000');
  assert.equal(small.tableEntries, 0);
  // A ceiling above 4096 starts at 4096 (what the peer's decoder has) until the peer allows more.
  const wide = new HpackEncoder(65536);
  const wideDecoder = new HpackDecoder();
  assert.equal(wide.encode(['x-a', 'v'.repeat(1025)])[0], 0x00, 'over 4096/4: not indexed');
  wide.setPeerMaxTableSize(65536);
  wideDecoder.setMaxTableSize(65536);
  block = wide.encode(['x-a', 'v'.repeat(1025)]);
  assert.equal(block.subarray(0, 5).toString('hex'), '3fe1ff0340');
  assert.deepEqual(decodeAll(wideDecoder, block), ['x-a', 'v'.repeat(1025)]);
  assert.equal(wideDecoder.tableSize, 1060);
  assert.throws(() => e.setPeerMaxTableSize(-1), RangeError);
  assert.throws(() => e.setPeerMaxTableSize(2 ** 32), RangeError);
});

test('encoder: encodeInto writes in place, or returns -1 without changing any state', () => {
  const fields = [':status', '200', 'content-type', 'text/html', 'x-long', 'L'.repeat(500)];
  const reference = new HpackEncoder();
  const expected = [reference.encode(fields), reference.encode(fields)];

  const e = new HpackEncoder();
  e.setPeerMaxTableSize(4096); // an update is pending: -1 must keep it pending
  const small = Buffer.alloc(100);
  assert.equal(e.encodeInto(fields, small, 9), -1);
  assert.equal(e.tableEntries, 0);
  const frame = Buffer.alloc(9 + hpackEncodedLengthBound(fields));
  const end = e.encodeInto(fields, frame, 9);
  assert.equal(frame.subarray(9, end).toString('hex'), '3fe11f' + expected[0]!.toString('hex'));
  const end2 = e.encodeInto(fields, frame, 9);
  assert.equal(frame.subarray(9, end2).toString('hex'), expected[1]!.toString('hex'));
  assert.throws(() => e.encodeInto(fields, frame, frame.length + 1), RangeError);
  // The bound holds for the worst representations: an empty name named by a 3-octet index (the
  // oldest of 124 entries of 33 octets), and string lengths at the prefix boundaries.
  const worst = new HpackEncoder();
  const worstDecoder = new HpackDecoder();
  decodeAll(worstDecoder, worst.encode(['', '0', ...Array.from({ length: 123 }, (_, i) => [String.fromCharCode(i + 1), '']).flat()]));
  assert.equal(worst.tableEntries, 124);
  const edgy = ['', 'z'.repeat(2000), '', 'y'.repeat(1025)];
  for (const n of [0, 126, 127, 128, 254, 255, 256]) edgy.push('\u00ff'.repeat(n), '\u00fe'.repeat(n));
  const worstBlock = Buffer.alloc(hpackEncodedLengthBound(edgy));
  const worstEnd = worst.encodeInto(edgy, worstBlock, 0);
  assert.notEqual(worstEnd, -1);
  assert.deepEqual(worstDecoder.decode(worstBlock, 0, worstEnd), edgy);
  assert.equal(worstBlock.subarray(0, 3).toString('hex'), '0f' + 'aa' + '01', 'the name as index 185 = 15 + 0x2a + 128');
  assert.throws(() => e.encode(['odd']), TypeError);
  // A block over 64 KiB.
  const huge = ['x-huge', 'h'.repeat(70_000)];
  assert.deepEqual(decodeAll(new HpackDecoder(), new HpackEncoder().encode(huge)), huge);
});

// ---- Fuzz --------------------------------------------------------------------------------------

const NAMES = [':status', ':path', ':method', ':authority', 'content-type', 'content-length', 'date', 'etag', 'cookie', 'set-cookie', 'authorization', 'x-a', 'x-b', 'accept-encoding', 'cache-control'];
const VALUES = ['', '200', '404', '/', 'GET', 'text/plain', 'gzip, deflate', 'no-cache', 'a', 'Mon, 21 Oct 2013 20:13:21 GMT', 'session=0123456789abcdefghij'];

function randomString(rnd: () => number, maxLength: number, alphabet = 256): string {
  const length = Math.floor(rnd() * rnd() * (maxLength + 1));
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(Math.floor(rnd() * alphabet));
  return s;
}

test('fuzz: 2,000 random blocks through encoder and decoders in lockstep, with table size changes', () => {
  const rnd = prng(0x5eed);
  const e = new HpackEncoder(6000); // a ceiling between the sizes below
  const d = new HpackDecoder();
  const limited = new HpackDecoder({ maxHeaderListSize: 600 }); // same blocks, a small list limit
  const names = [...NAMES];
  const values = [...VALUES];
  let sizeChanges = 0;
  let overLimit = 0;
  for (let block = 0; block < 2000; block++) {
    if (rnd() < 0.05) {
      // One or two SETTINGS_HEADER_TABLE_SIZE changes between blocks.
      for (let k = rnd() < 0.3 ? 2 : 1; k > 0; k--) {
        const size = [0, 40, 64, 256, 1000, 4096, 8192][Math.floor(rnd() * 7)]!;
        e.setPeerMaxTableSize(size);
        d.setMaxTableSize(size);
        limited.setMaxTableSize(size);
        sizeChanges++;
      }
    }
    const fields: string[] = [];
    for (let n = Math.floor(rnd() * 12); n > 0; n--) {
      const name = rnd() < 0.8 ? names[Math.floor(rnd() * names.length)]! : randomString(rnd, 20, rnd() < 0.5 ? 128 : 256);
      const value = rnd() < 0.6 ? values[Math.floor(rnd() * values.length)]! : randomString(rnd, rnd() < 0.05 ? 3000 : 80, rnd() < 0.5 ? 128 : 256);
      fields.push(name, value);
      if (rnd() < 0.1) (rnd() < 0.5 ? names : values).push(rnd() < 0.5 ? name : value);
    }
    let encoded: Buffer;
    if (rnd() < 0.5) {
      encoded = e.encode(fields);
    } else {
      const offset = Math.floor(rnd() * 20);
      const target = Buffer.alloc(offset + Math.floor(rnd() * 2 * hpackEncodedLengthBound(fields)));
      const end = e.encodeInto(fields, target, offset);
      encoded = end === -1 ? e.encode(fields) : target.subarray(offset, end);
    }
    assert.ok(encoded.length <= hpackEncodedLengthBound(fields));
    assert.deepEqual(decodeAll(d, encoded), fields, `block ${block}`);
    let listSize = 0;
    for (let i = 0; i < fields.length; i += 2) listSize += fields[i]!.length + fields[i + 1]!.length + 32;
    const fromLimited = decodeAll(limited, encoded);
    if (listSize > 600) overLimit++;
    assert.deepEqual(fromLimited, listSize > 600 ? undefined : fields, `block ${block} (limited)`);
    assert.equal(d.tableSize, e.tableSize, `block ${block}: table sizes`);
    assert.equal(limited.tableSize, e.tableSize);
    assert.equal(d.tableEntries, e.tableEntries);
  }
  assert.ok(sizeChanges > 50 && overLimit > 100, `${sizeChanges} size changes, ${overLimit} blocks over the limit`);
});

test('fuzz: random and mutated blocks only ever make the decoder return or throw HpackError', () => {
  const rnd = prng(0xbadc0de);
  // Valid blocks to mutate.
  const e = new HpackEncoder();
  const seeds: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const fields: string[] = [];
    for (let n = Math.floor(rnd() * 8); n > 0; n--) fields.push(NAMES[Math.floor(rnd() * NAMES.length)]!, randomString(rnd, 40));
    seeds.push(e.encode(fields));
  }
  let decoder = new HpackDecoder();
  let returned = 0;
  let thrown = 0;
  for (let i = 0; i < 20_000; i++) {
    let block: Buffer;
    if (rnd() < 0.5) {
      block = Buffer.from(Array.from({ length: Math.floor(rnd() * 48) }, () => Math.floor(rnd() * 256)));
    } else {
      block = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]!);
      for (let m = 1 + Math.floor(rnd() * 3); m > 0 && block.length > 0; m--) block[Math.floor(rnd() * block.length)] = Math.floor(rnd() * 256);
      if (rnd() < 0.3) block = block.subarray(0, Math.floor(rnd() * block.length));
    }
    if (rnd() < 0.05) decoder.setMaxTableSize(Math.floor(rnd() * 5000));
    try {
      decoder.decode(block, 0, block.length);
      returned++;
    } catch (error) {
      if (!(error instanceof HpackError)) throw error;
      thrown++;
      // A decoding error ends the connection: start again, sometimes with a small list limit.
      decoder = new HpackDecoder(rnd() < 0.5 ? {} : { maxHeaderListSize: Math.floor(rnd() * 200) });
    }
  }
  assert.ok(returned > 1000 && thrown > 1000, `${returned} returned, ${thrown} thrown`);
});

// ---- Interop with nghttp2 (node:http2) ---------------------------------------------------------

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

/** Reads HTTP/2 frames from a raw socket. */
class FrameReader {
  #data = Buffer.alloc(0);
  #frames: Frame[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#data = Buffer.concat([this.#data, chunk]);
      while (this.#data.length >= 9) {
        const length = this.#data.readUIntBE(0, 3);
        if (this.#data.length < 9 + length) break;
        this.#frames.push({ type: this.#data[3]!, flags: this.#data[4]!, stream: this.#data.readUInt32BE(5) & 0x7fffffff, payload: this.#data.subarray(9, 9 + length) });
        this.#data = this.#data.subarray(9 + length);
      }
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  async next(): Promise<Frame> {
    while (this.#frames.length === 0) {
      if (this.#ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    return this.#frames.shift()!;
  }
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

const SETTINGS = 0x4;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const DATA = 0x0;
const ACK = 0x1;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

test('interop: our encoder and decoder against nghttp2 (node:http2), both dynamic tables in use, with size updates', { timeout: 20_000 }, async () => {
  // The server echoes every field it received as a response field, so both of nghttp2's HPACK
  // contexts are checked: its decoder reads our blocks, its encoder (Huffman, indexing) writes the
  // blocks we decode. Table sizes change mid-connection in both directions, so both ends must
  // signal size updates (§4.2) or the other fails with COMPRESSION_ERROR.
  const server = http2.createServer({ settings: { headerTableSize: 1024 } }, (req, res) => {
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      res.setHeader(name.startsWith(':') ? `echo-pseudo-${name.slice(1)}` : `echo-${name}`, req.rawHeaders[i + 1]!);
    }
    res.setHeader('content-type', 'text/plain');
    // After the third request, the server lowers the table our encoder may use: 1024 → 512.
    if (req.url.startsWith('/echo/2?')) req.stream.session?.settings({ headerTableSize: 512 });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  try {
    const frames = new FrameReader(socket);
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    let ourPendingTableSize = -1;
    let encoderUpdateDue = -1;
    const updatesSent: string[] = [];
    const settings = (tableSize?: number): Buffer => {
      const payload = Buffer.alloc(tableSize === undefined ? 0 : 6);
      if (tableSize !== undefined) {
        payload.writeUInt16BE(0x1, 0); // SETTINGS_HEADER_TABLE_SIZE
        payload.writeUInt32BE(tableSize, 2);
        ourPendingTableSize = tableSize;
      }
      return frame(SETTINGS, 0, 0, payload);
    };
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), settings()]));

    // Handles connection-level frames (true), or says the frame is for a stream (false).
    const connectionFrame = (f: Frame): boolean => {
      if (f.type === SETTINGS) {
        if (f.flags & ACK) {
          // Our table size is in effect once acknowledged (RFC 9113 §6.5.3).
          if (ourPendingTableSize >= 0) decoder.setMaxTableSize(ourPendingTableSize);
          ourPendingTableSize = -1;
        } else {
          for (let i = 0; i + 6 <= f.payload.length; i += 6) {
            if (f.payload.readUInt16BE(i) !== 0x1) continue;
            encoder.setPeerMaxTableSize(f.payload.readUInt32BE(i + 2));
            encoderUpdateDue = f.payload.readUInt32BE(i + 2);
          }
          socket.write(frame(SETTINGS, ACK, 0));
        }
        return true;
      }
      assert.ok(f.type !== 0x7 && f.type !== 0x3, `GOAWAY or RST_STREAM: ${f.payload.toString('hex')}`);
      return f.stream === 0;
    };
    // Wait for the server's SETTINGS before the first request, so its table size applies.
    for (let seen = false; !seen; ) {
      const f = await frames.next();
      seen = f.type === SETTINGS && (f.flags & ACK) === 0;
      connectionFrame(f);
    }

    const longValue = Array.from({ length: 30 }, (_, i) => `segment-${i}`).join('/'); // over 1024/4: not indexed
    const compressible = 'eeeeaaaaoooottttiiiinnnnssss'.repeat(2);
    const requestSizes: number[] = [];
    const responseSizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const id = 1 + 2 * i;
      const request = [
        ':method', 'GET', ':scheme', 'http', ':authority', `127.0.0.1:${port}`, ':path', `/echo/${i}?q=${i % 2}`,
        'user-agent', 'ngi-hpack-test/1.0', 'x-compressible', compressible, 'x-long', longValue,
        'x-request', `r${i}`, 'x-same', 'same-value-every-time', 'x-latin1', 'caf\u00e9-\u00ff', 'cookie', 'session=0123456789abcdefghijk', 'authorization', 'Bearer secret',
      ];
      // Before the fourth request, we lower the table nghttp2's encoder may use: 4096 → 256.
      if (i === 3) socket.write(settings(256));
      const out = Buffer.alloc(9 + hpackEncodedLengthBound(request));
      const end = encoder.encodeInto(request, out, 9);
      assert.notEqual(end, -1);
      out.writeUIntBE(end - 9, 0, 3);
      out[3] = HEADERS;
      out[4] = END_STREAM | END_HEADERS;
      out.writeUInt32BE(id, 5);
      socket.write(out.subarray(0, end));
      requestSizes.push(end - 9);
      if (encoderUpdateDue >= 0) {
        const update = Buffer.alloc(3);
        update[0] = 0x3f;
        update[1] = 0x80 | ((encoderUpdateDue - 31) & 0x7f);
        update[2] = (encoderUpdateDue - 31) >> 7;
        assert.equal(out.subarray(9, 12).toString('hex'), update.toString('hex'), `request ${i} opens with a size update to ${encoderUpdateDue}`);
        updatesSent.push(`${encoderUpdateDue} before request ${i}`);
        encoderUpdateDue = -1;
      }

      // The response's header block, possibly continued, then its body.
      const block: Buffer[] = [];
      let ended = false;
      let body = '';
      while (!ended) {
        const f = await frames.next();
        if (connectionFrame(f)) continue;
        assert.equal(f.stream, id);
        if (f.type === HEADERS || f.type === CONTINUATION) {
          let payload = f.payload;
          if (f.type === HEADERS && f.flags & 0x8) payload = payload.subarray(1, payload.length - payload[0]!); // PADDED
          if (f.type === HEADERS && f.flags & 0x20) payload = payload.subarray(5); // PRIORITY
          block.push(payload);
          if (f.flags & END_HEADERS) {
            const whole = Buffer.concat(block);
            responseSizes.push(whole.length);
            if (i === 3) assert.equal(whole.subarray(0, 3).toString('hex'), '3fe101', 'nghttp2 opens with a size update to 256');
            const fields = decoder.decode(whole, 0, whole.length);
            assert.ok(fields !== undefined);
            assert.deepEqual(fields.slice(0, 2), [':status', '200']);
            const echoed: string[] = [];
            for (let k = 0; k < fields.length; k += 2) {
              const name = fields[k]!;
              if (name.startsWith('echo-pseudo-')) echoed.push(`:${name.slice(12)}`, fields[k + 1]!);
              else if (name.startsWith('echo-')) echoed.push(name.slice(5), fields[k + 1]!);
            }
            assert.deepEqual(echoed, request, `request ${i}`);
            assert.ok(fields.includes('content-type') && fields.includes('date'));
          }
        } else if (f.type === DATA) {
          body += f.payload.toString('latin1');
        }
        ended = (f.type === HEADERS || f.type === DATA) && (f.flags & END_STREAM) !== 0;
      }
      assert.equal(body, 'ok');
    }
    assert.equal(updatesSent.length, 2);
    assert.equal(updatesSent[0], '1024 before request 0');
    assert.match(updatesSent[1]!, /^512 before request [345]$/);
    // Both tables worked: later blocks are much smaller than the first ones.
    assert.ok(requestSizes[1]! < requestSizes[0]! - 100 && requestSizes[2]! < requestSizes[0]! - 100, `request blocks ${requestSizes}`);
    assert.ok(responseSizes[1]! * 2 < responseSizes[0]! && responseSizes[2]! * 2 < responseSizes[0]!, `response blocks ${responseSizes}`);
    assert.ok(decoder.tableSize > 0 && decoder.tableSize <= 256, `nghttp2 kept to our 256 octets (${decoder.tableSize})`);
    assert.ok(encoder.tableSize > 0 && encoder.tableSize <= 512);
  } finally {
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
