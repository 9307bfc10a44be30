import { nodeApp, packageUnavailable, packageVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'express',
  label: 'Express',
  runtime: 'node',
  protocols: ['http1'],
  start: (context) => nodeApp(context, 'express.mjs'),
  unavailable: ({ root }) => packageUnavailable(root, 'express'),
  version: ({ root }) => `${packageVersion(root, 'express')}`,
} satisfies Contender;
