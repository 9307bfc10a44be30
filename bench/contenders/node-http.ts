import { nodeApp } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'node-http',
  label: 'node:http (raw)',
  runtime: 'node',
  protocols: ['http1'],
  start: (context) => nodeApp(context, 'node-http.mjs'),
} satisfies Contender;
