import path from 'node:path';
import { packageVersion } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

export default {
  name: 'ngi',
  label: 'NGI (ngi serve)',
  runtime: 'node',
  protocols: ['http1', 'h2c', 'h2-tls', 'ws-h1', 'ws-h2'],
  start({ root, port, node, tls }) {
    const args = [path.join(root, 'bin/ngi.js'), 'serve', path.join(root, 'bench/apps/ngi-app.mjs'), '--port', String(port), '--quiet', '--drain-timeout', '1000'];
    if (tls) args.push('--cert', tls.cert, '--key', tls.key);
    return { cmd: node, args };
  },
  version: ({ root }) => `${packageVersion(root, '..')} (this tree)`,
} satisfies Contender;
