import path from 'node:path';
import { appEnv, benchBinary, binaryUnavailable, binaryVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

// The npm package `deno` ships the binary (npm 11 may hold back its install script: see
// bench/README.md). Deno.serve answers h2c by prior knowledge and h2 over TLS.
const binary = (root: string): string => benchBinary(root, 'deno');

export default {
  name: 'deno',
  label: 'Deno.serve',
  runtime: 'deno',
  protocols: ['http1', 'h2c', 'h2-tls', 'ws-h1'],
  start: (context) => ({
    cmd: binary(context.root),
    args: ['run', '--quiet', '--no-config', '--allow-net', '--allow-env', '--allow-read', path.join(context.root, 'bench/apps/deno.mjs')],
    env: { ...appEnv(context), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  }),
  unavailable: ({ root }) => binaryUnavailable(binary(root)),
  version: ({ root }) => binaryVersion(binary(root)),
} satisfies Contender;
