/** The `ngi` command: runs the CLI with the process's arguments (bin/ngi.js picks this file from dist/ or src/). */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
