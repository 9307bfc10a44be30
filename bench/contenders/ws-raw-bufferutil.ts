import path from 'node:path';
import { nodeApp, packageUnavailable, packageVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

/**
 * Raw ws with its optional native addon bufferutil (masking and unmasking in C++ for payloads
 * of 32 bytes and more), as a user tuning ws would run it. bufferutil is installed with the
 * bench's peers (bench/package.json), not with NGI, so ws from the project's node_modules
 * finds it only through NODE_PATH; `ws-raw` runs the same app without it.
 */
export default {
  name: 'ws-raw-bufferutil',
  label: 'ws (raw) + bufferutil',
  runtime: 'node',
  protocols: ['ws-h1', 'ws-h2'],
  start(context) {
    const command = nodeApp(context, 'ws-raw.mjs');
    return { ...command, env: { ...command.env, NODE_PATH: path.join(context.root, 'bench', 'node_modules') } };
  },
  version: ({ root }) => `ws ${packageVersion(root, 'ws')}, bufferutil ${packageVersion(root, 'bufferutil')}`,
  unavailable: ({ root }) => packageUnavailable(root, 'bufferutil'),
} satisfies Contender;
