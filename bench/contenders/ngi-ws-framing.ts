import path from 'node:path';
import { existsSync } from 'node:fs';
import { ngiServe } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

/**
 * NGI with ws framing its WebSocket messages (`--websocket-framing ws`) instead of its own
 * (src/ws/, the default since session 7): the same CLI, app and tree as `ngi`, so the two
 * framings are compared in one run.
 */
export default {
  name: 'ngi-ws-framing',
  label: 'NGI, ws framing (ngi serve --websocket-framing ws)',
  runtime: 'node',
  protocols: ['ws-h1', 'ws-h2'],
  start(context) {
    return ngiServe(context, context.root, ['--websocket-framing', 'ws']);
  },
  version: () => 'this tree, dist/, --websocket-framing ws',
  unavailable: ({ root }) => (existsSync(path.join(root, 'dist/cli/run.js')) ? undefined : 'dist/ is not built (npm run build)'),
} satisfies Contender;
