import path from 'node:path';
import { readFileSync } from 'node:fs';
import { distUnavailable, ngiServe } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'ngi',
  label: 'NGI (ngi serve)',
  runtime: 'node',
  protocols: ['http1', 'h2c', 'h2-tls', 'ws-h1', 'ws-h2'],
  start(context) {
    // The compiled CLI itself (bench/run.ts builds it first): bin/ngi.js would fall back to
    // the TypeScript sources if src/ changed during a run.
    return ngiServe(context, context.root);
  },
  version: ({ root }) => `${(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version} (this tree, dist/)`,
  unavailable: distUnavailable,
} satisfies Contender;
