// Self-signed TLS certificates for development servers, built with node:crypto only.
//
// Node can create keys and signatures but not certificates, so this file encodes a
// minimal X.509 v3 certificate (RFC 5280) itself with a tiny ASN.1 DER encoder
// (ITU-T X.690). Only the handful of types a certificate needs are implemented.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

export interface SelfSignedCertificate {
  /** X.509 certificate, PEM ("BEGIN CERTIFICATE"). */
  cert: string;
  /** PKCS#8 private key, PEM ("BEGIN PRIVATE KEY"). */
  key: string;
}

export interface SelfSignedOptions {
  /** DNS names and IP literals the certificate is valid for. */
  hosts?: string[];
  /** Validity in days from now (notBefore is backdated one day). */
  days?: number;
  /** Subject and issuer common name. */
  commonName?: string;
}

const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];
const DAY_MS = 86_400_000;

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2', // RFC 5758 §3.2
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17', // RFC 5280 §4.2.1.6
  keyUsage: '2.5.29.15', // RFC 5280 §4.2.1.3
  basicConstraints: '2.5.29.19', // RFC 5280 §4.2.1.9
  extKeyUsage: '2.5.29.37', // RFC 5280 §4.2.1.12
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

// ---- ASN.1 DER encoder (X.690 §8, §10) ----

/** Definite length: short form below 128, else 0x80|n followed by n big-endian bytes. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);
const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
/** Context-specific constructed tag, i.e. an EXPLICIT [n] wrapper. */
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
/** Context-specific primitive tag, i.e. IMPLICIT [n] replacing a primitive type's tag. */
const implicit = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

/** BIT STRING whose leading octet counts unused trailing bits (0 for whole bytes). */
const bitString = (bytes: Buffer, unusedBits = 0): Buffer =>
  tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));

/** Unsigned big-endian INTEGER: minimal octets, plus a 0x00 pad if the high bit is set. */
function integer(value: Buffer | number): Buffer {
  let bytes = typeof value === 'number' ? Buffer.from([value]) : value;
  while (bytes.length > 1 && bytes[0] === 0 && ((bytes[1] ?? 0) & 0x80) === 0) bytes = bytes.subarray(1);
  if (((bytes[0] ?? 0) & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

/** OBJECT IDENTIFIER: first two arcs packed as 40*a+b, each arc base-128 with continuation bits. */
function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [40 * a + b, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift((n & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always Zulu, whole seconds. */
function time(date: Date): Buffer {
  const digits = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, ''); // YYYYMMDDHHMMSSZ
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(digits.slice(2), 'ascii'));
  return tlv(0x18, Buffer.from(digits, 'ascii'));
}

// ---- Subject alternative names ----

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** Expands `::` and an embedded IPv4 tail (e.g. ::ffff:192.0.2.1) into 16 octets. */
function ipv6Bytes(ip: string): Buffer {
  let text = ip;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4Tail !== undefined) {
    const v4 = ipv4Bytes(v4Tail);
    text = `${text.slice(0, -v4Tail.length)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const [head = '', tail] = text.split('::');
  const headGroups = groupsOf(head);
  const tailGroups = tail === undefined ? [] : groupsOf(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const out = Buffer.alloc(16);
  [...headGroups, ...zeros, ...tailGroups].forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}

/** RFC 5280 §4.2.1.6: iPAddress [7] holds 4 or 16 network-order octets; dNSName [2] is an IA5String. */
function generalName(host: string): Buffer {
  const family = isIP(host);
  if (family === 4) return implicit(7, ipv4Bytes(host));
  if (family === 6) return implicit(7, ipv6Bytes(host));
  if (host === '' || !/^[\x21-\x7e]+$/.test(host)) {
    throw new TypeError(`Invalid host for certificate (use an ASCII/punycode DNS name or IP literal): ${JSON.stringify(host)}`);
  }
  return implicit(2, Buffer.from(host, 'ascii'));
}

// ---- Certificate structure (RFC 5280 §4.1) ----

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // DER forbids encoding a DEFAULT value, so `critical` is omitted when false (X.690 §11.5).
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function extensions(hosts: string[]): Buffer {
  return explicit(3, sequence(
    // Subject is non-empty, so SAN need not be critical (§4.2.1.6).
    extension(OID.subjectAltName, false, sequence(...hosts.map(generalName))),
    // cA DEFAULT FALSE is omitted, leaving an empty SEQUENCE (§4.2.1.9).
    extension(OID.basicConstraints, true, sequence()),
    // digitalSignature is bit 0: one byte 0b1000_0000 with 7 unused bits (§4.2.1.3).
    extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)),
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
  ));
}

/** Name with a single CN; UTF8String per §4.1.2.4 for new certificates. */
function name(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

/** §4.1.2.2: positive, unique, at most 20 octets. 16 random bytes, top bit cleared, never zero. */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return integer(bytes);
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function createSelfSignedCertificate(options: SelfSignedOptions = {}): SelfSignedCertificate {
  const { hosts = DEFAULT_HOSTS, days = 30, commonName = 'localhost' } = options;
  if (!Number.isFinite(days) || days <= 0) throw new RangeError(`days must be a positive number, got ${days}`);
  if (hosts.length === 0) throw new RangeError('hosts must not be empty (subjectAltName needs at least one name)');

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // ecdsa-with-SHA256 takes no parameters: the field is absent, not NULL (RFC 5758 §3.2).
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSHA256));
  const now = Date.now();
  // Backdate notBefore a day to tolerate clock skew between server and clients.
  const validity = sequence(time(new Date(now - DAY_MS)), time(new Date(now + days * DAY_MS)));
  const issuer = name(commonName); // self-signed: issuer == subject (§4.1.2.4, §4.1.2.6)

  const tbsCertificate = sequence(
    explicit(0, integer(2)), // version v3 is encoded as 2 (§4.1.2.1)
    serialNumber(),
    signatureAlgorithm, // must match the outer signatureAlgorithm (§4.1.1.2)
    issuer,
    validity,
    issuer,
    publicKey.export({ type: 'spki', format: 'der' }), // already a SubjectPublicKeyInfo (§4.1.2.7)
    extensions(hosts),
  );
  // Node emits the DER Ecdsa-Sig-Value SEQUENCE { r, s } that X.509 expects (RFC 5758 §3.2).
  const signature = sign('sha256', tbsCertificate, privateKey);
  const certificate = sequence(tbsCertificate, signatureAlgorithm, bitString(signature));

  return {
    cert: toPem('CERTIFICATE', certificate),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
