/**
 * An application that fires writes without awaiting them, while the client goes away,
 * must not take the server down (the write promises reject, and nobody handles them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { withServer } from '../helpers/server.ts';

test('un-awaited writes to a reset stream do not crash the server', async () => {
  let resets = 0;
  const app = (exchange: import('../../src/index.ts').Exchange): Promise<void> => {
    if (exchange.request.path === '/ok') {
      exchange.response.send(200, {}, 'still serving');
      return Promise.resolve();
    }
    const writer = exchange.response.start(200, { 'content-type': 'application/octet-stream' });
    const chunk = new Uint8Array(64 * 1024);
    return new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        // Deliberately not awaited.
        void writer.write(chunk);
        if (exchange.signal.aborted) {
          resets++;
          void writer.write(chunk);
          void writer.end();
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
  };
  await withServer(app, {}, async (server) => {
    const client = http2.connect(server.url);
    try {
      const stream = client.request({ ':path': '/stream' });
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      // Give the server time to hit the rejected writes.
      const deadline = Date.now() + 5000;
      while (resets === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(resets, 1, 'the application saw the cancellation');
      await new Promise((r) => setTimeout(r, 100));
      const again = client.request({ ':path': '/ok' });
      let body = '';
      again.setEncoding('utf8');
      again.on('data', (d: string) => (body += d));
      await new Promise<void>((resolve, reject) => {
        again.once('end', () => resolve());
        again.once('error', reject);
      });
      assert.equal(body, 'still serving');
    } finally {
      client.close();
    }
  });
});
