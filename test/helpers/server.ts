/** Starting servers for tests: in-process with serve(), or as the CLI in a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { serve, type ServerHandle } from '../../src/server/serve.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import type { AppExport } from '../../src/interface/app.ts';
import { createSelfSignedCertificate } from '../../src/tls/self-signed.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NGI_BIN = fileURLToPath(new URL('../../bin/ngi.js', import.meta.url));

let cert: { cert: string; key: string } | undefined;
/** One self-signed certificate for localhost / 127.0.0.1, shared by a test file. */
export function testCertificate(): { cert: string; key: string } {
  return (cert ??= createSelfSignedCertificate());
}

/** The port of a server URL. */
export const portOf = (url: string): number => Number(new URL(url).port);

/**
 * The HTTP/2 engine the suite runs on: NGI's own framing, the server's default;
 * NGI_TEST_HTTP2_ENGINE=node runs the HTTP/2 tests again on node:http2
 * (scripts/run-tests.mjs --engine node, or --http2-engine node).
 */
export const TEST_HTTP2_ENGINE: 'node' | 'ngi' = process.env.NGI_TEST_HTTP2_ENGINE === 'node' ? 'node' : 'ngi';

/**
 * The HTTP/1.x engine the suite runs on: NGI's own parser, the server's default;
 * NGI_TEST_HTTP1_ENGINE=node runs the HTTP/1.1 tests again on node:http
 * (scripts/run-tests.mjs --engine node).
 */
export const TEST_HTTP1_ENGINE: 'node' | 'ngi' = process.env.NGI_TEST_HTTP1_ENGINE === 'node' ? 'node' : 'ngi';

/**
 * The WebSocket framing the suite runs on: NGI_TEST_WEBSOCKET_FRAMING=ws runs the WebSocket
 * tests again on ws's framing (scripts/run-tests.mjs --websocket-framing ws).
 */
export const TEST_WEBSOCKET_FRAMING: 'ngi' | 'ws' = process.env.NGI_TEST_WEBSOCKET_FRAMING === 'ws' ? 'ws' : 'ngi';

/** serve() on 127.0.0.1, port 0, no access log unless asked. */
export function startServer<S>(app: AppExport<S>, options: ServeOptions = {}): Promise<ServerHandle> {
  return serve(app, {
    host: '127.0.0.1',
    port: 0,
    accessLog: false,
    http2Engine: TEST_HTTP2_ENGINE,
    http1Engine: TEST_HTTP1_ENGINE,
    ...options,
    websocket: { framing: TEST_WEBSOCKET_FRAMING, ...options.websocket },
  });
}

/** Runs fn with a started server and always closes it. */
export async function withServer<S, T>(app: AppExport<S>, options: ServeOptions, fn: (server: ServerHandle) => Promise<T>): Promise<T> {
  const server = await startServer(app, options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

export interface CliServer {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/** `ngi serve <module> --port 0 ...args` as a child process, with this test's node binary (and extra environment). */
export function startCli(modulePath: string, args: string[] = [], timeoutMs = 20_000, env: NodeJS.ProcessEnv = {}): Promise<CliServer> {
  // The suite's engines and framing, unless the test chose its own.
  const chosen = (flag: string, value: string): string[] => (args.includes(flag) ? [] : [flag, value]);
  const suite = [...chosen('--http1-engine', TEST_HTTP1_ENGINE), ...chosen('--http2-engine', TEST_HTTP2_ENGINE), ...chosen('--websocket-framing', TEST_WEBSOCKET_FRAMING)];
  const child = spawn(process.execPath, [NGI_BIN, 'serve', modulePath, '--port', '0', ...suite, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ngi serve did not start within ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    const onData = (): void => {
      const m = /on (https?:\/\/[^ ]+) /.exec(err);
      if (!m) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      resolve({
        url: m[1]!,
        pid: child.pid!,
        child,
        stderr: () => err,
        exited,
        async stop(graceMs = 10_000) {
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const code = await exited;
          clearTimeout(killer);
          return code;
        },
      });
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ngi serve exited with ${code} before listening:\n${err}`));
    });
  });
}

/**
 * A node:http2 client session, resolved once the server's SETTINGS arrived (so its limits are
 * known); later session errors are the test's to observe through its streams.
 */
export function connectSession(url: string, options: http2.SecureClientSessionOptions = {}, timeoutMs = 5000): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, { rejectUnauthorized: false, ...options });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`HTTP/2 connect: no SETTINGS from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    session.once('remoteSettings', () => {
      clearTimeout(timer);
      session.off('error', fail);
      session.on('error', () => {});
      resolve(session);
    });
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    session.once('error', fail);
  });
}
