#!/usr/bin/env node
// Runs the CLI from the compiled package (dist/). In a checkout (tsconfig.build.json present:
// the published package has no such file) whose dist/ is missing or older than src/ (a source
// edit not yet built), it runs from the TypeScript sources through tsx instead, so that what
// runs is what was last written. The application module itself is loaded through tsx only
// when it is TypeScript (src/cli/load-app.ts).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest mtime below dir, directories included (a deleted or renamed file changes its directory's). */
function newestMtime(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(file) : statSync(file).mtimeMs);
  }
  return newest;
}

function runCompiled() {
  if (!existsSync(`${root}dist/cli/run.js`)) return false;
  if (!existsSync(`${root}tsconfig.build.json`)) return true; // an installed package
  try {
    return newestMtime(`${root}src`) <= statSync(`${root}dist/.built`).mtimeMs;
  } catch {
    return false; // no stamp: an interrupted build
  }
}

if (runCompiled()) {
  await import('../dist/cli/run.js');
} else {
  // Both hooks: a .ts file outside a "type": "module" package is loaded as CommonJS.
  const { register: registerEsm } = await import('tsx/esm/api');
  const { register: registerCjs } = await import('tsx/cjs/api');
  registerEsm();
  registerCjs();
  globalThis[Symbol.for('ngi.tsx-registered')] = true;
  await import('../src/cli/run.ts');
}
