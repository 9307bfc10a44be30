// node:http2's compatibility (req, res) API, raw (h2c, or h2 over TLS with CERT/KEY).
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { HOST, PORT, CERT, KEY, HELLO, ONE_MB } from './common.mjs';

const handler = (req, res) => {
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
};
const server = CERT ? http2.createSecureServer({ cert: readFileSync(CERT), key: readFileSync(KEY) }, handler) : http2.createServer(handler);
server.listen(PORT, HOST);
