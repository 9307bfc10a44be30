/**
 * The request head of HTTP/1.x (RFC 9112 §2-§6), bytes in, a RequestHead out: sans-IO, no
 * sockets. Strict where leniency is how request smuggling works (RFC 9112 §11.2): bare LF,
 * obs-fold, whitespace before the colon, duplicate or malformed Content-Length, Content-Length
 * with Transfer-Encoding, and a Transfer-Encoding whose final coding is not chunked are all
 * refused, the way llhttp refuses them in its strict mode.
 */
import { COLON, CR, FIELD_VALUE, HTAB, LF, SP, TARGET, TOKEN } from './chars.ts';
import { H1ParseError } from './errors.ts';

/**
 * buf.latin1Slice(s, e): node's own fast path behind toString('latin1', s, e), without its
 * argument checks (undici reads heads the same way). Latin-1 keeps every byte as one char, as
 * node's rawHeaders do.
 */
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1Buffer).latin1Slice(start, end);
}

/** Field lines in one head (or trailer section), beyond which it is refused with 431. */
export const MAX_FIELD_LINES = 256;

export class RequestHead {
  method = '';
  /** The request-target as sent (origin-form, absolute-form, authority-form or `*`). */
  target = '';
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor = 1;
  /** Field names as sent and values with their OWS trimmed, alternating. */
  raw: string[] = [];
  contentLength: number | undefined = undefined;
  /** Transfer-Encoding: chunked (the only coding accepted). */
  chunked = false;
  /** The connection persists after this exchange (RFC 9112 §9.3). */
  keepAlive = true;
  /** Connection carries the `upgrade` option (RFC 9110 §7.8). */
  connectionUpgrade = false;
  upgrade: string | undefined = undefined;
  expect: string | undefined = undefined;
}

/**
 * Where the head in a buffer ends, found incrementally: feed it the same buffer (grown) again
 * and it goes on from where it stopped, so a head that trickles in is scanned once.
 */
export class HeadScanner {
  readonly #maxSize: number;
  /** Offsets, from the head's start, of each line's LF. */
  readonly lineEnds: Uint32Array = new Uint32Array(MAX_FIELD_LINES + 2);
  lines = 0;
  /** Offset of the request line: empty lines before it are ignored (RFC 9112 §2.2). */
  skipped = 0;
  #scanned = 0;
  #lineStart = 0;

  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  reset(): void {
    this.lines = 0;
    this.skipped = 0;
    this.#scanned = 0;
    this.#lineStart = 0;
  }

  /**
   * The offset after the blank line ending the head that starts at `start`, or -1 when more
   * bytes are needed. Throws on a bare LF (RFC 9112 §2.2 lets a server refuse it; accepting
   * it where a proxy does not is a smuggling vector) and on a head over the size limit.
   */
  scan(buf: Buffer, start: number): number {
    const end = buf.length;
    let pos = start + this.#scanned;
    for (;;) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        this.#scanned = end - start;
        if (end - start > this.#maxSize) {
          throw this.lines === 0
            ? new H1ParseError('H1_URI_TOO_LONG', 'the request line is longer than the header size limit')
            : new H1ParseError('H1_HEADERS_TOO_LARGE', `the request head is larger than ${this.#maxSize} bytes`);
        }
        return -1;
      }
      if (lf - start > this.#maxSize) {
        // The same code as above for the same bytes, however they were split (a request line
        // over the limit is 414, RFC 9112 §3; a head over it 431, RFC 6585 §5): found by the
        // differential fuzz, whose request line was 431 whole and 414 byte by byte.
        throw this.lines === 0
          ? new H1ParseError('H1_URI_TOO_LONG', 'the request line is longer than the header size limit')
          : new H1ParseError('H1_HEADERS_TOO_LARGE', `the request head is larger than ${this.#maxSize} bytes`);
      }
      if (lf === start || buf[lf - 1] !== CR) throw new H1ParseError('H1_BARE_LF', 'a line ends in LF without CR');
      const offset = lf - start;
      pos = lf + 1;
      if (offset - 1 === this.#lineStart) {
        if (this.lines > 0) return pos;
        this.skipped = this.#lineStart = offset + 1;
        continue;
      }
      if (this.lines > MAX_FIELD_LINES) throw new H1ParseError('H1_HEADERS_TOO_LARGE', `more than ${MAX_FIELD_LINES} field lines`);
      this.lineEnds[this.lines++] = offset;
      this.#lineStart = offset + 1;
    }
  }
}

/** Whether buf[s, s + name.length) is `name` (lowercase letters and '-') in any case. */
function nameIs(buf: Buffer, s: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if ((buf[s + i]! | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * The comma-separated elements of a list field, lowercased, empty ones dropped (RFC 9110
 * §5.6.1). Only SP and HTAB are trimmed: String#trim() would also strip U+00A0, and a
 * `chunked\xA0` that one parser takes for chunked and another does not is a smuggling vector.
 */
function listElements(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    let s = 0;
    let e = part.length;
    while (s < e && (part.charCodeAt(s) === SP || part.charCodeAt(s) === HTAB)) s++;
    while (e > s && (part.charCodeAt(e - 1) === SP || part.charCodeAt(e - 1) === HTAB)) e--;
    if (e > s) out.push(part.slice(s, e).toLowerCase());
  }
  return out;
}

/** A transfer-coding is a token (RFC 9112 §7), with parameters after ";" (none is accepted here). */
const CODING = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * RFC 9112 §3.2: origin-form (`/...`), absolute-form (`scheme://...`), authority-form for
 * CONNECT only, asterisk-form (`*`). Anything else is refused, as llhttp refuses it.
 */
function checkTargetForm(buf: Buffer, s: number, e: number, method: string): void {
  const first = buf[s]!;
  if (first === 47 /* / */) return;
  if (first === 42 /* * */ && e - s === 1) return;
  if (method === 'CONNECT') return;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://".
  let i = s;
  if (((first | 0x20) < 0x61 || (first | 0x20) > 0x7a)) throw new H1ParseError('H1_INVALID_REQUEST_LINE', 'the request-target is not in origin, absolute or asterisk form');
  while (i < e && TOKEN[buf[i]!] === 1 && buf[i] !== 58) i++;
  if (e - i < 3 || buf[i] !== 58 || buf[i + 1] !== 47 || buf[i + 2] !== 47) throw new H1ParseError('H1_INVALID_REQUEST_LINE', 'the request-target is not in origin, absolute or asterisk form');
}

function parseRequestLine(buf: Buffer, s: number, e: number, head: RequestHead): void {
  let i = s;
  while (i < e && TOKEN[buf[i]!] === 1) i++;
  if (i === s || i >= e || buf[i] !== SP) throw new H1ParseError('H1_INVALID_REQUEST_LINE', 'the method is not a token followed by one space');
  // The commonest method without allocating a string for it.
  head.method = i - s === 3 && buf[s] === 71 && buf[s + 1] === 69 && buf[s + 2] === 84 ? 'GET' : latin1(buf, s, i);
  const t = ++i;
  while (i < e && TARGET[buf[i]!] === 1) i++;
  if (i === t || i >= e || buf[i] !== SP) throw new H1ParseError('H1_INVALID_REQUEST_LINE', 'the request-target is empty or holds a space or control character');
  head.target = latin1(buf, t, i);
  checkTargetForm(buf, t, i, head.method);
  i++;
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3).
  if (e - i === 8 && buf[i] === 72 && buf[i + 1] === 84 && buf[i + 2] === 84 && buf[i + 3] === 80 && buf[i + 4] === 47 && buf[i + 6] === 46) {
    const major = buf[i + 5]! - 48;
    const minor = buf[i + 7]! - 48;
    if (major >= 0 && major <= 9 && minor >= 0 && minor <= 9) {
      if (major === 1 && minor <= 1) {
        head.minor = minor;
        return;
      }
      throw new H1ParseError('H1_UNSUPPORTED_VERSION', `HTTP/${major}.${minor} is not supported`);
    }
  }
  throw new H1ParseError('H1_INVALID_REQUEST_LINE', 'the request line does not end in HTTP/1.0 or HTTP/1.1');
}

/**
 * One field line [s, e) (without its CRLF) appended to `raw`: `name ":" OWS value OWS`
 * (RFC 9112 §5). Returns the index of the name's end, for the caller's checks.
 */
export function parseFieldLine(buf: Buffer, s: number, e: number, raw: string[]): number {
  const first = buf[s];
  // RFC 9112 §5.2: obs-fold is refused (a server may reject it with 400).
  if (first === SP || first === HTAB) throw new H1ParseError('H1_OBS_FOLD', 'a field line starts with whitespace (obs-fold)');
  let i = s;
  while (i < e && TOKEN[buf[i]!] === 1) i++;
  // RFC 9112 §5.1: no whitespace between the name and the colon; 400 for it.
  if (i === s || i === e || buf[i] !== COLON) throw new H1ParseError('H1_INVALID_FIELD_NAME', 'a field name is empty, not a token, or not followed by a colon');
  const nameEnd = i;
  i++;
  while (i < e && (buf[i] === SP || buf[i] === HTAB)) i++;
  let v = e;
  while (v > i && (buf[v - 1] === SP || buf[v - 1] === HTAB)) v--;
  for (let j = i; j < v; j++) {
    if (FIELD_VALUE[buf[j]!] !== 1) throw new H1ParseError('H1_INVALID_FIELD_VALUE', 'a field value holds a control character (CR, NUL, DEL, ...)');
  }
  raw.push(latin1(buf, s, nameEnd), latin1(buf, i, v));
  return nameEnd;
}

/**
 * Whether the field line ending at `e` has a tab in the whitespace after its value. HTAB is OWS
 * (RFC 9110 §5.6.3), but llhttp refuses it after a framing field's value: a proxy that then
 * drops the field as invalid would frame the message differently from this server.
 */
function trailingTab(buf: Buffer, e: number): boolean {
  while (e > 0 && (buf[e - 1] === SP || buf[e - 1] === HTAB)) {
    if (buf[e - 1] === HTAB) return true;
    e--;
  }
  return false;
}

/** 1*DIGIT, at most 2^53 - 1 (RFC 9110 §8.6); a list of values, even equal ones, is refused. */
function parseContentLength(value: string): number {
  if (value.length === 0 || value.length > 16) throw new H1ParseError('H1_INVALID_CONTENT_LENGTH', `invalid content-length ${JSON.stringify(value)}`);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw new H1ParseError('H1_INVALID_CONTENT_LENGTH', `invalid content-length ${JSON.stringify(value)}`);
    n = n * 10 + d;
  }
  if (n > Number.MAX_SAFE_INTEGER) throw new H1ParseError('H1_INVALID_CONTENT_LENGTH', 'content-length is too large');
  return n;
}

/**
 * Parses the head scanned by `scanner` in buf[start, ...). The framing fields are settled
 * here, with the RFC 9112 §6.3 rules a server must apply to requests.
 */
export function parseRequestHead(buf: Buffer, start: number, scanner: HeadScanner): RequestHead {
  const head = new RequestHead();
  const ends = scanner.lineEnds;
  const lines = scanner.lines;
  // Each line is [lineStart, LF - 1): the CR before each LF was checked by the scanner.
  parseRequestLine(buf, start + scanner.skipped, start + ends[0]! - 1, head);
  const raw = head.raw;
  let hosts = 0;
  let transferEncoding: string | undefined;
  let close = false;
  let keepAlive = false;
  for (let l = 1; l < lines; l++) {
    const s = start + ends[l - 1]! + 1;
    const e = start + ends[l]! - 1;
    const nameLength = parseFieldLine(buf, s, e, raw) - s;
    const value = raw[raw.length - 1]!;
    switch (nameLength) {
      case 4:
        if (nameIs(buf, s, 'host')) hosts++;
        break;
      case 6:
        if (nameIs(buf, s, 'expect')) head.expect = head.expect === undefined ? value : `${head.expect}, ${value}`;
        break;
      case 7:
        if (nameIs(buf, s, 'upgrade')) head.upgrade = head.upgrade === undefined ? value : `${head.upgrade}, ${value}`;
        break;
      case 10:
        if (nameIs(buf, s, 'connection')) {
          for (const option of listElements(value)) {
            if (option === 'close') close = true;
            else if (option === 'keep-alive') keepAlive = true;
            else if (option === 'upgrade') head.connectionUpgrade = true;
          }
        }
        break;
      case 14:
        if (nameIs(buf, s, 'content-length')) {
          if (head.contentLength !== undefined) throw new H1ParseError('H1_DUPLICATE_CONTENT_LENGTH', 'more than one content-length field line');
          if (trailingTab(buf, e)) throw new H1ParseError('H1_INVALID_CONTENT_LENGTH', 'a tab after the content-length value');
          head.contentLength = parseContentLength(value);
        }
        break;
      case 16:
        // Proxy-Connection (never standardized, RFC 9112 Appendix C.2.2): llhttp reads it as
        // Connection. Its "close" is honored (RFC 9112 §9.6: a server may close at any time),
        // so NGI never reads on where llhttp stops (found by the differential fuzz); its
        // "keep-alive" is not: reading less than llhttp frames nothing differently.
        if (nameIs(buf, s, 'proxy-connection') && listElements(value).includes('close')) close = true;
        break;
      case 17:
        if (nameIs(buf, s, 'transfer-encoding')) {
          if (trailingTab(buf, e)) throw new H1ParseError('H1_INVALID_TRANSFER_ENCODING', 'a tab after the transfer-encoding value');
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
        }
        break;
    }
  }
  if (transferEncoding !== undefined) {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (head.minor === 0) throw new H1ParseError('H1_INVALID_TRANSFER_ENCODING', 'transfer-encoding in an HTTP/1.0 request');
    // RFC 9112 §6.3 (3): both present is a smuggling attempt as often as not; refused.
    if (head.contentLength !== undefined) throw new H1ParseError('H1_CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 'both content-length and transfer-encoding');
    const codings = listElements(transferEncoding);
    // RFC 9110 §5.6.1 lets a recipient skip empty list elements, but llhttp (and proxies built
    // on it) refuse `chunked,`: a framing field is read the strict way or not at all.
    if (codings.length !== transferEncoding.split(',').length) throw new H1ParseError('H1_INVALID_TRANSFER_ENCODING', `transfer-encoding ${JSON.stringify(transferEncoding)} has an empty element`);
    for (const coding of codings) {
      if (!CODING.test(coding)) throw new H1ParseError('H1_INVALID_TRANSFER_ENCODING', `transfer-encoding ${JSON.stringify(transferEncoding)} holds something other than a coding name`);
    }
    // RFC 9112 §6.3 (4): chunked must be the final coding, and applied once (§7).
    if (codings.length === 0 || codings[codings.length - 1] !== 'chunked' || codings.indexOf('chunked') !== codings.length - 1) {
      throw new H1ParseError('H1_INVALID_TRANSFER_ENCODING', `transfer-encoding ${JSON.stringify(transferEncoding)} does not end in a single chunked`);
    }
    // RFC 9112 §6.1: a coding the server does not understand gets 501.
    if (codings.length > 1) throw new H1ParseError('H1_UNSUPPORTED_TRANSFER_CODING', `transfer coding ${JSON.stringify(codings[0])} is not supported`);
    head.chunked = true;
  }
  // RFC 9112 §3.2: exactly one Host in an HTTP/1.1 request, 400 otherwise.
  if (hosts > 1) throw new H1ParseError('H1_DUPLICATE_HOST', 'more than one host field line');
  if (hosts === 0 && head.minor === 1) throw new H1ParseError('H1_MISSING_HOST', 'an HTTP/1.1 request without host');
  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  head.keepAlive = !close && (head.minor === 1 || keepAlive);
  return head;
}
