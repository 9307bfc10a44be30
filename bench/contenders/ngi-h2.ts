import path from 'node:path';
import { existsSync } from 'node:fs';
import { ngiServe } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

/**
 * NGI on its own HTTP/2 framing (`--http2-engine ngi`, src/h2/) instead of node:http2: the same
 * CLI, app and tree as `ngi`, on the protocols where the engine differs.
 */
export default {
  name: 'ngi-h2',
  label: 'NGI, own HTTP/2 framing (ngi serve --http2-engine ngi)',
  runtime: 'node',
  protocols: ['h2c', 'h2-tls', 'ws-h2'],
  start(context) {
    return ngiServe(context, context.root, ['--http2-engine', 'ngi']);
  },
  version: () => 'this tree, dist/, --http2-engine ngi',
  unavailable: ({ root }) => (existsSync(path.join(root, 'dist/cli/run.js')) ? undefined : 'dist/ is not built (npm run build)'),
} satisfies Contender;
