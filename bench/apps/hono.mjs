import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { HOST, PORT, HELLO, ONE_MB } from './common.mjs';

const app = new Hono();
app.get('/', (c) => c.text(HELLO));
app.get('/1mb', (c) => c.body(ONE_MB, 200, { 'content-type': 'application/octet-stream' }));
app.post('/upload', async (c) => {
  let length = 0;
  for await (const chunk of c.req.raw.body ?? []) length += chunk.byteLength;
  return c.text(String(length));
});
serve({ fetch: app.fetch, port: PORT, hostname: HOST });
