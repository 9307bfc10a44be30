/** What an exchange knows of the connection that carries it. See spec/core.md §4. */

/** The protocol an exchange arrived on. `h2` is HTTP/2 over TLS, `h2c` cleartext HTTP/2. */
export type Protocol = 'http/1.0' | 'http/1.1' | 'h2' | 'h2c';

export interface SocketAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

export interface PeerCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
  /** The DER encoding. */
  readonly raw: Uint8Array;
}

export interface TlsInfo {
  /** The protocol chosen by ALPN (`h2`, `http/1.1`), or undefined when none was negotiated. */
  readonly alpnProtocol: string | undefined;
  /** e.g. `TLSv1.3`. */
  readonly version: string;
  /** The standard (IANA) name of the cipher suite, e.g. `TLS_AES_128_GCM_SHA256`. */
  readonly cipher: string;
  /** The SNI server name the client sent, if any. */
  readonly serverName: string | undefined;
  /** The client's certificate, when the server asked for one and the client sent it. */
  readonly peerCertificate: PeerCertificate | undefined;
  /** Whether the client's certificate verified against the configured `ca` (node's default root CAs without one). */
  readonly peerCertificateAuthorized: boolean;
}

export interface ConnectionInfo {
  /** Unique per server process; HTTP/2 exchanges on one connection share it. */
  readonly id: number;
  readonly client: SocketAddress;
  readonly server: SocketAddress;
  /** Present exactly when the connection is TLS. */
  readonly tls: TlsInfo | undefined;
}
