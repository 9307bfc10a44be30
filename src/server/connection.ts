/** Per-connection state shared by the exchanges a connection carries. */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ConnectionInfo, PeerCertificate, SocketAddress, TlsInfo } from '../interface/connection.ts';
import type { DrainFeature } from '../interface/features.ts';

let nextId = 1;

function address(addr: string | undefined, port: number | undefined, family: string | undefined): SocketAddress {
  return { address: addr ?? '', port: port ?? 0, family: family === 'IPv6' ? 'IPv6' : 'IPv4' };
}

function tlsInfoOf(socket: TLSSocket): TlsInfo {
  const cert = socket.getPeerCertificate?.();
  let peerCertificate: PeerCertificate | undefined;
  if (cert && cert.raw) {
    peerCertificate = {
      subject: Object.entries(cert.subject ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '),
      issuer: Object.entries(cert.issuer ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', '),
      validFrom: cert.valid_from,
      validTo: cert.valid_to,
      fingerprint256: cert.fingerprint256,
      raw: cert.raw,
    };
  }
  const alpn = socket.alpnProtocol;
  return {
    alpnProtocol: typeof alpn === 'string' ? alpn : undefined,
    version: socket.getProtocol() ?? '',
    cipher: socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? '',
    serverName: typeof (socket as TLSSocket & { servername?: unknown }).servername === 'string' ? (socket as TLSSocket & { servername: string }).servername : undefined,
    peerCertificate,
    peerCertificateAuthorized: peerCertificate !== undefined && socket.authorized,
  };
}

/**
 * One accepted connection. Also the DrainFeature of every exchange it carries: draining is a
 * property of the connection (server shutdown, GOAWAY sent or received).
 */
export class ConnectionState implements ConnectionInfo, DrainFeature {
  readonly id = nextId++;
  readonly #socket: Socket;
  readonly encrypted: boolean;
  #client: SocketAddress | undefined;
  #server: SocketAddress | undefined;
  #tls: TlsInfo | undefined;
  #draining = false;
  #drainController: AbortController | undefined;
  /** Exchanges started and not yet finished on this connection. */
  inFlight = 0;
  /** Which server the listener handed the socket to. */
  kind: 'http/1' | 'h2' | undefined;

  constructor(socket: Socket, encrypted: boolean) {
    this.#socket = socket;
    this.encrypted = encrypted;
    // Read now: once the socket has closed node reports no addresses, and cancelled
    // exchanges are logged after that.
    this.#client = address(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
  }

  /** The socket, for the server's own glue: a private field, so applications never reach it. */
  static socketOf(connection: ConnectionState): Socket {
    return connection.#socket;
  }

  get client(): SocketAddress {
    const s = this.#socket;
    return (this.#client ??= address(s.remoteAddress, s.remotePort, s.remoteFamily));
  }

  get server(): SocketAddress {
    const s = this.#socket;
    return (this.#server ??= address(s.localAddress, s.localPort, s.localFamily));
  }

  get tls(): TlsInfo | undefined {
    if (!this.encrypted) return undefined;
    return (this.#tls ??= tlsInfoOf(this.#socket as TLSSocket));
  }

  get draining(): boolean {
    return this.#draining;
  }

  get signal(): AbortSignal {
    this.#drainController ??= new AbortController();
    if (this.#draining && !this.#drainController.signal.aborted) this.#drainController.abort();
    return this.#drainController.signal;
  }

  /** Marks the connection as draining and tells every exchange listening for it. */
  startDrain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#drainController?.abort();
  }

  /** What JSON.stringify shows of the connection (the socket stays private). */
  toJSON(): ConnectionInfo {
    return { id: this.id, client: this.client, server: this.server, tls: this.tls };
  }
}

/** Where the server tags a socket with its connection state (node's http2 socket proxy passes symbols through). */
export const kConnection = Symbol('ngi.connection');
type TaggedSocket = Socket & { [kConnection]?: ConnectionState };

export function connectionOf(socket: Socket, encrypted: boolean): ConnectionState {
  const tagged = socket as TaggedSocket;
  return (tagged[kConnection] ??= new ConnectionState(socket, encrypted));
}

export function taggedConnection(socket: unknown): ConnectionState | undefined {
  return (socket as TaggedSocket)[kConnection];
}
