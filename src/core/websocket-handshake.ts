/**
 * The server side of the WebSocket opening handshake, for both transports:
 * RFC 6455 §4.2 (HTTP/1.1 Upgrade) and RFC 8441 §4-5 (HTTP/2 extended CONNECT).
 * Pure functions of the request's fields; the glue writes the answer.
 */
import { createHash } from 'node:crypto';
import type { Fields } from '../interface/fields.ts';
import { hasToken } from './fields.ts';

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A base64-encoded 16-byte value (RFC 6455 §4.1). */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 6455 §4.1: subprotocols are tokens. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export type HandshakeCheck =
  | { ok: true; key: string | undefined; subprotocols: string[] }
  | { ok: false; status: number; message: string; headers?: Record<string, string> };


/** Sec-WebSocket-Protocol: the client's offer, in order, duplicates removed. */
export function parseSubprotocols(fields: Fields): string[] | undefined {
  const offered: string[] = [];
  for (const value of fields.getAll('sec-websocket-protocol')) {
    for (const part of value.split(',')) {
      const name = part.trim();
      if (!TOKEN.test(name)) return undefined;
      if (!offered.includes(name)) offered.push(name);
    }
  }
  return offered;
}

/**
 * Whether a request is a WebSocket opening handshake we can accept. On HTTP/1.1:
 * GET, Upgrade: websocket, Connection: upgrade, a valid key, version 13 (RFC 6455 §4.2.1);
 * on HTTP/2: CONNECT with :protocol websocket and version 13 (RFC 8441 §5).
 */
export function checkHandshake(transport: 'http/1.1' | 'h2', method: string, fields: Fields): HandshakeCheck {
  if (transport === 'http/1.1') {
    if (method !== 'GET') return { ok: false, status: 405, message: 'a WebSocket handshake must be a GET request', headers: { allow: 'GET' } };
    if (!hasToken(fields.get('upgrade'), 'websocket')) return { ok: false, status: 400, message: 'missing Upgrade: websocket' };
    if (!hasToken(fields.get('connection'), 'upgrade')) return { ok: false, status: 400, message: 'missing Connection: upgrade' };
  }
  const key = fields.get('sec-websocket-key')?.trim();
  if (transport === 'http/1.1' && (key === undefined || !KEY.test(key))) {
    return { ok: false, status: 400, message: 'missing or invalid Sec-WebSocket-Key' };
  }
  if (fields.get('sec-websocket-version')?.trim() !== '13') {
    // RFC 6455 §4.4: answer with the versions we do support.
    return { ok: false, status: 426, message: 'unsupported Sec-WebSocket-Version (13 is supported)', headers: { 'sec-websocket-version': '13' } };
  }
  const subprotocols = parseSubprotocols(fields);
  if (subprotocols === undefined) return { ok: false, status: 400, message: 'invalid Sec-WebSocket-Protocol' };
  return { ok: true, key, subprotocols };
}
