/** The HPACK static table (RFC 7541 §2.3.1, Appendix A) and the encoder's lookups into it. */

/** Entry i (1-based in HPACK, so index 0 here is unused) is [STATIC_NAMES[i], STATIC_VALUES[i]]. */
const ENTRIES: readonly (readonly [string, string])[] = [
  ['', ''], // index 0 is not a valid HPACK index (RFC 7541 §6.1)
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** Number of static entries; dynamic indices start right after (RFC 7541 §2.3.3). */
export const STATIC_TABLE_LENGTH = ENTRIES.length - 1; // 61

// Two flat arrays so the decoder's lookup is two array loads, with no tuple to unpack.
export const STATIC_NAMES: readonly string[] = ENTRIES.map((e) => e[0]);
export const STATIC_VALUES: readonly string[] = ENTRIES.map((e) => e[1]);

/** For the encoder: a name's lowest static index and its static entries by value. */
export interface StaticName {
  readonly index: number;
  readonly values: ReadonlyMap<string, number>;
}

/**
 * name → { lowest index, value → index }. Two levels rather than a `name + '\0' + value` key,
 * so a lookup concatenates (allocates) nothing.
 */
export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = (() => {
  const byName = new Map<string, { index: number; values: Map<string, number> }>();
  for (let i = 1; i <= STATIC_TABLE_LENGTH; i++) {
    const [name, value] = ENTRIES[i]!;
    let entry = byName.get(name);
    if (entry === undefined) byName.set(name, (entry = { index: i, values: new Map() }));
    if (!entry.values.has(value)) entry.values.set(value, i);
  }
  return byName;
})();
