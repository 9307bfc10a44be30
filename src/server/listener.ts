/**
 * The one port: a net.Server (cleartext: HTTP/1.1 and h2c by prior knowledge) or a
 * tls.Server (ALPN h2 and http/1.1) that decides the protocol of each connection and hands
 * the socket to HTTP/1.x (node:http or NGI's parser) or HTTP/2 (node:http2 or NGI's framing).
 */
import net from 'node:net';
import tls from 'node:tls';
import { classifyPreface } from '../core/preface.ts';
import type { ResolvedOptions } from './options.ts';
import { connectionOf } from './connection.ts';

export interface Front {
  readonly server: net.Server;
  /** Every open socket, for shutdown. */
  readonly sockets: Set<net.Socket>;
}

function toHttp1(h1: Http1Acceptor, socket: net.Socket): void {
  connectionOf(socket, socket instanceof tls.TLSSocket).kind = 'http/1';
  h1(socket);
}

/** Takes an HTTP/1.x connection: node:http's server, or NGI's own parser (options.http1Engine). */
export type Http1Acceptor = (socket: net.Socket) => void;

function toHttp2(h2: Http2Acceptor, socket: net.Socket): void {
  connectionOf(socket, socket instanceof tls.TLSSocket).kind = 'h2';
  h2(socket);
}

/** Takes an HTTP/2 connection: node:http2's server, or NGI's own framing (options.http2Engine). */
export type Http2Acceptor = (socket: net.Socket) => void;

/**
 * Reads until the bytes match or leave the HTTP/2 preface (RFC 9113 §3.4), then puts them
 * back. HTTP/1 sockets are resumed; HTTP/2 ones are not (node:http2 reads the unshifted
 * bytes itself, and resuming first would lose the preface).
 */
function sniff(socket: net.Socket, h1: Http1Acceptor, h2: Http2Acceptor, headersTimeout: number): void {
  let received: Buffer | undefined;
  const onData = (chunk: Buffer): void => {
    received = received === undefined ? chunk : Buffer.concat([received, chunk]);
    const verdict = classifyPreface(received);
    if (verdict === 'need-more') return;
    socket.off('data', onData);
    if (headersTimeout > 0) {
      socket.setTimeout(0);
      socket.off('timeout', destroySocket);
    }
    socket.pause();
    socket.unshift(received);
    if (verdict === 'h2') {
      toHttp2(h2, socket);
    } else {
      toHttp1(h1, socket);
      // Resume on the next tick, after the tick unshift() scheduled. Resumed at once, Node 20
      // parses the unshifted bytes before its asynchronous 'resume' event, so a request body
      // that fills up pauses the socket first and that late 'resume' restarts reading for
      // good: an application that does not read then buffers the whole upload in memory.
      process.nextTick(() => socket.resume());
    }
  };
  socket.on('data', onData);
  // A connection that never sends a request is closed like a slow header section.
  if (headersTimeout > 0) {
    socket.setTimeout(headersTimeout);
    socket.on('timeout', destroySocket);
  }
}

/**
 * Listeners shared by every socket (`this` is the socket): a closure per connection would
 * stay attached, and be paid for, as long as the connection is open.
 */
function destroySocket(this: net.Socket): void {
  this.destroy();
}

export function createFront(options: ResolvedOptions, h1: Http1Acceptor, h2: Http2Acceptor, isDraining: () => boolean): Front {
  const sockets = new Set<net.Socket>();
  function untrack(this: net.Socket): void {
    sockets.delete(this);
  }
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', untrack);
  };
  let server: net.Server;
  if (options.tls) {
    const t = options.tls;
    server = tls.createServer({
      cert: t.cert as string,
      key: t.key as string,
      ...(t.ca ? { ca: t.ca as string } : {}),
      requestCert: t.requestCert ?? false,
      // With a CA, refuse unverified client certificates; without one, node verifies against
      // its default root CAs and the result is only reported (peerCertificateAuthorized).
      rejectUnauthorized: t.rejectUnauthorized ?? t.ca !== undefined,
      ALPNProtocols: ['h2', 'http/1.1'],
      // Bounded TLS handshakes, like the header timeout on the request that follows.
      handshakeTimeout: Math.min(options.timeouts.headers || 120_000, 120_000),
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      track(socket);
      socket.setNoDelay(true);
      if (socket.alpnProtocol === 'h2') toHttp2(h2, socket);
      else toHttp1(h1, socket);
      // A handshake that completed after shutdown began: its first response closes it.
      if (isDraining()) connectionOf(socket, true).startDrain();
    });
    // Failed handshakes are the client's problem; they must not reach 'error'.
    server.on('tlsClientError', (_error: Error, socket: tls.TLSSocket) => socket.destroy());
  } else {
    server = net.createServer({ noDelay: true }, (socket) => {
      track(socket);
      socket.on('error', destroySocket);
      sniff(socket, h1, h2, options.timeouts.headers);
    });
  }
  return { server, sockets };
}
