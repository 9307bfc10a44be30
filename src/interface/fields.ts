/**
 * HTTP field (header and trailer) types. See spec/http.md §1.
 *
 * A field section is an ordered multimap: names are lowercase, every field line is kept
 * in the order it arrived, and duplicates are never joined behind the application's back
 * (RFC 9110 §5.3 allows combining list-based fields; Set-Cookie cannot be, RFC 6265 §3).
 */

/** One field line: a lowercase name and its value. */
export type FieldLine = readonly [name: string, value: string];

/** A read-only view of a received field section (request headers or trailers). */
export interface Fields extends Iterable<FieldLine> {
  /**
   * The field's value: undefined when absent, the value when it occurs once, the values
   * combined with ", " when it occurs several times (RFC 9110 §5.3; `cookie` lines with
   * "; ", RFC 6265 §5.4). For `set-cookie`, which cannot be combined, the first value;
   * use getAll() for every one.
   */
  get(name: string): string | undefined;
  /** Every value of the field, in arrival order; an empty array when absent. */
  getAll(name: string): string[];
  has(name: string): boolean;
  /** The number of field lines. */
  readonly size: number;
}

/**
 * Fields an application sends. Either field lines in order, or a record whose array
 * values become one field line each (the way to send several Set-Cookie lines).
 * Names are matched case-insensitively and sent lowercase on HTTP/2 (RFC 9113 §8.2.1).
 */
export type FieldsInit =
  | Iterable<FieldLine>
  | Readonly<Record<string, string | number | readonly string[] | undefined>>;
