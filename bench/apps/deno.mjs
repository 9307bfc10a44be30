// Deno.serve: HTTP/1.1, h2c by prior knowledge, h2 over TLS (CERT/KEY), WebSockets over HTTP/1.1.
import { HOST, PORT, CERT, KEY, HELLO, ONE_MB } from './common.mjs';

const tls = CERT ? { cert: Deno.readTextFileSync(CERT), key: Deno.readTextFileSync(KEY) } : {};
Deno.serve({ port: PORT, hostname: HOST, onListen() {}, ...tls }, async (request) => {
  const path = new URL(request.url).pathname;
  if (path === '/ws' && request.headers.get('upgrade') === 'websocket') {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  }
  if (path === '/') return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
  if (path === '/1mb') return new Response(ONE_MB, { headers: { 'content-type': 'application/octet-stream' } });
  if (path === '/upload') {
    let length = 0;
    for await (const chunk of request.body ?? []) length += chunk.byteLength;
    return new Response(String(length), { headers: { 'content-type': 'text/plain' } });
  }
  return new Response('not found', { status: 404 });
});
