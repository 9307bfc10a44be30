/**
 * HPACK (RFC 7541): header compression for HTTP/2. A decoder for the peer's header blocks and an
 * encoder for ours, each owning one dynamic table (the two directions are independent, §2.2).
 *
 * Fields are flat arrays [name, value, name, value, ...] of latin1 strings: one char per octet,
 * so a string's length is its octet count in the size computations (§4.1).
 */
import { STATIC_BY_NAME, STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from './hpack-static-table.ts';
import { huffmanDecode, huffmanDecodedLengthBound, huffmanEncode, huffmanEncodedLength } from './huffman.ts';

/** Any decoding failure: a connection error of type COMPRESSION_ERROR (RFC 9113 §4.3). */
export class HpackError extends Error {
  readonly code = 'COMPRESSION_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'HpackError';
  }
}

/** §4.1: an entry's size is its name and value octets plus 32 octets of overhead. */
const ENTRY_OVERHEAD = 32;

/** SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;

/** SETTINGS values are 32-bit (RFC 9113 §6.5.1). */
const MAX_SETTING = 0xffffffff;

/** Decoded integers above this are rejected (we never need more; it keeps arithmetic exact). */
const MAX_INT = 0x7fffffff;

/** Above this size, temporary buffers are allocated per use rather than kept for reuse. */
const MAX_KEPT_SCRATCH = 64 * 1024;

const EMPTY = Buffer.alloc(0);

// Buffer#latin1Slice/latin1Write are the functions behind toString('latin1')/write(..., 'latin1')
// without the encoding dispatch; not in @types/node, so detected (and typed) here.
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(s: string, offset: number, length: number): number;
}
const hasLatin1Methods =
  typeof (Buffer.prototype as Partial<Latin1Buffer>).latin1Slice === 'function' &&
  typeof (Buffer.prototype as Partial<Latin1Buffer>).latin1Write === 'function';

function latin1Slice(b: Buffer, start: number, end: number): string {
  return hasLatin1Methods ? (b as Latin1Buffer).latin1Slice(start, end) : b.toString('latin1', start, end);
}

function latin1Write(b: Buffer, s: string, offset: number): void {
  if (s.length < 32) {
    // Short strings (the usual header value): a loop beats the call into C++.
    for (let i = 0; i < s.length; i++) b[offset + i] = s.charCodeAt(i); // the store keeps the low byte
  } else if (hasLatin1Methods) {
    (b as Latin1Buffer).latin1Write(s, offset, s.length);
  } else {
    b.write(s, offset, s.length, 'latin1');
  }
}

function checkSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size < 0 || size > MAX_SETTING) throw new RangeError(`${what} must be an integer in [0, 2^32-1], got ${size}`);
}

// ---- Dynamic table (§2.3.2, §4) ----------------------------------------------------------------

/**
 * A FIFO of entries, newest first for indexing (§2.3.3), kept in a ring so that an insert or an
 * eviction is O(1) and allocates nothing once the ring is large enough. Entries are the decoded
 * strings themselves: an indexed field returns the very string instances stored here.
 */
class DynamicTable {
  #names: string[] = new Array<string>(16).fill('');
  #values: string[] = new Array<string>(16).fill('');
  #mask = 15;
  /** Slot of the newest entry. */
  #head = 0;
  /** Entries in the table. */
  count = 0;
  /** Sum of entry sizes (§4.1). */
  size = 0;
  /** Maximum size (§4.2): the last size update received (decoder) or sent (encoder). */
  capacity: number;
  /** Entries ever inserted: the newest entry's sequence number (the first one inserted is 1). */
  inserted = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Name of dynamic entry i, 0 being the newest (HPACK index 62). The caller checks i < count. */
  name(i: number): string {
    return this.#names[(this.#head - i) & this.#mask]!;
  }

  value(i: number): string {
    return this.#values[(this.#head - i) & this.#mask]!;
  }

  /** §6.3: a new maximum size; entries are evicted until the table fits. */
  setCapacity(capacity: number): void {
    this.capacity = capacity;
    this.#evictTo(capacity);
  }

  /**
   * §4.4: evicts from the oldest end until the new entry fits, then inserts it. An entry larger
   * than the capacity empties the table and is not inserted (not an error); returns false then.
   */
  add(name: string, value: string): boolean {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.capacity) {
      this.#evictTo(0);
      return false;
    }
    this.#evictTo(this.capacity - entrySize);
    if (this.count === this.#names.length) this.#grow();
    const slot = (this.#head = (this.#head + 1) & this.#mask);
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.count++;
    this.size += entrySize;
    this.inserted++;
    return true;
  }

  /** Called for each evicted entry, with its sequence number. */
  protected evicted(_name: string, _value: string, _seq: number): void {}

  #evictTo(targetSize: number): void {
    while (this.size > targetSize) {
      const slot = (this.#head - this.count + 1) & this.#mask;
      const name = this.#names[slot]!;
      const value = this.#values[slot]!;
      // Drop the references so that evicted strings can be collected.
      this.#names[slot] = '';
      this.#values[slot] = '';
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      this.evicted(name, value, this.inserted - this.count + 1);
      this.count--;
    }
  }

  #grow(): void {
    const length = this.#names.length * 2;
    const names = new Array<string>(length).fill('');
    const values = new Array<string>(length).fill('');
    // Oldest first, so the newest ends at slot count - 1.
    for (let i = this.count - 1, j = 0; i >= 0; i--, j++) {
      names[j] = this.name(i);
      values[j] = this.value(i);
    }
    this.#names = names;
    this.#values = values;
    this.#mask = length - 1;
    this.#head = this.count - 1;
  }
}

// ---- Decoder -----------------------------------------------------------------------------------

export interface HpackDecoderOptions {
  /**
   * The table's initial maximum size, and the bound of the size updates the peer may send.
   * Default 4096. In HTTP/2 keep 4096 (what the peer's encoder starts with, RFC 9113 §6.5.2)
   * and call setMaxTableSize() once the peer acknowledges our SETTINGS_HEADER_TABLE_SIZE.
   */
  maxTableSize?: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2). Default Infinity. */
  maxHeaderListSize?: number;
}

/** Reused for Huffman-decoded strings before they become JS strings. */
let decodeScratch = Buffer.allocUnsafeSlow(4096);

function decodeScratchFor(length: number): Buffer {
  if (length <= decodeScratch.length) return decodeScratch;
  if (length > MAX_KEPT_SCRATCH) return Buffer.allocUnsafeSlow(length);
  return (decodeScratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * decodeScratch.length)));
}

/**
 * Decodes the peer's header blocks. Field names are not validated here (case, pseudo-header
 * rules): that is the caller's job; any octets come back as latin1 strings.
 */
export class HpackDecoder {
  readonly #table: DynamicTable;
  /** Upper bound of size updates (§6.3): our acknowledged SETTINGS_HEADER_TABLE_SIZE. */
  #maxTableSize: number;
  /** When >= 0, the next block must begin with a size update <= this (§4.2). */
  #requiredUpdate = -1;
  readonly #maxHeaderListSize: number;

  // The block being decoded, and the cursor in it.
  #b: Buffer = EMPTY;
  #p = 0;
  #e = 0;
  // The last string literal read: its octets are #sb[#ss, #se) (the block, or the Huffman scratch).
  #sb: Buffer = EMPTY;
  #ss = 0;
  #se = 0;

  constructor(options: HpackDecoderOptions = {}) {
    const { maxTableSize = DEFAULT_TABLE_SIZE, maxHeaderListSize = Infinity } = options;
    checkSize(maxTableSize, 'maxTableSize');
    if (!(maxHeaderListSize >= 0)) throw new RangeError(`maxHeaderListSize must be >= 0, got ${maxHeaderListSize}`);
    this.#maxTableSize = maxTableSize;
    this.#maxHeaderListSize = maxHeaderListSize;
    this.#table = new DynamicTable(maxTableSize);
  }

  /** Octets the dynamic table holds (§4.1), for tests and diagnostics. */
  get tableSize(): number {
    return this.#table.size;
  }

  /** Entries in the dynamic table. */
  get tableEntries(): number {
    return this.#table.count;
  }

  /**
   * Our advertised SETTINGS_HEADER_TABLE_SIZE changed and the peer acknowledged it. If it is now
   * below the table's current maximum size, the peer's encoder must shrink its table and say so
   * at the beginning of its next block (§4.2); if it changed several times in between, with the
   * smallest value (§4.2), hence the minimum kept here.
   */
  setMaxTableSize(size: number): void {
    checkSize(size, 'maxTableSize');
    this.#maxTableSize = size;
    if (size < this.#table.capacity && (this.#requiredUpdate < 0 || size < this.#requiredUpdate)) this.#requiredUpdate = size;
  }

  /**
   * Decodes one complete header block (HEADERS or PUSH_PROMISE and its CONTINUATION fragments,
   * concatenated) in buf[start, end) into [name, value, ...], in order. Returns undefined when the
   * header list is larger than maxHeaderListSize (RFC 9113 §6.5.2: name and value octets plus 32
   * per field); the block is still decoded, to keep the dynamic table in sync. Throws HpackError
   * on any malformed input; the dynamic table is then unusable (the connection must end).
   */
  decode(buf: Uint8Array, start: number, end: number): string[] | undefined {
    if (!(start >= 0 && start <= end && end <= buf.length)) throw new RangeError(`bad range [${start}, ${end}) of ${buf.length} octets`);
    this.#b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#p = start;
    this.#e = end;
    try {
      return this.#block();
    } finally {
      // Do not keep the caller's buffer (or a big Huffman scratch) alive.
      this.#b = this.#sb = EMPTY;
    }
  }

  #block(): string[] | undefined {
    const table = this.#table;
    const b = this.#b;

    // §4.2: dynamic table size updates may only open a block (several are allowed).
    let smallestUpdate = Infinity;
    while (this.#p < this.#e && (b[this.#p]! & 0xe0) === 0x20) {
      const size = this.#int(0x1f);
      // §6.3: above our SETTINGS_HEADER_TABLE_SIZE is a decoding error.
      if (size > this.#maxTableSize) throw new HpackError(`dynamic table size update to ${size} exceeds the maximum ${this.#maxTableSize}`);
      table.setCapacity(size);
      if (size < smallestUpdate) smallestUpdate = size;
    }
    if (this.#requiredUpdate >= 0) {
      if (smallestUpdate > this.#requiredUpdate) throw new HpackError(`expected a dynamic table size update to at most ${this.#requiredUpdate} at the beginning of the block`);
      this.#requiredUpdate = -1;
    }

    const out: string[] = [];
    const limit = this.#maxHeaderListSize;
    let listSize = 0;
    // Once the list is over the limit, the block is still decoded (the dynamic table must stay
    // in sync with the peer's) but nothing more is added to `out`, and literals that do not go
    // into the table are not turned into strings: an HPACK bomb allocates nothing.
    let over = false;

    while (this.#p < this.#e) {
      const first = b[this.#p]!;

      if (first & 0x80) {
        // §6.1: indexed header field. Inlined one-octet case: the common one, and the hot path.
        let index = first & 0x7f;
        if (index < 0x7f) this.#p++;
        else index = this.#int(0x7f);
        let name: string;
        let value: string;
        if (index <= STATIC_TABLE_LENGTH) {
          if (index === 0) throw new HpackError('index 0 in an indexed header field'); // §6.1
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const i = index - STATIC_TABLE_LENGTH - 1;
          if (i >= table.count) throw new HpackError(`index ${index} beyond the table (${STATIC_TABLE_LENGTH + table.count} entries)`); // §2.3.3
          name = table.name(i);
          value = table.value(i);
        }
        if (!over) {
          listSize += name.length + value.length + ENTRY_OVERHEAD;
          if (listSize > limit) {
            over = true;
            out.length = 0;
          } else {
            out.push(name, value);
          }
        }
        continue;
      }

      // §6.2: literal header field, with incremental indexing (01), without indexing (0000) or
      // never indexed (0001). 001 is a size update, which only opens a block (§4.2).
      const indexed = (first & 0x40) !== 0;
      if (!indexed && first & 0x20) throw new HpackError('dynamic table size update after the beginning of the block');
      const nameIndex = this.#int(indexed ? 0x3f : 0x0f);
      let name: string;
      if (nameIndex === 0) {
        this.#string();
        // A name is needed for the table, or for the output while under the limit.
        name = indexed || !over ? latin1Slice(this.#sb, this.#ss, this.#se) : '';
      } else if (nameIndex <= STATIC_TABLE_LENGTH) {
        name = STATIC_NAMES[nameIndex]!;
      } else {
        const i = nameIndex - STATIC_TABLE_LENGTH - 1;
        if (i >= table.count) throw new HpackError(`name index ${nameIndex} beyond the table (${STATIC_TABLE_LENGTH + table.count} entries)`);
        name = table.name(i);
      }

      this.#string();
      const valueLength = this.#se - this.#ss;
      if (!over) {
        listSize += name.length + valueLength + ENTRY_OVERHEAD;
        if (listSize > limit) {
          over = true;
          out.length = 0;
        }
      }
      if (indexed) {
        const value = latin1Slice(this.#sb, this.#ss, this.#se);
        table.add(name, value);
        if (!over) out.push(name, value);
      } else if (!over) {
        out.push(name, latin1Slice(this.#sb, this.#ss, this.#se));
      }
    }
    return over ? undefined : out;
  }

  /**
   * §5.1: an integer with an N-bit prefix (`mask` = 2^N - 1) starting at the cursor, which the
   * caller checked is inside the block.
   */
  #int(mask: number): number {
    const b = this.#b;
    let p = this.#p;
    let value = b[p++]! & mask;
    if (value === mask) {
      // Continuation octets, 7 bits each, least significant first. Bounded: five octets carry
      // more than 31 bits, and values that do not fit in 31 bits are rejected (never needed,
      // and it keeps the sum exact).
      for (let shift = 1; ; shift *= 128) {
        if (p >= this.#e) throw new HpackError('truncated integer');
        if (shift > 2 ** 28) throw new HpackError('integer with too many continuation octets');
        const octet = b[p++]!;
        value += (octet & 0x7f) * shift;
        if (value > MAX_INT) throw new HpackError('integer overflow');
        if ((octet & 0x80) === 0) break;
      }
    }
    this.#p = p;
    return value;
  }

  /** §5.2: reads a string literal; its octets are then #sb[#ss, #se). */
  #string(): void {
    if (this.#p >= this.#e) throw new HpackError('truncated header field: missing string literal');
    const huffman = (this.#b[this.#p]! & 0x80) !== 0;
    const length = this.#int(0x7f);
    const start = this.#p;
    const end = start + length;
    if (end > this.#e) throw new HpackError('truncated string literal');
    this.#p = end;
    if (!huffman) {
      this.#sb = this.#b;
      this.#ss = start;
      this.#se = end;
      return;
    }
    const dst = decodeScratchFor(huffmanDecodedLengthBound(length));
    const n = huffmanDecode(this.#b, start, end, dst);
    if (n < 0) throw new HpackError('invalid Huffman-encoded string (EOS, or padding longer than 7 bits or not all ones)');
    this.#sb = dst;
    this.#ss = 0;
    this.#se = n;
  }
}

// ---- Encoder -----------------------------------------------------------------------------------

/** How a field not found in the tables is sent (§6.2). */
const INCREMENTAL = 0; // §6.2.1: literal with incremental indexing
const WITHOUT = 1; // §6.2.2: literal without indexing
const NEVER = 2; // §6.2.3: literal never indexed
const BY_SIZE = 3; // incremental, unless large for the table (see #mode)
const COOKIE = 4; // never indexed if short, else BY_SIZE

/** Names with a fixed policy (all of them are in the static table). */
const NAME_MODES: ReadonlyMap<string, number> = new Map([
  // §7.1.3: credentials must not be exposed to compression-based attacks (CRIME), and
  // intermediaries must keep them out of tables too; short cookie values are guessable.
  ['authorization', NEVER],
  ['proxy-authorization', NEVER],
  ['set-cookie', NEVER],
  ['cookie', COOKIE],
  // Values that change per response (or request): indexing them would only evict useful entries.
  ['content-length', WITHOUT],
  ['etag', WITHOUT],
  ['last-modified', WITHOUT],
  ['location', WITHOUT],
  [':path', WITHOUT],
]);

/** §7.1.3: cookie values shorter than this are never indexed. */
const MIN_INDEXED_COOKIE = 20;

/**
 * All the encoder knows about a name, so that a field costs a lookup of its name (two for a
 * static name not in the dynamic table) and one of its value, whichever table it ends up in, with
 * no key concatenation (no allocation).
 */
interface NameRecord {
  /** Lowest static index with this name, or 0. */
  readonly staticIndex: number;
  /** Sequence number of the newest dynamic entry with this name, or 0. */
  seq: number;
  /** value → a static index (> 0), or minus the sequence number of a dynamic entry. */
  readonly values: Map<string, number>;
  readonly mode: number;
}

const STATIC_RECORDS: ReadonlyMap<string, NameRecord> = new Map(
  [...STATIC_BY_NAME].map(([name, { index, values }]) => [name, { staticIndex: index, seq: 0, values: new Map(values), mode: NAME_MODES.get(name) ?? BY_SIZE }]),
);

class EncoderTable extends DynamicTable {
  /**
   * Records of the names in the dynamic table; the others are in STATIC_RECORDS (shared by all
   * encoders: nothing to copy when a connection starts). A static name's record is copied here
   * when it gets a dynamic entry, and dropped when it has none left.
   */
  readonly byName = new Map<string, NameRecord>();

  record(name: string): NameRecord | undefined {
    return this.byName.get(name) ?? STATIC_RECORDS.get(name);
  }

  /** HPACK index (§2.3.3) of the dynamic entry with sequence number `seq`. */
  indexOf(seq: number): number {
    return STATIC_TABLE_LENGTH + 1 + this.inserted - seq;
  }

  override add(name: string, value: string): boolean {
    if (!super.add(name, value)) return false;
    const seq = this.inserted;
    let record = this.byName.get(name);
    if (record === undefined) {
      const fromStatic = STATIC_RECORDS.get(name);
      record = fromStatic === undefined ? { staticIndex: 0, seq, values: new Map(), mode: BY_SIZE } : { ...fromStatic, values: new Map(fromStatic.values) };
      this.byName.set(name, record);
    }
    record.seq = seq;
    record.values.set(value, -seq);
    return true;
  }

  protected override evicted(name: string, value: string, seq: number): void {
    const record = this.byName.get(name);
    if (record === undefined) return;
    if (record.values.get(value) === -seq) record.values.delete(value);
    // Eviction is oldest first: when the newest entry of a name goes, all of that name are gone
    // (and a static name's record is back to its static one).
    if (record.seq === seq) this.byName.delete(name);
  }
}

/** §5.1: writes `value` with an N-bit prefix (`mask` = 2^N - 1) after the `pattern` bits. */
function writeInt(dst: Uint8Array, pos: number, pattern: number, mask: number, value: number): number {
  if (value < mask) {
    dst[pos++] = pattern | value;
    return pos;
  }
  dst[pos++] = pattern | mask;
  value -= mask;
  while (value >= 128) {
    dst[pos++] = (value % 128) | 0x80; // not & and >>>: size updates can exceed 2^31
    value = Math.floor(value / 128);
  }
  dst[pos++] = value;
  return pos;
}

/** §5.2: a string literal, Huffman-encoded only when that is shorter. */
function writeString(dst: Buffer, pos: number, s: string): number {
  const huffmanLength = huffmanEncodedLength(s);
  if (huffmanLength < s.length) {
    pos = writeInt(dst, pos, 0x80, 0x7f, huffmanLength);
    return huffmanEncode(s, dst, pos);
  }
  pos = writeInt(dst, pos, 0, 0x7f, s.length);
  latin1Write(dst, s, pos);
  return pos + s.length;
}

/**
 * An upper bound of the block HpackEncoder produces for `flat`, whatever the tables hold: two size
 * updates (6 octets each at most), then per field its raw octets (Huffman is used only when
 * shorter) with their §5.1 length prefixes, plus 4 octets: the representation octet, or an index
 * of at most 5 octets (62 + 2^27 entries) standing for the name's at least 1 length octet. That
 * is at most 12 + the sum of (length + 6) over the strings while they are under 2 MiB.
 */
export function hpackEncodedLengthBound(flat: readonly string[]): number {
  let bound = 12 + 4 * (flat.length >>> 1);
  for (let i = 0; i < flat.length; i++) {
    const n = flat[i]!.length;
    bound += n + (n < 127 ? 1 : n < 127 + 2 ** 7 ? 2 : n < 127 + 2 ** 14 ? 3 : n < 127 + 2 ** 21 ? 4 : n < 127 + 2 ** 28 ? 5 : 6);
  }
  return bound;
}

/** Reused by encode() for blocks of unknown length before the exact-size copy. */
let encodeScratch = Buffer.allocUnsafeSlow(4096);

/**
 * Encodes our header blocks: exact matches as indices, other fields as literals, indexed for
 * later blocks unless the field is volatile, large or sensitive (see NAME_MODES and #field).
 */
export class HpackEncoder {
  readonly #table: EncoderTable;
  /** Our own ceiling for the table, whatever the peer allows. */
  readonly #limit: number;
  /** When >= 0, a size update is due, and this is the smallest size set since the last block (§4.2). */
  #pendingMin = -1;

  /**
   * `tableSize` is our ceiling for the table: a peer's larger SETTINGS_HEADER_TABLE_SIZE is not
   * used beyond it (the memory is ours to spend; §4.2 lets an encoder use less than allowed).
   * The table starts at the smaller of it and 4096, the size the peer's decoder starts with
   * (RFC 9113 §6.5.2); using less than the decoder's size needs no size update, as the decoder
   * just keeps entries we never refer to.
   */
  constructor(tableSize: number = DEFAULT_TABLE_SIZE) {
    checkSize(tableSize, 'tableSize');
    this.#limit = tableSize;
    this.#table = new EncoderTable(Math.min(tableSize, DEFAULT_TABLE_SIZE));
  }

  /** Octets the dynamic table holds (§4.1), for tests and diagnostics. */
  get tableSize(): number {
    return this.#table.size;
  }

  /** Entries in the dynamic table. */
  get tableEntries(): number {
    return this.#table.count;
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE. The table shrinks now if needed, and the next block
   * begins with the size update(s) (§4.2, §6.3).
   */
  setPeerMaxTableSize(size: number): void {
    checkSize(size, 'the peer table size');
    const capacity = Math.min(size, this.#limit);
    this.#table.setCapacity(capacity);
    if (this.#pendingMin < 0 || capacity < this.#pendingMin) this.#pendingMin = capacity;
  }

  encode(flat: readonly string[]): Buffer {
    const bound = hpackEncodedLengthBound(flat);
    if (bound > MAX_KEPT_SCRATCH) {
      // Rare (a header section over 64 KiB): not worth a copy nor a scratch kept that large.
      const buf = Buffer.allocUnsafeSlow(bound);
      return buf.subarray(0, this.#write(flat, buf, 0));
    }
    if (bound > encodeScratch.length) encodeScratch = Buffer.allocUnsafeSlow(Math.max(bound, 2 * encodeScratch.length));
    const end = this.#write(flat, encodeScratch, 0);
    const out = Buffer.allocUnsafe(end);
    // A small block (the usual response) is copied faster by a loop than by a call into C++.
    if (end <= 64) for (let i = 0; i < end; i++) out[i] = encodeScratch[i]!;
    else encodeScratch.copy(out, 0, 0, end);
    return out;
  }

  /**
   * Encodes into target at offset and returns the end offset, or -1 when the space left is below
   * hpackEncodedLengthBound(flat) (checked first, so a -1 changes no state).
   */
  encodeInto(flat: readonly string[], target: Buffer, offset: number): number {
    if (!(offset >= 0 && offset <= target.length)) throw new RangeError(`bad offset ${offset} in ${target.length} octets`);
    if (target.length - offset < hpackEncodedLengthBound(flat)) return -1;
    return this.#write(flat, target, offset);
  }

  #write(flat: readonly string[], dst: Buffer, pos: number): number {
    if (flat.length % 2 !== 0) throw new TypeError('fields must be a flat [name, value, ...] array of even length');
    const table = this.#table;
    if (this.#pendingMin >= 0) {
      // §4.2: the smallest size since the last block first (the peer then evicts as we did),
      // then the current one if it is larger.
      pos = writeInt(dst, pos, 0x20, 0x1f, this.#pendingMin);
      if (this.#pendingMin < table.capacity) pos = writeInt(dst, pos, 0x20, 0x1f, table.capacity);
      this.#pendingMin = -1;
    }
    for (let i = 0; i < flat.length; i += 2) pos = this.#field(flat[i]!, flat[i + 1]!, dst, pos);
    return pos;
  }

  #field(name: string, value: string, dst: Buffer, pos: number): number {
    const table = this.#table;
    const record = table.record(name);
    let nameIndex = 0;
    let mode = BY_SIZE;
    if (record !== undefined) {
      // §6.1: an exact match in either table is one index.
      const match = record.values.get(value);
      if (match !== undefined) return writeInt(dst, pos, 0x80, 0x7f, match > 0 ? match : table.indexOf(-match));
      // §6.2: a literal naming the field by index (static first: smaller indices).
      nameIndex = record.staticIndex > 0 ? record.staticIndex : table.indexOf(record.seq);
      mode = record.mode;
    }
    if (mode === COOKIE) mode = value.length < MIN_INDEXED_COOKIE ? NEVER : BY_SIZE;
    if (mode === BY_SIZE) {
      // A value taking more than a quarter of the table would evict several entries for a field
      // unlikely to repeat (and an entry larger than the table would just empty it, §4.4).
      const capacity = table.capacity;
      mode = value.length > capacity >>> 2 || name.length + value.length + ENTRY_OVERHEAD > capacity ? WITHOUT : INCREMENTAL;
    }
    if (mode === INCREMENTAL) pos = writeInt(dst, pos, 0x40, 0x3f, nameIndex);
    else pos = writeInt(dst, pos, mode === NEVER ? 0x10 : 0, 0x0f, nameIndex);
    if (nameIndex === 0) pos = writeString(dst, pos, name);
    pos = writeString(dst, pos, value);
    if (mode === INCREMENTAL) table.add(name, value);
    return pos;
  }
}
