import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kNext, kPrev, RunningList, type RunningEntry } from '../../src/server/running.ts';

class Entry implements RunningEntry {
  [kPrev]: RunningEntry | undefined = undefined;
  [kNext]: RunningEntry | undefined = undefined;
  constructor(readonly name: string) {}
}

test('RunningList: add, delete anywhere, delete twice, snapshot while deleting', () => {
  const list = new RunningList<Entry>();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Entry(n)) as [Entry, Entry, Entry, Entry];
  for (const e of [a, b, c, d]) list.add(e);
  assert.equal(list.size, 4);
  assert.deepEqual(list.toArray().map((e) => e.name), ['d', 'c', 'b', 'a']);
  list.delete(b); // middle
  list.delete(d); // head
  list.delete(a); // tail
  list.delete(b); // again: ignored
  list.delete(new Entry('never added')); // ignored
  assert.equal(list.size, 1);
  assert.deepEqual(list.toArray().map((e) => e.name), ['c']);
  list.add(a);
  list.add(a); // twice: ignored, the list stays a list
  list.add(c);
  assert.equal(list.size, 2);
  assert.deepEqual(list.toArray().map((e) => e.name), ['a', 'c']);
  for (const e of list.toArray()) list.delete(e);
  assert.equal(list.size, 0);
  assert.deepEqual(list.toArray(), []);
  assert.deepEqual(Object.keys(a), ['name'], 'the links are not visible as string keys');
});
