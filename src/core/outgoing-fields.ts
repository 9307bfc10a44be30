/**
 * Validation and normalization of fields an application sends. Everything is checked
 * before any byte is queued, so an invalid field never half-sends a response.
 */
import type { FieldLine, FieldsInit } from '../interface/fields.ts';
import { NgiError } from '../interface/errors.ts';

/** RFC 9110 §5.1: field-name = token; tchar = "!" / "#" / ... / DIGIT / ALPHA. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * RFC 9110 §5.5: field-value = *field-content, VCHAR / obs-text / SP / HTAB inside.
 * CR, LF and NUL (and other controls) are rejected: they are how response splitting works.
 */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Connection-specific fields (RFC 9113 §8.2.2) that HTTP/2 forbids; on HTTP/1.1 the
 * server itself owns framing, so `transfer-encoding` is refused there too.
 */
const HTTP2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export interface NormalizedFields {
  /** Lowercase names and values, alternating. */
  readonly flat: string[];
  /** The Content-Length the application declared, if it did. */
  readonly contentLength: number | undefined;
}

/**
 * Names already checked and lowercased. Applications send the same few names on every
 * response, so the token regex and toLowerCase run once per name instead of per field.
 * Bounded: a server that sends unbounded distinct names only stops caching.
 */
const checkedNames = new Map<string, string>();
const CHECKED_NAMES_MAX = 512;

export function checkFieldName(name: string): string {
  const known = checkedNames.get(name);
  if (known !== undefined) return known;
  if (!TOKEN.test(name)) {
    const shown = name.charCodeAt(0) === 58 ? 'pseudo-header fields are set by the server' : 'not an RFC 9110 token';
    throw new NgiError(name.charCodeAt(0) === 58 ? 'FORBIDDEN_FIELD' : 'INVALID_FIELD_NAME', `invalid field name ${JSON.stringify(name)}: ${shown}`);
  }
  const lower = name.toLowerCase();
  if (checkedNames.size < CHECKED_NAMES_MAX) checkedNames.set(name, lower);
  return lower;
}

export function checkFieldValue(name: string, value: string): string {
  if (INVALID_VALUE.test(value)) {
    throw new NgiError('INVALID_FIELD_VALUE', `invalid value for field ${JSON.stringify(name)}: control characters (CR, LF, NUL, ...) are not allowed`);
  }
  return value;
}

interface Accumulator {
  flat: string[];
  contentLength: number | undefined;
}

function addField(acc: Accumulator, rawName: string, rawValue: string): void {
  const name = checkFieldName(rawName);
  const value = checkFieldValue(name, rawValue);
  if (HTTP2_FORBIDDEN.has(name)) {
    throw new NgiError('FORBIDDEN_FIELD', `field ${JSON.stringify(name)} is connection-specific: the server manages it (RFC 9113 §8.2.2)`);
  }
  if (name === 'content-length') {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || (acc.contentLength !== undefined && acc.contentLength !== n)) {
      throw new NgiError('INVALID_FIELD_VALUE', `invalid content-length ${JSON.stringify(value)}`);
    }
    if (acc.contentLength !== undefined) return; // an identical repeat is dropped (RFC 9110 §8.6)
    acc.contentLength = n;
  }
  acc.flat.push(name, value);
}

/**
 * Validates and lowercases response or trailer fields. `transfer-encoding` and the
 * other connection-specific fields are refused: the server frames the message itself,
 * and HTTP/2 forbids them (RFC 9113 §8.2.2). Plain loops, not a generator: this runs for
 * every response.
 */
export function normalizeFields(init: FieldsInit | undefined): NormalizedFields {
  const acc: Accumulator = { flat: [], contentLength: undefined };
  if (init === undefined) return acc;
  if (Symbol.iterator in init) {
    for (const [name, value] of init as Iterable<FieldLine>) addField(acc, name, typeof value === 'string' ? value : String(value));
    return acc;
  }
  const record = init as Readonly<Record<string, string | number | readonly string[] | undefined>>;
  for (const name in record) {
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value === 'string') addField(acc, name, value);
    else if (typeof value === 'number') addField(acc, name, String(value));
    else for (const v of value) addField(acc, name, v);
  }
  return acc;
}

/** Fields as the node:http2 headers object: repeated names become arrays. */
export function toHttp2Headers(flat: readonly string[], target: Record<string, string | string[] | number>): Record<string, string | string[] | number> {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const value = flat[i + 1]!;
    const prev = target[name];
    if (prev === undefined) target[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else target[name] = [String(prev), value];
  }
  return target;
}

export function checkFinalStatus(status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new NgiError('INVALID_STATUS', `invalid final status ${String(status)}: must be an integer from 200 to 599`);
  }
}

/** RFC 9110 §6.4.1: these responses never carry content. */
export function statusForbidsBody(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}

/** Removes every line of field `name` (lowercase) from a flat [name, value, ...] list. */
export function dropField(flat: string[], name: string): void {
  for (let i = flat.length - 2; i >= 0; i -= 2) if (flat[i] === name) flat.splice(i, 2);
}
