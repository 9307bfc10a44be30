/**
 * RFC 7540 priority signals (issue 4): reported on Node 20 with `priorities: 'rfc7540'`;
 * absent where node no longer reports them (22+) and under the default RFC 9218 mode (which
 * advertises SETTINGS_NO_RFC7540_PRIORITIES=1, so nghttp2 ignores them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { Exchange, ServeOptions } from '../../src/index.ts';
import { TEST_HTTP2_ENGINE, withServer } from '../helpers/server.ts';

// NGI's own framing reads and ignores RFC 7540 priority signals (deprecated, RFC 9113 §5.3.2), as node does from 22 on.
const NODE_REPORTS_RFC7540 = Number(process.versions.node.split('.')[0]) < 22 && TEST_HTTP2_ENGINE === 'node';

/** The app waits so that the client's PRIORITY frame arrives, then answers with what it saw. */
const app = async (exchange: Exchange): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const priority = exchange.features.priority;
  exchange.response.send(200, { 'content-type': 'application/json' }, JSON.stringify({ urgency: priority?.urgency, rfc7540: priority?.rfc7540 ?? null }));
};

async function seen(options: ServeOptions): Promise<{ urgency: number; rfc7540: { weight: number; parent: number; exclusive: boolean } | null; remote9: number | undefined }> {
  return withServer(app, options, async (server) => {
    const session = http2.connect(server.url, { remoteCustomSettings: [9] } as http2.ClientSessionOptions);
    try {
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      const stream = session.request({ ':path': '/', priority: 'u=2' }, { weight: 42 } as http2.ClientSessionRequestOptions);
      // A PRIORITY frame after the HEADERS (node:http2's client still sends it on Node 20).
      setTimeout(() => {
        try {
          (stream as unknown as { priority(o: object): void }).priority({ weight: 200, parent: 0, exclusive: true, silent: false });
        } catch {
          // Later lines removed the API; the signal simply is not sent there.
        }
      }, 50);
      let body = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (body += d));
      await new Promise((resolve, reject) => {
        stream.once('end', resolve);
        stream.once('error', reject);
      });
      const remote = (session.remoteSettings as { customSettings?: Record<number, number> }).customSettings;
      return { ...(JSON.parse(body) as { urgency: number; rfc7540: null }), remote9: remote?.[9] };
    } finally {
      session.close();
    }
  });
}

test("priorities: 'rfc7540' reports the client's RFC 7540 signals where node does, and sends no SETTINGS_NO_RFC7540_PRIORITIES", async () => {
  const result = await seen({ priorities: 'rfc7540' });
  assert.equal(result.urgency, 2, 'the RFC 9218 signal is there in both modes');
  assert.notEqual(result.remote9, 1, 'SETTINGS_NO_RFC7540_PRIORITIES is not advertised');
  if (NODE_REPORTS_RFC7540) {
    assert.deepEqual(result.rfc7540, { weight: 200, parent: 0, exclusive: true }, 'the PRIORITY frame reached the application');
  } else {
    assert.equal(result.rfc7540, null, 'absent: this node line does not report RFC 7540 signals');
  }
});

test('by default (RFC 9218) the RFC 7540 member is absent and SETTINGS_NO_RFC7540_PRIORITIES=1 is advertised', async () => {
  const result = await seen({});
  assert.equal(result.urgency, 2);
  assert.equal(result.rfc7540, null);
  assert.equal(result.remote9, 1);
});
