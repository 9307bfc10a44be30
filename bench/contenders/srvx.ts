import { nodeApp, packageUnavailable, packageVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'srvx',
  label: 'srvx (node adapter)',
  runtime: 'node',
  protocols: ['http1'],
  start: (context) => nodeApp(context, 'srvx.mjs'),
  unavailable: ({ root }) => packageUnavailable(root, 'srvx'),
  version: ({ root }) => `${packageVersion(root, 'srvx')}`,
} satisfies Contender;
