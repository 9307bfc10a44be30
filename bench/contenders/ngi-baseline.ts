import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ngiServe } from '../lib/helpers.ts';
import type { Contender } from '../lib/types.ts';

/**
 * NGI from another tree, for before/after comparisons of NGI's own changes in one run
 * (alternated with `ngi` like any contender, so both see the same machine). NGI_BASELINE
 * names that tree: a checkout or `git worktree add /tmp/ngi-base <commit>`, built there
 * (`npm ci && npm run build`). It runs that tree's dist/ and its own bench app.
 */
function baselineRoot(): string | undefined {
  const root = process.env.NGI_BASELINE;
  return root ? path.resolve(root) : undefined;
}

export default {
  name: 'ngi-baseline',
  label: 'NGI from $NGI_BASELINE (ngi serve)',
  runtime: 'node',
  protocols: ['http1', 'h2c', 'h2-tls', 'ws-h1', 'ws-h2'],
  start(context) {
    return ngiServe(context, baselineRoot()!);
  },
  version() {
    const root = baselineRoot()!;
    try {
      return `${execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()} (${root}, dist/)`;
    } catch {
      return `${root} (dist/)`;
    }
  },
  unavailable() {
    const root = baselineRoot();
    if (root === undefined) return 'NGI_BASELINE is not set (a tree of another commit, built)';
    return existsSync(path.join(root, 'dist/cli/run.js')) ? undefined : `${root}/dist is not built (npm run build there)`;
  },
} satisfies Contender;
