/**
 * receive() on one NgiWebSocket over a loopback TCP pair, with frames written by hand: the
 * test knows when the server has read them (socket.bytesRead), so "messages that came before
 * receive()" and "one handler at a time" are proven, not left to timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { NgiWebSocket } from '../../src/server/websocket.ts';
import { DEFAULT_WEBSOCKET } from '../../src/server/options.ts';
import { frame } from '../helpers/ws-frame.ts';

const textFrame = (text: string): Buffer => frame(0x1, Buffer.from(text));

/** A client Close frame with a code (RFC 6455 §5.5.1). */
function closeFrame(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return frame(0x8, payload);
}

async function pair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const [server] = await accepted;
  await once(client, 'connect');
  return {
    server,
    client,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

async function bytesRead(socket: net.Socket, at: number): Promise<void> {
  for (let i = 0; i < 500 && socket.bytesRead < at; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(socket.bytesRead >= at, `the server read ${socket.bytesRead} of ${at} bytes`);
  await tick(); // ws parses in the 'data' handler that counted them
}

test('receive(): queued messages first and never inside receive(); one handler at a time; resolves with the close', { timeout: 10_000 }, async () => {
  const { server, client, close } = await pair();
  try {
    const ws = new NgiWebSocket(server, Buffer.alloc(0), '', undefined, DEFAULT_WEBSOCKET);
    const first = Buffer.concat(['a', 'b', 'c'].map(textFrame));
    client.write(first);
    await bytesRead(server, first.length);

    const handled: string[] = [];
    let release!: () => void;
    const done = ws.receive((message) => {
      handled.push(message.data as string);
      if (message.data === 'slow') return new Promise<void>((resolve) => (release = resolve));
      return undefined;
    });
    assert.deepEqual(handled, [], 'not called inside receive()');
    await tick();
    assert.deepEqual(handled, ['a', 'b', 'c']);

    // Three messages in one write: 'd' and 'e' arrive while the promise for 'slow' is pending.
    const second = Buffer.concat(['slow', 'd', 'e'].map(textFrame));
    client.write(second);
    await bytesRead(server, first.length + second.length);
    assert.deepEqual(handled, ['a', 'b', 'c', 'slow'], 'held back behind the pending promise');
    release();
    await tick();
    assert.deepEqual(handled, ['a', 'b', 'c', 'slow', 'd', 'e']);

    client.end(closeFrame(4001));
    assert.deepEqual(await done, { code: 4001, reason: '' });
  } finally {
    close();
  }
});

test('receive(): a thenable that calls back twice settles once; a throwing then is the handler failing, and later messages are discarded', { timeout: 10_000 }, async () => {
  const { server, client, close } = await pair();
  try {
    const ws = new NgiWebSocket(server, Buffer.alloc(0), '', undefined, DEFAULT_WEBSOCKET);
    const handled: string[] = [];
    let active = 0;
    let maxActive = 0;
    let resolveTwice!: () => void;
    const done = ws.receive((message) => {
      handled.push(message.data as string);
      if (message.data === 'twice') {
        active++;
        maxActive = Math.max(maxActive, active);
        return {
          then(onFulfilled: () => void) {
            resolveTwice = () => {
              active--;
              onFulfilled();
              onFulfilled();
            };
          },
        };
      }
      if (message.data === 'next') {
        active++;
        maxActive = Math.max(maxActive, active);
        // A second pending thenable: a double callback above must not start 'after' early.
        return { then: (onFulfilled: () => void) => setTimeout(() => (active--, onFulfilled()), 50) };
      }
      if (message.data === 'bad') {
        return {
          get then(): never {
            throw new Error('then getter');
          },
        };
      }
      return undefined;
    });
    const frames = Buffer.concat(['twice', 'next', 'after', 'bad', 'dropped'].map(textFrame));
    client.write(frames);
    await bytesRead(server, frames.length);
    assert.deepEqual(handled, ['twice']);
    resolveTwice();
    await tick();
    assert.deepEqual(handled, ['twice', 'next'], 'the second callback of the same thenable is ignored');
    await assert.rejects(done, /then getter/);
    assert.deepEqual(handled, ['twice', 'next', 'after', 'bad']);
    assert.equal(maxActive, 1);
  } finally {
    close();
  }
});
