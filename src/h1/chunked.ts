/**
 * The chunked transfer coding of a request body (RFC 9112 §7.1), decoded incrementally:
 * bytes in, payload slices and trailer fields out. Strict: a chunk-size is 1-16 HEXDIG, every
 * line ends in CRLF, and chunk data is followed by exactly CRLF, so a body cannot end
 * anywhere but where a proxy in front would also see it end.
 */
import { CR, FIELD_VALUE, HEX, HTAB, LF, SP, TOKEN } from './chars.ts';
import { H1ParseError } from './errors.ts';
import { MAX_FIELD_LINES, parseFieldLine } from './request-head.ts';

const State = {
  SizeStart: 0,
  Size: 1,
  SizeSpace: 2,
  SizeLf: 4,
  Data: 5,
  DataCr: 6,
  DataLf: 7,
  Trailers: 8,
  Done: 9,
  // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 §7.1.1)
  ExtNameStart: 10,
  ExtName: 11,
  ExtAfterName: 12,
  ExtValueStart: 13,
  ExtToken: 14,
  ExtQuoted: 15,
  ExtQuotedPair: 16,
  ExtAfterValue: 17,
} as const;
type State = (typeof State)[keyof typeof State];

/** Chunk extensions a body may carry in all, bytes (node's limit since CVE-2024-22019). */
const MAX_EXTENSION_BYTES = 16 * 1024;

export class ChunkedDecoder {
  #state: State = State.SizeStart;
  #size = 0;
  #digits = 0;
  #remaining = 0;
  #extensionBytes = 0;
  readonly #maxTrailerSize: number;
  /** The trailer section as received so far (small, and rare: copied byte by byte). */
  #trailerBytes: number[] | undefined;
  /** Trailer fields, names as sent; set once the body is done. */
  trailers: string[] | undefined;

  constructor(maxTrailerSize: number) {
    this.#maxTrailerSize = maxTrailerSize;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Decodes buf[start, ...), passing payload slices (views of `buf`) to `onData`. Returns the
   * offset where the body ended (the next request starts there), or buf.length when it has
   * not ended yet. Throws H1ParseError on malformed framing.
   */
  decode(buf: Buffer, start: number, onData: (chunk: Buffer) => void): number {
    const end = buf.length;
    let i = start;
    while (i < end) {
      const state = this.#state;
      if (state === State.Data) {
        const n = Math.min(this.#remaining, end - i);
        onData(buf.subarray(i, i + n));
        i += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = State.DataCr;
        continue;
      }
      const b = buf[i++]!;
      switch (state) {
        case State.SizeStart: {
          const v = HEX[b]!;
          if (v < 0) throw new H1ParseError('H1_INVALID_CHUNK', 'a chunk-size is not hexadecimal');
          this.#size = v;
          this.#digits = 1;
          this.#state = State.Size;
          break;
        }
        case State.Size: {
          const v = HEX[b]!;
          if (v >= 0) {
            // 16 digits is 2^64; sizes past 2^53 cannot be counted exactly and are refused.
            if (++this.#digits > 16 || this.#size > (Number.MAX_SAFE_INTEGER - v) / 16) throw new H1ParseError('H1_INVALID_CHUNK', 'a chunk-size is too large');
            this.#size = this.#size * 16 + v;
          } else if (b === CR) {
            this.#state = State.SizeLf;
          } else if (b === 59 /* ; */) {
            this.#state = State.ExtNameStart;
          } else if (b === SP || b === HTAB) {
            // BWS before ";" (RFC 9112 §7.1.1).
            this.#state = State.SizeSpace;
          } else {
            throw new H1ParseError('H1_INVALID_CHUNK', 'a chunk-size line holds an invalid byte');
          }
          break;
        }
        case State.SizeSpace:
          if (b === 59) this.#state = State.ExtNameStart;
          else if (b !== SP && b !== HTAB) throw new H1ParseError('H1_INVALID_CHUNK', 'whitespace after a chunk-size not followed by an extension');
          break;
        case State.ExtNameStart:
        case State.ExtName:
        case State.ExtAfterName:
        case State.ExtValueStart:
        case State.ExtToken:
        case State.ExtQuoted:
        case State.ExtQuotedPair:
        case State.ExtAfterValue:
          if (++this.#extensionBytes > MAX_EXTENSION_BYTES) throw new H1ParseError('H1_CHUNK_EXTENSIONS_TOO_LARGE', `chunk extensions over ${MAX_EXTENSION_BYTES} bytes`);
          this.#state = extensionStep(state, b);
          break;
        case State.SizeLf:
          if (b !== LF) throw new H1ParseError('H1_INVALID_CHUNK', 'a chunk-size line does not end in CRLF');
          if (this.#size === 0) {
            this.#state = State.Trailers;
            this.#trailerBytes = [];
          } else {
            this.#remaining = this.#size;
            this.#state = State.Data;
          }
          break;
        case State.DataCr:
          if (b !== CR) throw new H1ParseError('H1_INVALID_CHUNK', 'chunk data is not followed by CRLF');
          this.#state = State.DataLf;
          break;
        case State.DataLf:
          if (b !== LF) throw new H1ParseError('H1_INVALID_CHUNK', 'chunk data is not followed by CRLF');
          this.#state = State.SizeStart;
          break;
        case State.Trailers: {
          const bytes = this.#trailerBytes!;
          bytes.push(b);
          if (bytes.length > this.#maxTrailerSize) throw new H1ParseError('H1_TRAILERS_TOO_LARGE', `the trailer section is larger than ${this.#maxTrailerSize} bytes`);
          if (b === LF) {
            const n = bytes.length;
            if (n < 2 || bytes[n - 2] !== CR) throw new H1ParseError('H1_BARE_LF', 'a trailer line ends in LF without CR');
            // The section ends with an empty line: CRLF alone, or CRLF CRLF after fields.
            if (n === 2 || (n >= 4 && bytes[n - 3] === LF)) {
              this.trailers = parseTrailers(Buffer.from(bytes));
              this.#trailerBytes = undefined;
              this.#state = State.Done;
              return i;
            }
          }
          break;
        }
        case State.Done:
          return i - 1;
      }
    }
    return end;
  }
}

const BAD_EXTENSION = 'a chunk extension is not `;name` or `;name=token` or `;name="quoted"` (RFC 9112 §7.1.1)';

/** One byte of a chunk extension: the next state, or a throw (the grammar is llhttp's strict one, BWS included). */
function extensionStep(state: State, b: number): State {
  const blank = b === SP || b === HTAB;
  switch (state) {
    case State.ExtNameStart:
      if (blank) return state;
      if (TOKEN[b] === 1) return State.ExtName;
      break;
    case State.ExtName:
      if (TOKEN[b] === 1) return state;
      if (blank) return State.ExtAfterName;
      if (b === 61 /* = */) return State.ExtValueStart;
      if (b === 59 /* ; */) return State.ExtNameStart;
      if (b === CR) return State.SizeLf;
      break;
    case State.ExtAfterName:
      if (blank) return state;
      if (b === 61) return State.ExtValueStart;
      if (b === 59) return State.ExtNameStart;
      break;
    case State.ExtValueStart:
      if (blank) return state;
      if (b === 34 /* " */) return State.ExtQuoted;
      if (TOKEN[b] === 1) return State.ExtToken;
      break;
    case State.ExtToken:
      if (TOKEN[b] === 1) return state;
      if (blank) return State.ExtAfterValue;
      if (b === 59) return State.ExtNameStart;
      if (b === CR) return State.SizeLf;
      break;
    case State.ExtQuoted:
      if (b === 34) return State.ExtAfterValue;
      if (b === 92 /* \ */) return State.ExtQuotedPair;
      // qdtext: HTAB, SP, VCHAR except '"' and '\', obs-text.
      if (FIELD_VALUE[b] === 1) return state;
      break;
    case State.ExtQuotedPair:
      if (FIELD_VALUE[b] === 1) return State.ExtQuoted;
      break;
    case State.ExtAfterValue:
      if (blank) return state;
      if (b === 59) return State.ExtNameStart;
      if (b === CR) return State.SizeLf;
      break;
  }
  throw new H1ParseError('H1_INVALID_CHUNK', BAD_EXTENSION);
}

/** The field lines of a complete trailer section (ending in CRLF CRLF, or a lone CRLF). */
function parseTrailers(section: Buffer): string[] {
  const raw: string[] = [];
  let s = 0;
  let lines = 0;
  for (;;) {
    const lf = section.indexOf(LF, s);
    if (lf - 1 === s) return raw;
    if (++lines > MAX_FIELD_LINES) throw new H1ParseError('H1_TRAILERS_TOO_LARGE', `more than ${MAX_FIELD_LINES} trailer lines`);
    parseFieldLine(section, s, lf - 1, raw);
    // RFC 9110 §6.5.1: framing and routing cannot come after the content. llhttp refuses them
    // too, so a proxy built on it and this server agree on every message. Connection neither
    // (RFC 9110 §7.6.1: connection control, not defined for trailers), nor Proxy-Connection,
    // which llhttp takes for it: llhttp acts on a trailer `connection: close` and reads nothing
    // after the body, where a server ignoring it would read on (found by the differential
    // fuzz); refusing them, NGI never reads more than llhttp.
    const name = raw[raw.length - 2]!.toLowerCase();
    if (name === 'content-length' || name === 'transfer-encoding' || name === 'host' || name === 'connection' || name === 'proxy-connection') throw new H1ParseError('H1_FORBIDDEN_TRAILER', `${name} in a trailer section`);
    s = lf + 1;
  }
}
