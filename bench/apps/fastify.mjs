import Fastify from 'fastify';
import { HOST, PORT, HELLO, ONE_MB } from './common.mjs';

const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
// Count the body as it streams (no buffering), whatever its content type.
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => {
  let length = 0;
  payload.on('data', (chunk) => (length += chunk.length));
  payload.on('end', () => done(null, length));
  payload.on('error', done);
});
app.get('/', (_request, reply) => reply.type('text/plain').send(HELLO));
app.get('/1mb', (_request, reply) => reply.type('application/octet-stream').send(Buffer.from(ONE_MB.buffer)));
app.post('/upload', (request, reply) => reply.type('text/plain').send(String(request.body ?? 0)));
await app.listen({ port: PORT, host: HOST });
