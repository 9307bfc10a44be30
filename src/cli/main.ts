/**
 * `ngi serve <module> [--host H] [--port P] [--cert F --key F | --self-signed] [--http1-engine E] [--http2-engine E] [--websocket-framing F] [--quiet]`
 * The module's default export is the application (a handler or { handle, startup, shutdown }).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NgiError } from '../interface/errors.ts';
import { serve } from '../server/serve.ts';
import type { ServeOptions } from '../server/options.ts';
import { createSelfSignedCertificate } from '../tls/self-signed.ts';
import { isWorker, leaveCluster, runPrimary } from './workers.ts';
import { loadApp } from './load-app.ts';

const USAGE = `Usage: ngi serve <module> [options]

Serves the module's default export (an NGI application) on one port:
HTTP/1.1 and h2c in cleartext, or h2 and HTTP/1.1 (ALPN) with TLS.

Options:
  --host <host>           address to bind (default 127.0.0.1)
  --port <port>           port to bind, 0 for any free port (default 8000)
  --cert <file>           TLS certificate (PEM), with --key
  --key <file>            TLS private key (PEM), with --cert
  --self-signed           TLS with a fresh self-signed certificate for localhost
  --drain-timeout <ms>    how long shutdown waits for in-flight requests (default 30000)
  --workers <n>           serve from n processes sharing the port (node:cluster; default 1)
  --http1-engine <e>      what parses HTTP/1.x: ngi (NGI's own, default) or node (node:http)
  --http2-engine <e>      what frames HTTP/2: ngi (NGI's own, default) or node (node:http2)
  --websocket-framing <f> what frames WebSocket messages: ngi (NGI's own, default) or ws
  --quiet                 no access log
  --debug                 error details in 500 responses
  -h, --help              this text
`;

function fail(message: string): number {
  process.stderr.write(`ngi: ${message}\n`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'self-signed': { type: 'boolean' },
        'drain-timeout': { type: 'string' },
        workers: { type: 'string' },
        'http1-engine': { type: 'string' },
        'http2-engine': { type: 'string' },
        'websocket-framing': { type: 'string' },
        quiet: { type: 'boolean' },
        debug: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals[0] !== 'serve' || positionals.length !== 2) return fail(`expected 'serve <module>'\n\n${USAGE}`);
  const modulePath = positionals[1]!;

  if (values.workers !== undefined && !/^[1-9]\d*$/.test(values.workers)) return fail('--workers must be a whole number >= 1');
  const workers = Number(values.workers ?? 1);
  if (workers > 1 && !isWorker()) return runPrimary(workers);

  const options: ServeOptions = { handleSignals: true, accessLog: !values.quiet, debug: values.debug ?? false };
  if (values.host !== undefined) options.host = values.host;
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port)) return fail(`--port must be a number, got ${values.port}`);
    options.port = Number(values.port);
  }
  if (values['drain-timeout'] !== undefined) {
    if (!/^\d+$/.test(values['drain-timeout'])) return fail('--drain-timeout must be a number of milliseconds');
    options.timeouts = { drain: Number(values['drain-timeout']) };
  }
  for (const flag of ['http1-engine', 'http2-engine'] as const) {
    const engine = values[flag];
    if (engine === undefined) continue;
    if (engine !== 'node' && engine !== 'ngi') return fail(`--${flag} must be ngi or node, got ${engine}`);
    if (flag === 'http1-engine') options.http1Engine = engine;
    else options.http2Engine = engine;
  }
  const framing = values['websocket-framing'];
  if (framing !== undefined) {
    if (framing !== 'ngi' && framing !== 'ws') return fail(`--websocket-framing must be ngi or ws, got ${framing}`);
    options.websocket = { framing };
  }
  if ((values.cert === undefined) !== (values.key === undefined)) return fail('--cert and --key go together');
  if (values.cert !== undefined && values['self-signed']) return fail('use either --cert/--key or --self-signed');
  if (values.cert !== undefined && values.key !== undefined) {
    try {
      options.tls = { cert: readFileSync(values.cert, 'utf8'), key: readFileSync(values.key, 'utf8') };
    } catch (error) {
      return fail(`cannot read the certificate or key: ${(error as Error).message}`);
    }
  } else if (values['self-signed']) {
    options.tls = createSelfSignedCertificate();
  }

  try {
    const app = await loadApp(modulePath);
    const server = await serve(app, options);
    const protocols = options.tls ? 'h2, http/1.1' : 'http/1.1, h2c';
    const who = isWorker() ? ` [worker ${process.pid}]` : '';
    process.stderr.write(`ngi: serving ${modulePath} on ${server.url} (${protocols})${who}\n`);
    await server.closed;
    process.stderr.write('ngi: stopped\n');
    leaveCluster();
    return 0;
  } catch (error) {
    if (error instanceof NgiError) {
      process.stderr.write(`ngi: ${error.code}: ${error.message}\n`);
      leaveCluster();
      const cause = error.cause;
      if (options.debug && cause instanceof Error && cause.stack) process.stderr.write(cause.stack + '\n');
      return 1;
    }
    throw error;
  }
}
