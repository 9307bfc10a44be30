// ws, raw: WebSocket echo at /ws over an HTTP/1.1 Upgrade (ws's own handshake) and over an
// RFC 8441 CONNECT stream on node:http2's core API (ws framing over the stream), on one
// cleartext port: the first bytes choose the protocol, as in NGI's front.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { HOST, PORT, HELLO } from './common.mjs';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function echo(ws) {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

const h1 = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 13 });
  res.end(HELLO);
});
const wss = new WebSocketServer({ noServer: true });
h1.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, echo));
h1.emit('listening');

const h2 = http2.createServer({ settings: { enableConnectProtocol: true } });
h2.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  if (headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket') {
    stream.respond({ ':status': 200 });
    const ws = new WebSocket(null, undefined, { autoPong: true, closeTimeout: 5000 });
    ws.setSocket(stream, Buffer.alloc(0), { maxPayload: 100 * 1024 * 1024, allowSynchronousEvents: true });
    echo(ws);
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 13 });
  stream.end(HELLO);
});

net
  .createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    let received = Buffer.alloc(0);
    const onData = (chunk) => {
      received = Buffer.concat([received, chunk]);
      const n = Math.min(received.length, PREFACE.length);
      const isH2 = received.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && received.length < PREFACE.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(received);
      if (isH2) h2.emit('connection', socket);
      else {
        h1.emit('connection', socket);
        process.nextTick(() => socket.resume());
      }
    };
    socket.on('data', onData);
  })
  .listen(PORT, HOST);
