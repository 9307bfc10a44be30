/**
 * Checks a decoded request header list against RFC 9113 §8.2 and §8.3 (a malformed request is
 * a stream error of type PROTOCOL_ERROR, §8.1.1) and picks out the pseudo-header fields.
 * Pure: a function of the flat [name, value, ...] list.
 */

export interface RequestHead {
  method: string;
  scheme: string | undefined;
  authority: string | undefined;
  path: string | undefined;
  /** RFC 8441 §4 extended CONNECT. */
  protocol: string | undefined;
  /** content-length, when present (checked: digits only, one value). */
  contentLength: number | undefined;
}

/** Octets a field name may hold (§8.2.1: no controls, space, uppercase, DEL or non-ASCII); the rest of RFC 9110's token rule too. */
const NAME_OCTET = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_OCTET[c.charCodeAt(0)] = 1;

function validName(name: string, from: number): boolean {
  if (name.length <= from) return false;
  for (let i = from; i < name.length; i++) if (NAME_OCTET[name.charCodeAt(i)] !== 1) return false;
  return true;
}

/** §8.2.1: no NUL, CR or LF anywhere, no leading or trailing SP or HTAB. */
function validValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  let c = value.charCodeAt(0);
  if (c === 0x20 || c === 0x09) return false;
  c = value.charCodeAt(n - 1);
  if (c === 0x20 || c === 0x09) return false;
  for (let i = 0; i < n; i++) {
    c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

/** RFC 9110 §9.1: a method is a token. */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** §8.2.2: fields that are specific to one HTTP/1.1 connection make an HTTP/2 message malformed. */
const CONNECTION_SPECIFIC = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

/**
 * The request's pseudo-header fields, or a string saying why the list is malformed.
 * `extendedConnect`: SETTINGS_ENABLE_CONNECT_PROTOCOL was sent (RFC 8441 §3), so :protocol is allowed.
 */
export function checkRequestFields(flat: readonly string[], extendedConnect: boolean): RequestHead | string {
  let method: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let path: string | undefined;
  let protocol: string | undefined;
  let contentLength: number | undefined;
  let host: string | undefined;
  let regular = false;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const value = flat[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      // §8.3: pseudo-header fields come before every regular field, once each.
      if (regular) return `pseudo-header field ${name} after a regular field`;
      switch (name) {
        case ':method':
          if (method !== undefined) return 'duplicate :method';
          method = value;
          break;
        case ':scheme':
          if (scheme !== undefined) return 'duplicate :scheme';
          scheme = value;
          break;
        case ':authority':
          if (authority !== undefined) return 'duplicate :authority';
          authority = value;
          break;
        case ':path':
          if (path !== undefined) return 'duplicate :path';
          path = value;
          break;
        case ':protocol':
          if (!extendedConnect) return ':protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL';
          if (protocol !== undefined) return 'duplicate :protocol';
          protocol = value;
          break;
        default:
          return `unknown or response pseudo-header field ${name}`;
      }
      if (!validValue(value)) return `invalid value for ${name}`;
      continue;
    }
    regular = true;
    if (!validName(name, 0)) return `invalid field name ${JSON.stringify(name)}`;
    if (!validValue(value)) return `invalid value for ${name}`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    // §8.2.2: TE may appear, with "trailers" as its only value (a token: any case).
    if (name === 'te' && value !== 'trailers' && value.toLowerCase() !== 'trailers') return 'te other than "trailers"';
    if (name === 'host') host = host === undefined ? value : `${host},${value}`;
    if (name === 'content-length') {
      if (!/^[0-9]{1,15}$/.test(value)) return 'invalid content-length';
      const length = Number(value);
      if (contentLength !== undefined && contentLength !== length) return 'conflicting content-length';
      contentLength = length;
    }
  }
  if (method === undefined || method === '') return 'missing :method';
  // §8.3.1: a server SHOULD treat a Host that differs from :authority as malformed (hosts are
  // case-insensitive, RFC 3986 §3.2.2); one proxy routing on each would disagree otherwise.
  if (host !== undefined && authority !== undefined && host !== authority && host.toLowerCase() !== authority.toLowerCase()) return 'host differs from :authority';
  if (method !== 'GET' && method !== 'POST' && !METHOD.test(method)) return 'invalid :method';
  if (method === 'CONNECT' && protocol === undefined) {
    // §8.5: a plain CONNECT names only :authority.
    if (scheme !== undefined || path !== undefined) return 'CONNECT with :scheme or :path';
    if (authority === undefined || authority === '') return 'CONNECT without :authority';
  } else {
    if (protocol !== undefined && method !== 'CONNECT') return ':protocol on a method other than CONNECT';
    if (scheme === undefined || scheme === '') return 'missing :scheme';
    // §8.3.1: :path must not be empty for http and https URIs.
    if (path === undefined || path === '') return 'missing :path';
    // §8.3.1: origin form, or '*' for a server-wide OPTIONS.
    if (path === '*' ? method !== 'OPTIONS' : path.charCodeAt(0) !== 47 /* / */) return ':path is not in origin form';
  }
  return { method, scheme, authority, path, protocol, contentLength };
}

/** §8.1: a trailer section holds no pseudo-header fields; names, values and §8.2.2 as in any field section. */
export function checkTrailerFields(flat: readonly string[]): string | undefined {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    if (name.charCodeAt(0) === 58) return `pseudo-header field ${name} in trailers`;
    if (!validName(name, 0)) return `invalid field name ${JSON.stringify(name)}`;
    if (!validValue(flat[i + 1]!)) return `invalid value for ${name}`;
    // §8.2.2 holds for every field section of a message, trailers included.
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name} in trailers`;
  }
  return undefined;
}
