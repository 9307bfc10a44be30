import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePriority } from '../../src/core/priority.ts';

test('RFC 9218 priority field', () => {
  assert.deepEqual(parsePriority(undefined), { urgency: 3, incremental: false });
  assert.deepEqual(parsePriority('u=0'), { urgency: 0, incremental: false });
  assert.deepEqual(parsePriority('u=5, i'), { urgency: 5, incremental: true });
  assert.deepEqual(parsePriority('i=?0, u=7'), { urgency: 7, incremental: false });
  assert.deepEqual(parsePriority('i=?1'), { urgency: 3, incremental: true });
  // Invalid or unknown members are ignored (RFC 9218 §4).
  assert.deepEqual(parsePriority('u=9, x=1, i=maybe'), { urgency: 3, incremental: false });
  assert.deepEqual(parsePriority('u=2;foo=bar'), { urgency: 2, incremental: false });
});
