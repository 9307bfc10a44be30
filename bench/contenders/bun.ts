import path from 'node:path';
import { appEnv, benchBinary, binaryUnavailable, binaryVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

// The npm package `bun` ships the binary (npm 11 may hold back its install script: see
// bench/README.md). Bun.serve gives no h2c, so only HTTP/1.1 and WebSockets over it.
const binary = (root: string): string => benchBinary(root, 'bun');

export default {
  name: 'bun',
  label: 'Bun.serve',
  runtime: 'bun',
  protocols: ['http1', 'ws-h1'],
  start: (context) => ({ cmd: binary(context.root), args: [path.join(context.root, 'bench/apps/bun.mjs')], env: appEnv(context) }),
  unavailable: ({ root }) => binaryUnavailable(binary(root)),
  version: ({ root }) => binaryVersion(binary(root)),
} satisfies Contender;
