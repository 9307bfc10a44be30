// node:http, raw: the HTTP/1.1 baseline.
import http from 'node:http';
import { HOST, PORT, HELLO, ONE_MB } from './common.mjs';

http
  .createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 13 });
      res.end(HELLO);
    } else if (req.url === '/1mb') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': ONE_MB.byteLength });
      res.end(ONE_MB);
    } else if (req.url === '/upload') {
      let length = 0;
      req.on('data', (chunk) => (length += chunk.length));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(String(length));
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  })
  .listen(PORT, HOST);
