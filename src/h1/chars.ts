/** Byte classes of RFC 9110 §5.6.2 and RFC 9112 §3, as lookup tables (one load per byte). */

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** field-vchar / SP / HTAB (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB. CR, LF, NUL, DEL and other controls are not. */
export const FIELD_VALUE = new Uint8Array(256);
FIELD_VALUE[0x09] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;

/**
 * Bytes of a request-target (RFC 9112 §3.2, RFC 3986): VCHAR only. Never SP or a control (how
 * request-line confusion starts), and no raw bytes >= 0x80, which RFC 3986 has no place for
 * and llhttp refuses too (clients percent-encode UTF-8 paths).
 */
export const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;

/** HEXDIG values, -1 for other bytes. */
export const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
export const COLON = 58;
