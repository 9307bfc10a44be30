// Bun.serve: HTTP/1.1 and WebSockets (Bun 1.4's Bun.serve offers no h2c).
import { HOST, PORT, HELLO, ONE_MB } from './common.mjs';

Bun.serve({
  port: PORT,
  hostname: HOST,
  async fetch(request, server) {
    const path = new URL(request.url).pathname;
    if (path === '/ws' && server.upgrade(request)) return undefined;
    if (path === '/') return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
    if (path === '/1mb') return new Response(ONE_MB, { headers: { 'content-type': 'application/octet-stream' } });
    if (path === '/upload') {
      let length = 0;
      for await (const chunk of request.body ?? []) length += chunk.byteLength;
      return new Response(String(length), { headers: { 'content-type': 'text/plain' } });
    }
    return new Response('not found', { status: 404 });
  },
  websocket: {
    message(ws, message) {
      ws.send(message);
    },
  },
});
