#!/usr/bin/env -S node --max-semi-space-size=8
// The flag caps V8's young generation at 2 x 8 MB. Node 22+ let it grow to 2 x 64 MB under
// load (Node 20: 2 x 16 MB), so a server with hundreds of requests in flight sat at 230-290 MB
// of RSS for garbage it would collect anyway; bench/README.md has the measurements. Starting
// this file with `node bin/ngi.js` skips the shebang: pass the flag yourself to keep the cap.
// Runs the CLI from the compiled package (dist/). In a checkout whose dist/ is missing or
// older than src/ (a source edit not yet built), it runs from the TypeScript sources through
// tsx instead, so that what runs is always what was last written. The application module
// itself is loaded through tsx only when it is TypeScript (see src/cli/load-app.ts).
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(file) : statSync(file).mtimeMs);
  }
  return newest;
}

function compiledIsCurrent() {
  let built;
  try {
    built = statSync(`${root}dist/.built`).mtimeMs;
  } catch {
    return false;
  }
  try {
    return newestMtime(`${root}src`) <= built;
  } catch {
    return true; // an installed package ships dist/ only
  }
}

if (compiledIsCurrent()) {
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
