#!/usr/bin/env node
// Compiles src/ into dist/ (JavaScript, declarations, source maps) and stamps the build:
// bin/ngi.js runs dist/ only while that stamp is newer than every file in src/.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${root}dist`, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(`${root}dist/.built`, `${new Date().toISOString()}\n`);
