import { ngiVariant } from '../lib/helpers.ts';

/** NGI on its own HTTP/2 framing (`--http2-engine ngi`, src/h2/) instead of node:http2. */
export default ngiVariant('ngi-h2', 'NGI, own HTTP/2 framing (ngi serve --http2-engine ngi)', ['h2c', 'h2-tls', 'ws-h2'], ['--http2-engine', 'ngi']);
