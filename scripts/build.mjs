#!/usr/bin/env node
// Compiles src/ into dist/ (JavaScript, declarations, source maps) and stamps the build:
// bin/ngi.js in a checkout runs dist/ only while that stamp is newer than everything in src/.
// The stamp carries the time the build started, so an edit saved while tsc runs counts as
// newer than the build.
import { spawnSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm install --omit=dev` in a checkout runs `prepare` without TypeScript: not fatal, the
  // CLI then runs the sources through tsx (a runtime dependency).
  console.warn('build: typescript is not installed; dist/ not built (ngi serve will run src/ through tsx)');
  process.exit(0);
}
const startedAt = new Date();
rmSync(`${root}dist`, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(`${root}dist/.built`, `${startedAt.toISOString()}\n`);
utimesSync(`${root}dist/.built`, startedAt, startedAt);
