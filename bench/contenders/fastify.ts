import { nodeApp, packageUnavailable, packageVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'fastify',
  label: 'Fastify',
  runtime: 'node',
  protocols: ['http1'],
  start: (context) => nodeApp(context, 'fastify.mjs'),
  unavailable: ({ root }) => packageUnavailable(root, 'fastify'),
  version: ({ root }) => `${packageVersion(root, 'fastify')}`,
} satisfies Contender;
