import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'ngi',
  label: 'NGI (ngi serve)',
  runtime: 'node',
  protocols: ['http1', 'h2c', 'h2-tls', 'ws-h1', 'ws-h2'],
  start({ root, port, node, tls }) {
    // The compiled CLI itself (bench/run.ts builds it first): bin/ngi.js would fall back to
    // the TypeScript sources if src/ changed during a run.
    // As `ngi serve` runs: where the runtime can, it re-executes itself with
    // --max-semi-space-size=8 (src/cli/run.ts).
    const args = [path.join(root, 'dist/cli/run.js'), 'serve', path.join(root, 'bench/apps/ngi-app.mjs'), '--port', String(port), '--quiet', '--drain-timeout', '1000'];
    if (tls) args.push('--cert', tls.cert, '--key', tls.key);
    return { cmd: node, args };
  },
  version: ({ root }) => `${(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version} (this tree, dist/)`,
  unavailable: ({ root }) => (existsSync(path.join(root, 'dist/cli/run.js')) ? undefined : 'dist/ is not built (npm run build)'),
} satisfies Contender;
