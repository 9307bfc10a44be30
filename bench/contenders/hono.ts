import { nodeApp, packageUnavailable, packageVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'hono',
  label: 'Hono on @hono/node-server',
  runtime: 'node',
  protocols: ['http1'],
  start: (context) => nodeApp(context, 'hono.mjs'),
  unavailable: ({ root }) => packageUnavailable(root, 'hono'),
  version: ({ root }) => `hono ${packageVersion(root, 'hono')}, @hono/node-server ${packageVersion(root, '@hono/node-server')}`,
} satisfies Contender;
