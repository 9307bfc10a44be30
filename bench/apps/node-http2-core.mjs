// node:http2's core 'stream' API, raw: the HTTP/2 baseline (h2c, or h2 over TLS with CERT/KEY).
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { HOST, PORT, CERT, KEY, HELLO, ONE_MB } from './common.mjs';

const server = CERT ? http2.createSecureServer({ cert: readFileSync(CERT), key: readFileSync(KEY) }) : http2.createServer();
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  const path = headers[':path'];
  if (path === '/') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 13 });
    stream.end(HELLO);
  } else if (path === '/1mb') {
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': ONE_MB.byteLength });
    stream.end(ONE_MB);
  } else if (path === '/upload') {
    let length = 0;
    stream.on('data', (chunk) => (length += chunk.length));
    stream.on('end', () => {
      if (stream.destroyed || stream.closed) return; // reset by the client (h2load stops mid-upload)
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end(String(length));
    });
  } else {
    stream.respond({ ':status': 404 }, { endStream: true });
  }
});
server.listen(PORT, HOST);
