/** Only accept() may answer a WebSocket handshake with success (RFC 8441 §5, RFC 9113 §8.5). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { request as httpRequest } from 'node:http';
import type { Exchange } from '../../src/interface/exchange.ts';
import type { NgiError } from '../../src/interface/errors.ts';
import { withServer } from '../helpers/server.ts';

test('a WebSocket handshake cannot be "denied" with a 2xx: the app gets NGI_ERR_INVALID_STATUS, the client a 500', async () => {
  const errors: unknown[] = [];
  const app = (ex: Exchange): void => {
    try {
      ex.response.send(200, {}, 'not a tunnel');
    } catch (error) {
      errors.push(error);
      throw error;
    }
  };
  await withServer(app, { log: () => {} }, async (server) => {
    // HTTP/2: a 2xx would have opened the tunnel (RFC 9113 §8.5).
    const session = http2.connect(server.url);
    try {
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/', ':scheme': 'http', 'sec-websocket-version': '13' }, { endStream: false } as http2.ClientSessionRequestOptions);
      const status = await new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));
      assert.equal(status, 500);
      stream.close();
    } finally {
      session.close();
    }
    // HTTP/1.1: the same rule.
    const key = Buffer.alloc(16, 1).toString('base64');
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = httpRequest(server.url, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' } });
      req.once('response', resolve);
      req.once('upgrade', () => reject(new Error('upgraded')));
      req.once('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 500);
    res.resume();
  });
  assert.equal(errors.length, 2);
  for (const error of errors) assert.equal((error as NgiError).code, 'NGI_ERR_INVALID_STATUS');
});
