import { ngiVariant } from '../lib/helpers.ts';

/**
 * NGI on its own HTTP/1.x parser (`--http1-engine ngi`, src/h1/) instead of node:http
 * (WebSocket handshakes are parsed by it too).
 */
export default ngiVariant('ngi-h1', 'NGI, own HTTP/1.x parser (ngi serve --http1-engine ngi)', ['http1', 'ws-h1'], ['--http1-engine', 'ngi']);
