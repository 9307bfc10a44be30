import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spliceStream1, stream1Frames } from '../../src/core/h2c-upgrade.ts';
import { HTTP2_PREFACE } from '../../src/core/preface.ts';

/** A minimal HPACK decoder for literals without indexing, enough to read our own frames back. */
function decodeLiterals(block: Buffer): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  const int = (): number => {
    let v = block[i++]! & 0x7f;
    if (v < 0x7f) return v;
    let m = 0;
    let b: number;
    do {
      b = block[i++]!;
      v += (b & 0x7f) * 2 ** m;
      m += 7;
    } while (b & 0x80);
    return v;
  };
  while (i < block.length) {
    assert.equal(block[i++], 0x00, 'literal without indexing, new name');
    const nl = int();
    const name = block.subarray(i, (i += nl)).toString('latin1');
    const vl = int();
    const value = block.subarray(i, (i += vl)).toString('latin1');
    out.push([name, value]);
  }
  return out;
}

function parseFrames(bytes: Buffer): { type: number; flags: number; stream: number; payload: Buffer }[] {
  const frames = [];
  for (let i = 0; i < bytes.length; ) {
    const length = bytes.readUIntBE(i, 3);
    frames.push({ type: bytes[i + 3]!, flags: bytes[i + 4]!, stream: bytes.readUInt32BE(i + 5), payload: bytes.subarray(i + 9, i + 9 + length) });
    i += 9 + length;
  }
  return frames;
}

test('stream 1 HEADERS: pseudo-headers first, HTTP/1-only fields dropped, END_STREAM without body', () => {
  const bytes = stream1Frames({ method: 'GET', path: '/a?b=1', authority: 'example.test:80', fields: ['host', 'example.test:80', 'connection', 'Upgrade, HTTP2-Settings', 'upgrade', 'h2c', 'http2-settings', 'AAMAAABkAAQAoAAAAAIAAAAA', 'accept', '*/*', 'x-long', 'v'.repeat(300)], body: Buffer.alloc(0) });
  const frames = parseFrames(bytes);
  assert.equal(frames.length, 1);
  assert.deepEqual({ type: frames[0]!.type, flags: frames[0]!.flags, stream: frames[0]!.stream }, { type: 1, flags: 0x5, stream: 1 });
  assert.deepEqual(decodeLiterals(frames[0]!.payload), [[':method', 'GET'], [':scheme', 'http'], [':authority', 'example.test:80'], [':path', '/a?b=1'], ['accept', '*/*'], ['x-long', 'v'.repeat(300)]]);
});

test('a body becomes DATA frames of at most 16384 bytes, the last with END_STREAM', () => {
  const body = Buffer.alloc(40_000, 7);
  const frames = parseFrames(stream1Frames({ method: 'POST', path: '/', authority: 'h', fields: ['content-length', '40000'], body }));
  assert.deepEqual(frames.map((f) => [f.type, f.flags, f.payload.length]), [[1, 0x4, frames[0]!.payload.length], [0, 0, 16384], [0, 0, 16384], [0, 1, 7232]]);
  assert.ok(Buffer.concat(frames.slice(1).map((f) => f.payload)).equals(body));
});

test('a header block over 16384 bytes continues in CONTINUATION frames', () => {
  const frames = parseFrames(stream1Frames({ method: 'GET', path: '/', authority: 'h', fields: ['x-big', 'b'.repeat(20_000)], body: Buffer.alloc(0) }));
  assert.deepEqual(frames.map((f) => [f.type, f.flags]), [[1, 0x1], [9, 0x4]]);
  assert.equal(decodeLiterals(Buffer.concat(frames.map((f) => f.payload))).at(-1)![1].length, 20_000);
});

test('splicing waits for the preface and the whole SETTINGS frame, then inserts stream 1 after it', () => {
  const settings = Buffer.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
  const windowUpdate = Buffer.from([0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  const client = Buffer.concat([HTTP2_PREFACE, settings, windowUpdate]);
  const stream1 = Buffer.from('STREAM1');
  for (const cut of [0, 10, 24, 30, 24 + settings.length - 1]) {
    assert.deepEqual(spliceStream1(client.subarray(0, cut), stream1), { state: 'need-more' }, `cut at ${cut}`);
  }
  const ready = spliceStream1(client, stream1);
  assert.equal(ready.state, 'ready');
  if (ready.state === 'ready') assert.ok(ready.bytes.equals(Buffer.concat([HTTP2_PREFACE, settings, stream1, windowUpdate])));
  assert.equal(spliceStream1(Buffer.from('GET / HTTP/1.1\r\n'), stream1).state, 'invalid');
  assert.equal(spliceStream1(Buffer.concat([HTTP2_PREFACE, windowUpdate]), stream1).state, 'invalid');
});
