import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptKey, checkHandshake } from '../../src/core/websocket-handshake.ts';
import { FlatFields } from '../../src/core/fields.ts';

const h1 = (lines: [string, string][]) => FlatFields.fromLines(lines);
const valid: [string, string][] = [
  ['Upgrade', 'websocket'],
  ['Connection', 'keep-alive, Upgrade'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
  ['Sec-WebSocket-Version', '13'],
];

test('RFC 6455 §1.3 accept key', () => {
  assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('a valid HTTP/1.1 handshake, with subprotocols in the client order', () => {
  const check = checkHandshake('http/1.1', 'GET', h1([...valid, ['Sec-WebSocket-Protocol', 'chat, superchat'], ['sec-websocket-protocol', 'v2.json']]));
  assert.deepEqual(check, { ok: true, key: 'dGhlIHNhbXBsZSBub25jZQ==', subprotocols: ['chat', 'superchat', 'v2.json'] });
});

test('invalid HTTP/1.1 handshakes get the right status', () => {
  const without = (name: string) => valid.filter(([n]) => n !== name);
  const status = (fields: [string, string][], method = 'GET') => {
    const c = checkHandshake('http/1.1', method, h1(fields));
    return c.ok ? 200 : c.status;
  };
  assert.equal(status(valid, 'POST'), 405);
  assert.equal(status(without('Upgrade')), 400);
  assert.equal(status(without('Connection')), 400);
  assert.equal(status(without('Sec-WebSocket-Key')), 400);
  assert.equal(status([...without('Sec-WebSocket-Key'), ['Sec-WebSocket-Key', 'short==']]), 400);
  assert.equal(status([...without('Sec-WebSocket-Version'), ['Sec-WebSocket-Version', '8']]), 426);
  assert.equal(status([...valid, ['Sec-WebSocket-Protocol', 'bad proto']]), 400);
  const c = checkHandshake('http/1.1', 'GET', h1([...without('Sec-WebSocket-Version')]));
  assert.equal(c.ok, false);
  if (!c.ok) assert.deepEqual(c.headers, { 'sec-websocket-version': '13' });
});

test('RFC 8441: HTTP/2 needs no key, only version 13', () => {
  const fields = FlatFields.fromHttp2([':method', 'CONNECT', ':protocol', 'websocket', 'sec-websocket-version', '13', 'sec-websocket-protocol', 'chat']);
  assert.deepEqual(checkHandshake('h2', 'CONNECT', fields), { ok: true, key: undefined, subprotocols: ['chat'] });
  const old = FlatFields.fromHttp2([':method', 'CONNECT', 'sec-websocket-version', '8']);
  assert.equal(checkHandshake('h2', 'CONNECT', old).ok, false);
});
