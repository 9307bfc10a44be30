/**
 * Received field sections as an ordered multimap over a flat [name, value, ...] array,
 * the shape both node:http (`rawHeaders`) and node:http2 (`rawHeaders` of 'stream') give.
 * Nothing is copied until the application looks.
 */
import type { FieldLine, Fields } from '../interface/fields.ts';

const EMPTY: readonly string[] = [];

export class FlatFields implements Fields {
  /** Lowercase names and values, alternating. */
  readonly #flat: readonly string[];

  private constructor(flat: readonly string[]) {
    this.#flat = flat;
  }

  /** From an HTTP/1.x raw array: names are lowercased (RFC 9110 §5.1: case-insensitive). */
  static fromHttp1(raw: readonly string[]): FlatFields {
    const flat = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i += 2) {
      flat[i] = raw[i]!.toLowerCase();
      flat[i + 1] = raw[i + 1]!;
    }
    return new FlatFields(flat);
  }

  /**
   * From an HTTP/2 raw array (already lowercase, RFC 9113 §8.2.1). Pseudo-header fields
   * are left out, and cookie crumbs are joined with "; " into one field at the place of
   * the first (RFC 9113 §8.2.3), so HTTP/1.1 and HTTP/2 applications see the same cookie.
   */
  static fromHttp2(raw: readonly string[]): FlatFields {
    const flat: string[] = [];
    let cookieAt = -1;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      if (name === 'cookie') {
        if (cookieAt >= 0) {
          flat[cookieAt] += '; ' + raw[i + 1]!;
          continue;
        }
        cookieAt = flat.length + 1;
      }
      flat.push(name, raw[i + 1]!);
    }
    return new FlatFields(flat);
  }

  static fromLines(lines: Iterable<FieldLine>): FlatFields {
    const flat: string[] = [];
    for (const [name, value] of lines) flat.push(name.toLowerCase(), value);
    return new FlatFields(flat);
  }

  static readonly empty: FlatFields = new FlatFields(EMPTY);

  get size(): number {
    return this.#flat.length >> 1;
  }

  get(name: string): string | undefined {
    const flat = this.#flat;
    const key = name.toLowerCase();
    let found: string | undefined;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] !== key) continue;
      if (found === undefined) found = flat[i + 1]!;
      else if (key === 'set-cookie') return found;
      // Cookie pairs are separated by "; " (RFC 6265 §5.4), other list fields by ", ".
      else found += (key === 'cookie' ? '; ' : ', ') + flat[i + 1]!;
    }
    return found;
  }

  getAll(name: string): string[] {
    const flat = this.#flat;
    const key = name.toLowerCase();
    const values: string[] = [];
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === key) values.push(flat[i + 1]!);
    return values;
  }

  has(name: string): boolean {
    const flat = this.#flat;
    const key = name.toLowerCase();
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === key) return true;
    return false;
  }

  *[Symbol.iterator](): IterableIterator<FieldLine> {
    const flat = this.#flat;
    for (let i = 0; i < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!] as const;
  }

  /** A plain object for logging and JSON: repeated names become arrays. */
  toJSON(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of this) {
      const prev = out[name];
      if (prev === undefined) out[name] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else out[name] = [prev, value];
    }
    return out;
  }
}

/**
 * Whether a comma-separated list field value (RFC 9110 §5.6.1) holds `token`, compared
 * case-insensitively, parameters after ';' ignored. `token` must be lowercase.
 */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(',')) if (part.split(';')[0]!.trim().toLowerCase() === token) return true;
  return false;
}

/** Whether the client announced it accepts trailers: `TE: trailers` (RFC 9110 §10.1.4). */
export function acceptsTrailers(fields: Fields): boolean {
  for (const value of fields.getAll('te')) if (hasToken(value, 'trailers')) return true;
  return false;
}

/** The value of `name` (lowercase) in a flat [name, value, ...] list (its first line), without building a field map. */
export function findField(flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}
