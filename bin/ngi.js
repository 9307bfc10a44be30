#!/usr/bin/env node
// Registers tsx so that both NGI's own sources and the application module may be
// TypeScript (Node 20 cannot strip types itself), then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
