import path from 'node:path';
import { existsSync } from 'node:fs';
import { ngiServe } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

/**
 * NGI on its own HTTP/1.x parser (`--http1-engine ngi`, src/h1/) instead of node:http: the same
 * CLI, app and tree as `ngi`, on the protocols where the engine differs (WebSocket handshakes
 * are parsed by it; the frames are ws's either way).
 */
export default {
  name: 'ngi-h1',
  label: 'NGI, own HTTP/1.x parser (ngi serve --http1-engine ngi)',
  runtime: 'node',
  protocols: ['http1', 'ws-h1'],
  start(context) {
    return ngiServe(context, context.root, ['--http1-engine', 'ngi']);
  },
  version: () => 'this tree, dist/, --http1-engine ngi',
  unavailable: ({ root }) => (existsSync(path.join(root, 'dist/cli/run.js')) ? undefined : 'dist/ is not built (npm run build)'),
} satisfies Contender;
