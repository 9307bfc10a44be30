/** Choosing HTTP/1.x or HTTP/2 on a cleartext connection from its first bytes. */

/** RFC 9113 §3.4: the client connection preface starts with this string. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type PrefaceVerdict = 'h2' | 'http/1' | 'need-more';

/**
 * Decides from the bytes received so far. As soon as a byte differs from the preface the
 * connection is HTTP/1.x (every HTTP/1 method differs from "PRI * HTTP/2.0" early), so
 * HTTP/1.1 clients that send small first packets are never kept waiting.
 */
export function classifyPreface(bytes: Uint8Array): PrefaceVerdict {
  const n = Math.min(bytes.length, HTTP2_PREFACE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== HTTP2_PREFACE[i]) return 'http/1';
  return bytes.length >= HTTP2_PREFACE.length ? 'h2' : 'need-more';
}
