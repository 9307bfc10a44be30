import { nodeApp } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'node-http2-core',
  label: "node:http2 core 'stream' API (raw)",
  runtime: 'node',
  protocols: ['h2c', 'h2-tls'],
  ready: 'h2c',
  start: (context) => nodeApp(context, 'node-http2-core.mjs'),
} satisfies Contender;
