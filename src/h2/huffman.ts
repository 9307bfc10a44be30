/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B): encoding, and decoding with a
 * precomputed state machine that consumes four bits per step.
 *
 * The code is canonical (codes of one length are consecutive, assigned in symbol order, shorter
 * lengths first), so the lengths alone define it: the codes are derived below at module load
 * rather than transcribed, which leaves 257 small numbers to get right instead of 514.
 */

/** Code length in bits of each symbol 0..255, then EOS (256). RFC 7541 Appendix B. */
const LENGTHS = new Uint8Array([
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
]);

const EOS = 256;

/** Codes, right-aligned (the last bit of the code is bit 0). */
const CODES = new Uint32Array(257);
{
  const order = Array.from({ length: 257 }, (_, i) => i).sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  let code = 0;
  let length = LENGTHS[order[0]!]!;
  for (const sym of order) {
    code *= 2 ** (LENGTHS[sym]! - length); // not <<: the running code reaches 2^30
    length = LENGTHS[sym]!;
    CODES[sym] = code++;
  }
}

// ---- Encoding ----------------------------------------------------------------------------------

/**
 * Octets the Huffman encoding of `s` takes, so the encoder can pick it only when it is shorter
 * than the raw octets (RFC 7541 §5.2 leaves the choice to the encoder). Characters are octets:
 * above 0xff only the low byte counts, as with a latin1 write.
 */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENGTHS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/** Writes the Huffman encoding of `s` at `pos` (the caller made room) and returns the end. */
export function huffmanEncode(s: string, dst: Uint8Array, pos: number): number {
  // `acc` holds the `n` < 8 bits not yet written, then a code is appended. Codes longer than 24
  // bits go in two steps so that `acc` never needs more than 31 bits (int32 arithmetic).
  let acc = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const len = LENGTHS[sym]!;
    const code = CODES[sym]!;
    if (len > 24) {
      acc = (acc << (len - 8)) | (code >>> 8);
      n += len - 8;
      while (n >= 8) dst[pos++] = acc >>> (n -= 8);
      acc = ((acc & ((1 << n) - 1)) << 8) | (code & 0xff);
      n += 8;
    } else {
      acc = (acc << len) | code;
      n += len;
    }
    while (n >= 8) dst[pos++] = acc >>> (n -= 8); // the Uint8Array store keeps the low 8 bits
    acc &= (1 << n) - 1;
  }
  // §5.2: pad with the most significant bits of EOS, i.e. ones, to the octet boundary.
  if (n > 0) dst[pos++] = (acc << (8 - n)) | (0xff >>> n);
  return pos;
}

// ---- Decoding ----------------------------------------------------------------------------------

/*
 * The decoder is a DFA over the internal nodes of the code tree (256 of them for 257 leaves),
 * fed one nibble at a time, as in nghttp2. Each of the 256 x 16 transitions is precomputed:
 *   bits 0-7   the next state (an internal node; 0 is the root),
 *   bits 8-15  the symbol completed during this nibble, if FLAG_EMIT (at most one: no code is
 *              shorter than 5 bits),
 *   FLAG_FAIL  the nibble completes EOS, which must not appear in a string (§5.2),
 *   FLAG_ACCEPT the next state may end the string: the bits consumed since the last symbol are
 *              at most 7 ones, i.e. a valid padding (§5.2: a padding longer than 7 bits or not
 *              made of EOS's leading ones is a decoding error).
 */
const FLAG_EMIT = 0x10000;
const FLAG_ACCEPT = 0x20000;
const FLAG_FAIL = 0x40000;

const TRANSITIONS = new Uint32Array(256 * 16);
{
  // The tree: children[2 * node + bit] is an internal node id (> 0), a leaf (-1 - symbol), or 0
  // while not yet built (never left so: the code is complete, Kraft sum 1).
  const children = new Int32Array(2 * 256);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = LENGTHS[sym]!;
    const code = CODES[sym]!;
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const slot = 2 * node + ((code >>> i) & 1);
      if (children[slot] === 0) children[slot] = nodes++;
      node = children[slot]!;
    }
    children[2 * node + (code & 1)] = -1 - sym;
  }
  if (nodes !== 256) throw new Error('HPACK Huffman table: the code is not a complete prefix code');

  // Accepting states: the all-ones path from the root, up to 7 bits deep (root included).
  const accepting = new Uint8Array(256);
  for (let node = 0, depth = 0; depth <= 7; depth++, node = children[2 * node + 1]!) accepting[node] = 1;

  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const child = children[2 * node + ((nibble >>> i) & 1)]!;
        if (child > 0) {
          node = child;
          continue;
        }
        const sym = -1 - child;
        if (sym === EOS) {
          entry = FLAG_FAIL;
          break;
        }
        entry = FLAG_EMIT | (sym << 8);
        node = 0;
      }
      TRANSITIONS[state * 16 + nibble] = entry & FLAG_FAIL ? FLAG_FAIL : entry | node | (accepting[node] ? FLAG_ACCEPT : 0);
    }
  }
}

/** Upper bound of the decoded length of `encodedLength` Huffman octets (shortest code: 5 bits). */
export function huffmanDecodedLengthBound(encodedLength: number): number {
  return Math.ceil((encodedLength * 8) / 5);
}

/**
 * Decodes src[start, end) into dst from 0 (sized by huffmanDecodedLengthBound) and returns the
 * decoded length, or -1 if the input is not a valid Huffman string (§5.2: EOS inside, padding
 * longer than 7 bits or not all ones).
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  let state = 0;
  let e = FLAG_ACCEPT; // an empty string is valid
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    e = TRANSITIONS[(state << 4) | (byte >>> 4)]!;
    if (e & FLAG_FAIL) return -1;
    if (e & FLAG_EMIT) dst[n++] = e >>> 8;
    e = TRANSITIONS[((e & 0xff) << 4) | (byte & 0xf)]!;
    if (e & FLAG_FAIL) return -1;
    if (e & FLAG_EMIT) dst[n++] = e >>> 8;
    state = e & 0xff;
  }
  return e & FLAG_ACCEPT ? n : -1;
}
