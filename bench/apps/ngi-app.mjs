// The NGI bench app, served by `node dist/cli/run.js serve bench/apps/ngi-app.mjs --quiet` (ngi serve).
// JavaScript like every other contender's app: an NGI application needs no import, so the
// CLI loads it without a TypeScript loader.
import { HELLO, ONE_MB } from './common.mjs';

const TEXT = { 'content-type': 'text/plain' };
const BYTES = { 'content-type': 'application/octet-stream' };

export default {
  /** @param {import('../../src/index.ts').Exchange} exchange */
  async handle({ request, response, features }) {
    if (features.websocket) {
      const socket = await features.websocket.accept();
      // receive(): the handler runs per message with no promise per message; returning
      // send()'s promise holds the next message back only while the transport is full.
      await socket.receive((message) => socket.send(message.data));
      return;
    }
    switch (request.path) {
      case '/':
        return response.send(200, TEXT, HELLO);
      case '/1mb':
        return response.send(200, BYTES, ONE_MB);
      case '/upload': {
        let length = 0;
        for await (const chunk of request.body) length += chunk.byteLength;
        return response.send(200, TEXT, String(length));
      }
      default:
        return response.send(404, TEXT, 'not found');
    }
  },
};
