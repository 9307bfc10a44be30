/** serve() options: the defaults a user who sets nothing gets, and the refusals of bad values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions, type ServeOptions } from '../../src/server/options.ts';
import { NgiError } from '../../src/interface/errors.ts';

test('defaults: NGI\'s own HTTP/1.x parser, HTTP/2 framing and WebSocket framing, no compression', () => {
  const options = resolveOptions();
  assert.equal(options.http1Engine, 'ngi');
  assert.equal(options.http2Engine, 'ngi');
  assert.equal(options.websocket.framing, 'ngi');
  assert.equal(options.websocket.perMessageDeflate, false);
  // A partial websocket group keeps the other defaults.
  const ws = resolveOptions({ websocket: { framing: 'ws' } }).websocket;
  assert.deepEqual(ws, { ...options.websocket, framing: 'ws' });
});

test('bad values reject with NGI_ERR_INVALID_OPTION naming the option', () => {
  const cases: Array<[ServeOptions, RegExp]> = [
    [{ websocket: { framing: 'autobahn' as 'ws' } }, /websocket\.framing must be 'ngi' or 'ws', got "autobahn"/],
    [{ http1Engine: 'llhttp' as 'node' }, /http1Engine must be 'node' or 'ngi'/],
    [{ http2Engine: 'nghttp2' as 'node' }, /http2Engine must be 'node' or 'ngi'/],
    [{ websocket: { maxMessageSize: 0 } }, /websocket\.maxMessageSize must be a number from 1/],
    [{ websocket: { closeTimeout: -1 } }, /websocket\.closeTimeout must be a number from 0/],
    [{ port: 65536 }, /port must be an integer from 0 to 65535/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => resolveOptions(options),
      (error: unknown) => error instanceof NgiError && error.code === 'NGI_ERR_INVALID_OPTION' && message.test(error.message),
      JSON.stringify(options),
    );
  }
});
