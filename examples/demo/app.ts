/**
 * The demo served by `npm start`: an httpbin-like app that shows what NGI offers on each
 * connection. `/` an HTML page, `/info` the same as JSON, `/echo` streams the body back.
 */
import { defineApp, type Exchange, type WebSocket } from '../../src/index.ts';
import { chatPage } from './chat-page.ts';

function describe(exchange: Exchange) {
  const f = exchange.features;
  const { request, connection } = exchange;
  return {
    protocol: exchange.protocol,
    method: request.method,
    scheme: request.scheme,
    authority: request.authority,
    path: request.path,
    query: request.query,
    client: connection.client,
    server: connection.server,
    tls: connection.tls ?? null,
    features: {
      earlyHints: f.earlyHints !== undefined,
      responseTrailers: f.responseTrailers ? { acceptedByClient: f.responseTrailers.acceptedByClient } : false,
      drain: f.drain ? { draining: f.drain.draining } : false,
      priority: f.priority ? { urgency: f.priority.urgency, incremental: f.priority.incremental } : false,
      push: f.push !== undefined,
      flowControl: f.flowControl !== undefined,
      websocket: f.websocket !== undefined,
      http2: f.http2 ? { streamId: f.http2.streamId, peerSettings: f.http2.peerSettings } : false,
    },
    headers: Object.fromEntries(groupFields(request.headers)),
  };
}

function groupFields(fields: Iterable<readonly [string, string]>): Map<string, string | string[]> {
  const grouped = new Map<string, string | string[]>();
  for (const [name, value] of fields) {
    const prev = grouped.get(name);
    grouped.set(name, prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]);
  }
  return grouped;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(exchange: Exchange): string {
  const info = describe(exchange);
  const rows = Object.entries(info.features)
    .map(([name, value]) => `<tr><td>${name}</td><td>${value === false ? '✗ absent' : `✓ ${value === true ? 'available' : escapeHtml(JSON.stringify(value))}`}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NGI demo</title>
<style>body{font:16px system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}td{padding:.2rem 1rem .2rem 0;vertical-align:top}code{background:#eee;padding:0 .2rem}</style>
</head><body>
<h1>NGI demo</h1>
<p>This page came over <strong id="protocol">${escapeHtml(info.protocol)}</strong>${info.tls ? ` (TLS ${escapeHtml(info.tls.version)}, ALPN ${escapeHtml(String(info.tls.alpnProtocol))})` : ' (cleartext)'}
from ${escapeHtml(info.client.address)}.</p>
<h2>Features on this exchange</h2>
<table id="features">${rows}</table>
<h2>Try</h2>
<ul>
<li><a href="/info">/info</a>: this as JSON</li>
<li><a href="/ws">/ws</a>: a WebSocket chat that shows which transport your browser used</li>
<li><code>curl --http2-prior-knowledge --data-binary @file ${escapeHtml(info.scheme)}://${escapeHtml(info.authority)}/echo</code>: streams the body back
(<code>/echo?rate=65536</code> reads it at 64 KiB/s, through flow control)</li>
<li><code>curl -v ${escapeHtml(info.scheme)}://${escapeHtml(info.authority)}/</code>: a 103 Early Hints before this page</li>
</ul>
</body></html>
`;
}

async function echo(exchange: Exchange): Promise<void> {
  const { request, response, features } = exchange;
  // /echo?rate=65536 reads the upload at 64 KiB/s: the client is held back by the protocol.
  const rate = Number(new URLSearchParams(request.query).get('rate'));
  if (rate > 0) features.flowControl?.setUploadRate(rate);
  const contentType = request.headers.get('content-type') ?? 'application/octet-stream';
  const trailers = features.responseTrailers?.acceptedByClient === true;
  const headers = { 'content-type': contentType };
  if (trailers) {
    const writer = response.start(200, headers, { trailers: true });
    for await (const chunk of request.body) await writer.write(chunk);
    await writer.end(await request.body.trailers);
  } else {
    const writer = response.start(200, headers);
    for await (const chunk of request.body) await writer.write(chunk);
    await writer.end();
  }
}

/** Everyone in the /ws chat room: each message is sent to all of them. */
interface ChatState {
  readonly members: Set<WebSocket>;
}

async function chat(exchange: Exchange<ChatState>): Promise<void> {
  const websocket = exchange.features.websocket;
  if (!websocket) {
    exchange.response.send(200, { 'content-type': 'text/html; charset=utf-8' }, chatPage);
    return;
  }
  const socket = await websocket.accept();
  const { members } = exchange.state;
  // The same code runs for both transports; only this line tells them apart.
  const transport = websocket.transport === 'h2' ? `RFC 8441 stream on ${exchange.protocol}` : `HTTP/1.1 Upgrade (${exchange.protocol})`;
  members.add(socket);
  await socket.send(JSON.stringify({ type: 'welcome', transport, members: members.size }));
  try {
    for await (const message of socket) {
      if (message.type !== 'text') continue;
      const line = JSON.stringify({ type: 'message', text: message.data.slice(0, 1000), transport });
      await Promise.allSettled([...members].map((member) => member.send(line)));
    }
  } finally {
    members.delete(socket);
  }
}

export default defineApp<ChatState>({
  startup: () => ({ members: new Set() }),
  async handle(exchange) {
    const { request, response } = exchange;
    switch (request.path) {
      case '/ws':
        return chat(exchange);
      case '/':
        // 103 Early Hints where the protocol has them: the page's data can start loading early.
        await exchange.features.earlyHints?.send({ link: '</info>; rel=preload; as=fetch; crossorigin' });
        return response.send(200, { 'content-type': 'text/html; charset=utf-8' }, page(exchange));
      case '/info':
        return response.send(200, { 'content-type': 'application/json' }, JSON.stringify(describe(exchange), null, 2) + '\n');
      case '/echo':
        return echo(exchange);
      default:
        return response.send(404, { 'content-type': 'text/plain; charset=utf-8' }, 'Not Found\n');
    }
  },
});
