/**
 * Processes: servers pinned to one core, load generators to the other, every one stopped by
 * its own pid, every wait bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Command } from './types.ts';

export const SERVER_CORE = '0';
export const CLIENT_CORE = '1';

export function pinned(core: string, command: Command): Command {
  return { cmd: 'taskset', args: ['-c', core, command.cmd, ...command.args], ...(command.env ? { env: command.env } : {}) };
}

export function shellQuote(command: Command): string {
  const env = Object.entries(command.env ?? {}).map(([k, v]) => `${k}=${quote(v)}`);
  return [...env, command.cmd, ...command.args.map(quote)].join(' ');
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last lines it printed, for error reports. */
  output(): string;
  readonly exited: Promise<number | null>;
}

export function startServer(command: Command): ServerProcess {
  const p = pinned(SERVER_CORE, command);
  const child = spawn(p.cmd, p.args, { env: { ...process.env, ...p.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid === undefined) throw new Error(`cannot start ${p.cmd}`);
  return { child, pid: child.pid, output: () => tail, exited };
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
export async function stopServer(server: ServerProcess, graceMs = 3000): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([server.exited, timer])) === 'timeout') {
    server.child.kill('SIGKILL');
    await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}

/** Runs a command to its end (pinned by the caller), killed by pid after timeoutMs. */
export function run(command: Command, timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.cmd, command.args, { env: { ...process.env, ...command.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20000)));
    const timer = setTimeout(() => {
      stderr += `\n[bench] killed after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** Resident set size and its peak, bytes, from /proc (Linux). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(/\s(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(field)) ?? '')?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS:'), hwm: kb('VmHWM:') };
}

/** The process's CPU time so far (user + system), seconds. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat; index 11 and 12 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type ReadyKind = 'http1' | 'h2c' | 'h2-tls';

function getOnce(kind: ReadyKind, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    if (kind === 'http1') {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      });
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', reject);
      return;
    }
    const session = kind === 'h2-tls' ? http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false }) : http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => session.destroy(new Error('timeout')), 1000);
    session.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const req = session.request({ ':path': '/' });
    req.once('error', reject);
    req.once('response', (headers) => {
      req.resume();
      req.once('end', () => {
        clearTimeout(timer);
        session.close();
        resolve(Number(headers[':status']));
      });
    });
    req.end();
  });
}

/** Polls GET / until it answers 200; throws after timeoutMs or if the process exits. */
export async function waitReady(server: ServerProcess, kind: ReadyKind, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`the server exited (${server.child.exitCode ?? server.child.signalCode}) before it was ready:\n${server.output()}`);
    }
    try {
      const status = await getOnce(kind, port);
      if (status === 200) return;
      last = `status ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ready within ${timeoutMs} ms (${last}):\n${server.output()}`);
}

/** A long-running client: lines on stdout are watched, stopped by its pid. */
export function background(command: Command): import('./types.ts').Background & { readonly exited: Promise<void> } {
  const child = spawn(command.cmd, command.args, { env: { ...process.env, ...command.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`cannot start ${command.cmd}`);
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    for (const watch of watchers) watch();
  });
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => {
    for (const watch of watchers) watch();
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid,
    exited,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${stdout.slice(-2000)}${stderr}`));
        }, timeoutMs);
        const check = (): void => {
          const line = stdout.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve(line);
          } else if (!running()) {
            clearTimeout(timer);
            watchers.delete(check);
            reject(new Error(`exited before printing ${pattern}:\n${stdout.slice(-2000)}${stderr}`));
          }
        };
        watchers.add(check);
        check();
      });
    },
    async stop() {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      return stdout;
    },
  };
}
