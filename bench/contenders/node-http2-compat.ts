import { nodeApp } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'node-http2-compat',
  label: 'node:http2 compat (req, res) API (raw)',
  runtime: 'node',
  protocols: ['h2c', 'h2-tls'],
  ready: 'h2c',
  start: (context) => nodeApp(context, 'node-http2-compat.mjs'),
} satisfies Contender;
