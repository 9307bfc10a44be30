import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlatFields } from '../../src/core/fields.ts';
import { normalizeFields, toHttp2Headers, checkFinalStatus } from '../../src/core/outgoing-fields.ts';
import { NgiError } from '../../src/interface/errors.ts';

test('HTTP/1 raw headers: names lowercased, order and duplicates kept', () => {
  const f = FlatFields.fromHttp1(['Host', 'a', 'Set-Cookie', 'x=1', 'Accept', 'text/html', 'set-cookie', 'y=2', 'X-List', 'a', 'x-list', 'b']);
  assert.equal(f.size, 6);
  assert.deepEqual([...f].map(([n]) => n), ['host', 'set-cookie', 'accept', 'set-cookie', 'x-list', 'x-list']);
  assert.deepEqual(f.getAll('SET-COOKIE'), ['x=1', 'y=2']);
  assert.equal(f.get('set-cookie'), 'x=1', 'set-cookie is never joined');
  assert.equal(f.get('x-list'), 'a, b', 'list fields combine per RFC 9110 §5.3');
  assert.equal(f.get('missing'), undefined);
  assert.deepEqual(f.getAll('missing'), []);
  assert.equal(f.has('Accept'), true);
});

test('HTTP/2 raw headers: pseudo-headers dropped, cookie crumbs joined with "; " (RFC 9113 §8.2.3)', () => {
  const f = FlatFields.fromHttp2([':method', 'GET', ':path', '/', 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2', 'cookie', 'c=3']);
  assert.deepEqual([...f], [['cookie', 'a=1; b=2; c=3'], ['accept', '*/*']]);
  assert.equal(f.getAll('cookie').length, 1);
});

test('outgoing fields: validated, lowercased, arrays become separate lines', () => {
  const { flat, contentLength } = normalizeFields({ 'Content-Type': 'text/plain', 'Set-Cookie': ['a=1', 'b=2'], 'X-N': 5, skipped: undefined });
  assert.deepEqual(flat, ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-n', '5']);
  assert.equal(contentLength, undefined);
  assert.equal(normalizeFields([['Content-Length', '12']]).contentLength, 12);
  assert.deepEqual(toHttp2Headers(flat, { ':status': 200 }), { ':status': 200, 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-n': '5' });
});

test('outgoing fields: invalid names, values and connection-specific fields are refused with stable codes', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof NgiError);
      return e.code;
    }
    assert.fail('no error');
  };
  assert.equal(code(() => normalizeFields({ 'bad name': 'x' })), 'NGI_ERR_INVALID_FIELD_NAME');
  assert.equal(code(() => normalizeFields({ '': 'x' })), 'NGI_ERR_INVALID_FIELD_NAME');
  assert.equal(code(() => normalizeFields({ ':status': '200' })), 'NGI_ERR_FORBIDDEN_FIELD');
  assert.equal(code(() => normalizeFields({ 'x-a': 'one\r\nInjected: yes' })), 'NGI_ERR_INVALID_FIELD_VALUE');
  assert.equal(code(() => normalizeFields({ 'x-a': 'nul\0' })), 'NGI_ERR_INVALID_FIELD_VALUE');
  assert.equal(code(() => normalizeFields({ connection: 'close' })), 'NGI_ERR_FORBIDDEN_FIELD');
  assert.equal(code(() => normalizeFields({ 'transfer-encoding': 'chunked' })), 'NGI_ERR_FORBIDDEN_FIELD');
  assert.equal(code(() => normalizeFields({ 'content-length': '-1' })), 'NGI_ERR_INVALID_FIELD_VALUE');
  assert.equal(code(() => normalizeFields([['content-length', '1'], ['content-length', '2']])), 'NGI_ERR_INVALID_FIELD_VALUE');
  assert.equal(code(() => checkFinalStatus(99)), 'NGI_ERR_INVALID_STATUS');
  assert.equal(code(() => checkFinalStatus(103)), 'NGI_ERR_INVALID_STATUS');
  assert.equal(code(() => checkFinalStatus(200.5)), 'NGI_ERR_INVALID_STATUS');
  checkFinalStatus(599);
});
