#!/usr/bin/env node
// Runs every *.test.ts below the given folders (default: test/) with node's test runner,
// TypeScript loaded by tsx. Node 20's --test does not expand globs, hence this script.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function collect(target, out) {
  if (statSync(target).isFile()) {
    if (target.endsWith('.test.ts')) out.push(target);
    return out;
  }
  for (const name of readdirSync(target).sort()) collect(path.join(target, name), out);
  return out;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['test']).flatMap((t) => collect(t, []));
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found');
  process.exit(1);
}
console.log(`run-tests: ${process.execPath} (${process.version}), ${files.length} files`);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
