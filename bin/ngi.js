#!/usr/bin/env node
// Registers tsx so that both NGI's own sources and the application module may be
// TypeScript (Node 20 cannot strip types itself), then runs the CLI. Both hooks are
// needed: a .ts file outside a "type": "module" package is loaded as CommonJS.
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

registerEsm();
registerCjs();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
