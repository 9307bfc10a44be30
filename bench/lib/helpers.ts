/** Small helpers for contender files. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command, Contender, Protocol, StartContext } from './types.ts';

/** The contenders' own packages live in bench/node_modules (`npm run bench:install`), apart from the project's. */
function packageDir(root: string, name: string): string | undefined {
  for (const base of [path.join(root, 'bench', 'node_modules'), path.join(root, 'node_modules')]) {
    if (existsSync(path.join(base, name, 'package.json'))) return path.join(base, name);
  }
  return undefined;
}

/** The installed version of a package, or '?'. */
export function packageVersion(root: string, name: string): string {
  const dir = packageDir(root, name);
  if (dir === undefined) return '?';
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Undefined when the package is installed, else why the contender cannot run. */
export function packageUnavailable(root: string, name: string): string | undefined {
  return packageDir(root, name) === undefined ? `${name} is not installed (npm run bench:install)` : undefined;
}

/** A binary that an npm package of bench/ installs. */
export function benchBinary(root: string, name: string): string {
  return path.join(root, 'bench', 'node_modules', '.bin', name);
}

/** `node bench/apps/<file>` with PORT (and CERT/KEY for TLS) in the environment. */
export function nodeApp(context: StartContext, file: string): Command {
  return { cmd: context.node, args: [path.join(context.root, 'bench/apps', file)], env: appEnv(context) };
}

export function appEnv(context: StartContext): Record<string, string> {
  const env: Record<string, string> = { PORT: String(context.port) };
  if (context.tls) Object.assign(env, { CERT: context.tls.cert, KEY: context.tls.key });
  return env;
}

/** Undefined when `binary args` runs and exits 0 within 15 s, else why not. */
export function binaryUnavailable(binary: string, args: string[] = ['--version']): string | undefined {
  if (!existsSync(binary)) return `${binary} is not installed (npm run bench:install)`;
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 15_000 });
  if (result.error) return `${path.basename(binary)} does not run: ${result.error.message}`;
  if (result.status !== 0) return `${path.basename(binary)} ${args.join(' ')} exited ${result.status}: ${(result.stderr || result.stdout).trim().slice(0, 300)}`;
  return undefined;
}

/** First line of `binary args`, or '?'. */
export function binaryVersion(binary: string, args: string[] = ['--version']): string {
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 15_000 });
  return (result.stdout || result.stderr || '?').trim().split('\n')[0] ?? '?';
}

/**
 * `ngi serve` of a built tree, as the CLI runs: dist/cli/run.js (which re-executes itself with
 * --max-semi-space-size=8 where the runtime can) and that tree's bench app.
 */
/** `unavailable` of the contenders that run this tree's compiled CLI. */
export function distUnavailable({ root }: { root: string }): string | undefined {
  return existsSync(path.join(root, 'dist/cli/run.js')) ? undefined : 'dist/ is not built (npm run build)';
}

/**
 * NGI from this tree with `flags` added to its command line (one engine or framing swapped):
 * the same CLI, app and tree as `ngi`, on the protocols where the flags make a difference.
 */
export function ngiVariant(name: string, label: string, protocols: readonly Protocol[], flags: readonly string[]): Contender {
  return {
    name,
    label,
    runtime: 'node',
    protocols,
    start: (context) => ngiServe(context, context.root, flags),
    version: () => `this tree, dist/, ${flags.join(' ')}`,
    unavailable: distUnavailable,
  };
}

export function ngiServe(context: StartContext, root: string, extra: readonly string[] = []): Command {
  const args = [path.join(root, 'dist/cli/run.js'), 'serve', path.join(root, 'bench/apps/ngi-app.mjs'), '--port', String(context.port), '--quiet', '--drain-timeout', '1000', ...extra];
  if (context.tls) args.push('--cert', context.tls.cert, '--key', context.tls.key);
  return { cmd: context.node, args };
}
