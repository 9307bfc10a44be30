import { nodeApp, packageVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'ws-raw',
  label: 'ws (raw)',
  runtime: 'node',
  protocols: ['ws-h1', 'ws-h2'],
  start: (context) => nodeApp(context, 'ws-raw.mjs'),
  version: ({ root }) => `ws ${packageVersion(root, 'ws')}`,
} satisfies Contender;
