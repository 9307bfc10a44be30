import { ngiVariant } from '../lib/helpers.ts';

/** NGI on node:http2 (`--http2-engine node`, nghttp2) instead of its own HTTP/2 framing, the default since session 8. */
export default ngiVariant('ngi-node-h2', 'NGI on node:http2 (ngi serve --http2-engine node)', ['h2c', 'h2-tls', 'ws-h2'], ['--http2-engine', 'node']);
