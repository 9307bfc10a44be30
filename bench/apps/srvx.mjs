import { serve } from 'srvx';
import { HOST, PORT, HELLO, ONE_MB } from './common.mjs';

serve({
  port: PORT,
  hostname: HOST,
  silent: true,
  gracefulShutdown: false,
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === '/') return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
    if (path === '/1mb') return new Response(ONE_MB, { headers: { 'content-type': 'application/octet-stream' } });
    if (path === '/upload') {
      let length = 0;
      for await (const chunk of request.body ?? []) length += chunk.byteLength;
      return new Response(String(length), { headers: { 'content-type': 'text/plain' } });
    }
    return new Response('not found', { status: 404 });
  },
});
