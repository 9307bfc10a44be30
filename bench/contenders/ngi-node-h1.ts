import { ngiVariant } from '../lib/helpers.ts';

/**
 * NGI on node:http (`--http1-engine node`, llhttp) instead of its own HTTP/1.x parser, the
 * default since session 8 (WebSocket handshakes are parsed by node:http too).
 */
export default ngiVariant('ngi-node-h1', 'NGI on node:http (ngi serve --http1-engine node)', ['http1', 'ws-h1'], ['--http1-engine', 'node']);
