import express from 'express';
import { HOST, PORT, HELLO, ONE_MB } from './common.mjs';

const app = express();
const oneMb = Buffer.from(ONE_MB.buffer);
app.get('/', (_req, res) => res.type('text/plain').send(HELLO));
app.get('/1mb', (_req, res) => res.type('application/octet-stream').send(oneMb));
app.post('/upload', (req, res) => {
  let length = 0;
  req.on('data', (chunk) => (length += chunk.length));
  req.on('end', () => res.type('text/plain').send(String(length)));
});
app.listen(PORT, HOST);
