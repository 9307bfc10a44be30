import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type ConnectionOptions } from 'node:tls';
import { describe, it } from 'node:test';

import { createSelfSignedCertificate } from '../../src/tls/self-signed.ts';

const DAY_MS = 86_400_000;

/** Starts a loopback TLS echo server, connects a verifying client, and returns what came back. */
async function handshakeAndEcho(
  pair: { cert: string; key: string },
  clientOptions: ConnectionOptions,
): Promise<string> {
  const server = createServer({ cert: pair.cert, key: pair.key }, (socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = connect({ port, ca: pair.cert, ...clientOptions });
  try {
    await once(client, 'secureConnect');
    assert.equal(client.authorized, true, String(client.authorizationError));
    client.end('ping');
    const chunks: Buffer[] = [];
    for await (const chunk of client) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    client.destroy();
    server.close();
    await once(server, 'close');
  }
}

describe('createSelfSignedCertificate', () => {
  const pair = createSelfSignedCertificate();
  const x509 = new X509Certificate(pair.cert);

  it('returns PEM certificate and PKCS#8 key', () => {
    assert.match(pair.cert, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    assert.match(pair.key, /^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(pair.key);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('is self-signed with CN=localhost and matches its private key', () => {
    assert.equal(x509.subject, 'CN=localhost');
    assert.equal(x509.issuer, 'CN=localhost');
    assert.equal(x509.verify(x509.publicKey), true);
    assert.equal(x509.checkPrivateKey(createPrivateKey(pair.key)), true);
    assert.equal(x509.ca, false);
    assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.1']); // extKeyUsage serverAuth
  });

  it('has a positive 16-byte serial that differs per certificate', () => {
    assert.match(x509.serialNumber, /^[4-7][0-9A-F]{31}$/);
    assert.notEqual(createSelfSignedCertificate().cert, pair.cert);
  });

  it('covers the default hosts', () => {
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x509.checkIP('::1'), '::1');
    assert.equal(x509.checkHost('example.com'), undefined);
    assert.equal(x509.checkIP('127.0.0.2'), undefined);
  });

  it('is valid now for the default 30 days', () => {
    const from = Date.parse(x509.validFrom);
    const to = Date.parse(x509.validTo);
    const now = Date.now();
    assert.ok(from <= now && now <= to, `${x509.validFrom} .. ${x509.validTo}`);
    assert.ok(Math.abs(from - (now - DAY_MS)) < 60_000);
    assert.ok(Math.abs(to - (now + 30 * DAY_MS)) < 60_000);
  });

  it('completes a verified TLS handshake by name', async () => {
    const echoed = await handshakeAndEcho(pair, { host: '127.0.0.1', servername: 'localhost' });
    assert.equal(echoed, 'ping');
  });

  it('completes a verified TLS handshake by IP (iPAddress SAN)', async () => {
    const echoed = await handshakeAndEcho(pair, { host: '127.0.0.1' });
    assert.equal(echoed, 'ping');
  });

  it('fails the handshake for a name not in the certificate', async () => {
    await assert.rejects(handshakeAndEcho(pair, { host: '127.0.0.1', servername: 'other.test' }), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('honours custom hosts and commonName', () => {
    const custom = new X509Certificate(
      createSelfSignedCertificate({ hosts: ['example.test', '10.1.2.3'], commonName: 'Dev Server' }).cert,
    );
    assert.equal(custom.subject, 'CN=Dev Server');
    assert.equal(custom.checkHost('example.test'), 'example.test');
    assert.equal(custom.checkIP('10.1.2.3'), '10.1.2.3');
    assert.equal(custom.checkHost('localhost'), undefined);
    assert.equal(custom.checkIP('127.0.0.1'), undefined);
  });

  it('encodes compressed and IPv4-embedded IPv6 literals', () => {
    const hosts = ['2001:db8::1', 'fe80::', '::ffff:192.0.2.7', '2001:db8:1:2:3:4:5:6', '1::2:0:0:3'];
    const custom = new X509Certificate(createSelfSignedCertificate({ hosts }).cert);
    for (const ip of hosts) assert.equal(custom.checkIP(ip), ip);
    assert.equal(custom.checkIP('2001:db8::2'), undefined);
    assert.equal(custom.checkIP('::1'), undefined);
    assert.match(custom.subjectAltName ?? '', /IP Address:2001:DB8:0:0:0:0:0:1\b/i);
  });

  it('switches to GeneralizedTime for dates from 2050', () => {
    const days = Math.ceil((Date.UTC(2051, 0, 1) - Date.now()) / DAY_MS);
    const longLived = new X509Certificate(createSelfSignedCertificate({ days }).cert);
    assert.equal(new Date(Date.parse(longLived.validTo)).getUTCFullYear(), 2051);
    assert.equal(longLived.verify(longLived.publicKey), true);
  });

  it('rejects invalid options', () => {
    assert.throws(() => createSelfSignedCertificate({ days: 0 }), RangeError);
    assert.throws(() => createSelfSignedCertificate({ hosts: [] }), RangeError);
    assert.throws(() => createSelfSignedCertificate({ hosts: ['bad host'] }), TypeError);
  });
});
