/**
 * The `ngi` command: runs the CLI with the process's arguments (bin/ngi.js picks this file from
 * dist/ or src/).
 *
 * First it caps V8's young generation. Node 22+ grows each of its two semi-spaces up to 64 MB
 * under load (Node 20: 16 MB), so a server with hundreds of requests in flight holds 230-290 MB
 * of RSS for short-lived garbage (bench/README.md, "Memory"). The flag must be given when V8
 * starts, so the process re-executes itself in place with it (process.execve: same pid, no
 * parent left behind), unless the flag is already set (by the user too: their value wins) or
 * the runtime cannot (Node 20, Windows): those keep Node's default.
 */
const FLAG = '--max-semi-space-size';
const CAP = `${FLAG}=8`;

function capYoungGeneration(): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve !== 'function') return;
  if (process.execArgv.some((arg) => arg.startsWith(FLAG)) || (process.env.NODE_OPTIONS ?? '').includes(FLAG)) return;
  const script = process.argv[1];
  if (script === undefined) return;
  execve.call(process, process.execPath, [process.execPath, CAP, ...process.execArgv, script, ...process.argv.slice(2)], process.env);
}

capYoungGeneration();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
