/**
 * `Upgrade: h2c` on the cleartext port (RFC 7540 §3.2): read the request's body (up to the
 * initial flow-control window), answer 101, wait for the client's preface and SETTINGS, and
 * hand the socket to the HTTP/2 server (either engine) with the request spliced in as stream 1, which the
 * application then answers like any HTTP/2 exchange.
 */
import type { Http2Acceptor } from './listener.ts';
import type { Socket } from 'node:net';
import { MAX_UPGRADE_BODY, spliceStream1, stream1Frames } from '../core/h2c-upgrade.ts';
import { toOriginForm } from '../core/request-target.ts';
import { hasToken } from '../core/fields.ts';
import { connectionOf } from './connection.ts';

function refuse(socket: Socket, status: string, message: string): void {
  // The socket is paused with the unread body in it: let it flow so the close can complete.
  socket.resume();
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(message) + 1}\r\nconnection: close\r\n\r\n${message}\n`);
}

/**
 * What the upgrade needs of the HTTP/1.1 request: node's IncomingMessage is one, and NGI's
 * own HTTP/1.x engine builds one from its parsed head.
 */
export interface UpgradeRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** Field names as sent and values, alternating. */
  readonly rawHeaders: readonly string[];
}

/** The values of field `name` (lowercase) in a raw field list. */
function valuesOf(raw: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!);
  return values;
}

/** Whether this Upgrade request asks for h2c the way RFC 7540 §3.2 requires. */
export function isH2cUpgrade(req: UpgradeRequest): boolean {
  return hasToken(valuesOf(req.rawHeaders, 'upgrade').join(', '), 'h2c') && valuesOf(req.rawHeaders, 'http2-settings').length === 1;
}

export function upgradeToHttp2(h2: Http2Acceptor, req: UpgradeRequest, socket: Socket, head: Buffer, timeoutMs: number): void {
  socket.on('error', () => socket.destroy());
  if (valuesOf(req.rawHeaders, 'transfer-encoding').length > 0) {
    return refuse(socket, '501 Not Implemented', 'h2c upgrade with a chunked request body is not supported; send Content-Length');
  }
  const length = Number(valuesOf(req.rawHeaders, 'content-length')[0] ?? 0);
  if (length > MAX_UPGRADE_BODY) {
    // The body travels as stream 1's DATA before the client has seen our SETTINGS, so it must
    // fit the initial 65,535-byte windows (RFC 9113 §6.9.2).
    return refuse(socket, '413 Content Too Large', `an h2c upgrade request body may be at most ${MAX_UPGRADE_BODY} bytes`);
  }
  const { authority, target } = toOriginForm(req.url ?? '/');
  const fields = req.rawHeaders.map((v, i) => (i % 2 === 0 ? v.toLowerCase() : v));
  let received = head;
  let frames: Buffer | undefined;
  const timer = setTimeout(() => socket.destroy(), timeoutMs || 60_000);
  timer.unref();

  const step = (): void => {
    if (frames === undefined) {
      if (received.length < length) return;
      frames = stream1Frames({ method: req.method ?? 'GET', path: target, authority: authority ?? valuesOf(req.rawHeaders, 'host')[0] ?? '', fields, body: received.subarray(0, length) });
      received = received.subarray(length);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n');
    }
    const result = spliceStream1(received, frames);
    if (result.state === 'need-more') return;
    socket.off('data', onData);
    clearTimeout(timer);
    if (result.state === 'invalid') {
      socket.destroy();
      return;
    }
    socket.pause();
    socket.unshift(result.bytes);
    connectionOf(socket, false).kind = 'h2';
    // Not resumed: the HTTP/2 server (node:http2 or NGI's own framing) reads the unshifted bytes itself.
    h2(socket);
  };
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    step();
  };
  socket.on('data', onData);
  step();
}
