import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyPreface, HTTP2_PREFACE } from '../../src/core/preface.ts';

test('the full HTTP/2 preface is h2, its prefixes need more bytes', () => {
  assert.equal(classifyPreface(HTTP2_PREFACE), 'h2');
  assert.equal(classifyPreface(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4])])), 'h2');
  for (let n = 0; n < HTTP2_PREFACE.length; n++) assert.equal(classifyPreface(HTTP2_PREFACE.subarray(0, n)), 'need-more', `prefix of ${n}`);
});

test('HTTP/1 requests are recognised at their first differing byte', () => {
  assert.equal(classifyPreface(Buffer.from('GET / HTTP/1.1\r\n')), 'http/1');
  assert.equal(classifyPreface(Buffer.from('P')), 'need-more');
  assert.equal(classifyPreface(Buffer.from('PO')), 'http/1');
  assert.equal(classifyPreface(Buffer.from('PUT')), 'http/1');
  assert.equal(classifyPreface(Buffer.from('PRI * HTTP/1.1')), 'http/1');
});
