import { spawnSync } from 'node:child_process';
import { nodeApp } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

/**
 * Raw node:http2 core with the young-generation cap that `ngi serve` applies to itself
 * (--max-semi-space-size=8, src/cli/run.ts): the same app as node-http2-core, so that NGI is
 * also compared at equal V8 settings. Only where NGI caps (Node with process.execve, 22.15+);
 * elsewhere NGI runs with Node's defaults and node-http2-core is the like-for-like row.
 */
export default {
  name: 'node-http2-core-capped',
  label: "node:http2 core API (raw), --max-semi-space-size=8",
  runtime: 'node',
  protocols: ['h2c', 'h2-tls'],
  ready: 'h2c',
  start(context) {
    const command = nodeApp(context, 'node-http2-core.mjs');
    return { ...command, args: ['--max-semi-space-size=8', ...command.args] };
  },
  unavailable({ node }) {
    const probe = spawnSync(node, ['-p', 'typeof process.execve'], { encoding: 'utf8', timeout: 15_000 });
    return probe.stdout.trim() === 'function' ? undefined : 'ngi serve does not cap the young generation on this Node (no process.execve): compare with node-http2-core';
  },
} satisfies Contender;
