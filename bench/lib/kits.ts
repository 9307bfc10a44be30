/**
 * Scenario builders for the common shapes, so each file in bench/scenarios/ is a few lines:
 * a wrk or h2load run, a WebSocket echo run, an idle-connection memory run.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseH2load, parseJsonLine, parseWrk } from './parse.ts';
import type { Command, RunContext, Sample, Scenario } from './types.ts';

type Base = Pick<Scenario, 'name' | 'description' | 'groups'> & Partial<Pick<Scenario, 'baselines' | 'only'>>;

const REQ_S = { name: 'requests/s', unit: 'req/s', better: 'higher' } as const;

/** wrk -t1 -cN on HTTP/1.1; `script` is a Lua body for wrk -s (written to a scratch file). */
export function wrkScenario(base: Base & { path: string; connections: number; lua?: (context: RunContext) => string }): Scenario {
  return {
    protocol: 'http1',
    metric: REQ_S,
    baselines: ['node-http'],
    ...base,
    command(context) {
      const args = ['-t1', `-c${base.connections}`, `-d${context.duration}s`, '--latency'];
      if (base.lua) {
        const file = path.join(context.tmp, `${base.name}.lua`);
        writeFileSync(file, base.lua(context));
        args.push('-s', file);
      }
      return { cmd: 'wrk', args: [...args, `${context.url}${base.path}`] };
    },
    parse: parseWrk,
  };
}

/** h2load -cC -mM for the duration, on h2c (or h2 over TLS). */
export function h2loadScenario(base: Base & { path: string; connections: number; streams: number; tls?: boolean; upload?: number }): Scenario {
  return {
    protocol: base.tls ? 'h2-tls' : 'h2c',
    metric: REQ_S,
    baselines: ['node-http2-core', 'node-http2-compat', 'node-http2-core-capped'],
    ...base,
    command(context) {
      const args = ['-t1', `-c${base.connections}`, `-m${base.streams}`, `-D${context.duration}`];
      if (base.upload) {
        const file = path.join(context.tmp, `body-${base.upload}.bin`);
        writeFileSync(file, Buffer.alloc(base.upload, 0x78));
        args.push('-d', file, '-H', 'content-type: application/octet-stream');
      }
      return { cmd: 'h2load', args: [...args, `${context.url}${base.path}`] };
    },
    parse: parseH2load,
  };
}

/** The bench WebSocket client (bench/clients/ws-load.ts), echoes per second. */
export function wsScenario(base: Base & { transport: 'h1' | 'h2'; size: number; clients?: number }): Scenario {
  return {
    protocol: base.transport === 'h2' ? 'ws-h2' : 'ws-h1',
    metric: { name: 'echoes/s', unit: 'msg/s', better: 'higher' },
    baselines: ['ws-raw'],
    ...base,
    command(context) {
      const client = path.join(context.root, 'bench/clients/ws-load.ts');
      const args = ['--import', 'tsx', client, '--url', `${context.url}/ws`, '--transport', base.transport, '--clients', String(base.clients ?? 50)];
      args.push('--size', String(base.size), '--duration', String(context.duration), '--warmup', '1');
      return { cmd: context.node, args };
    },
    parse(stdout, stderr): Sample {
      let result: Record<string, number>;
      try {
        result = parseJsonLine(stdout);
      } catch {
        throw new Error(`ws-load failed: ${stderr.trim().slice(-1000)}`);
      }
      return { value: result.rate!, errors: result.errors!, extra: { echoes: result.echoes!, bytesPerSec: Math.round(result.bytesPerSec!), opened: result.opened! }, raw: stdout.trim() };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function steadyRss(context: RunContext, samples = 5, intervalMs = 200): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(context.memory().rss);
    await sleep(intervalMs);
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

/**
 * Bytes of server RSS per idle keep-alive connection: RSS with `count` idle connections open
 * minus RSS after a warm-up, divided by count.
 */
export function idleScenario(base: Base & { transport: 'h1' | 'h2'; count: number }): Scenario {
  const { transport, count: fullCount, ...rest } = base;
  const h2 = transport === 'h2';
  return {
    protocol: h2 ? 'h2c' : 'http1',
    metric: { name: 'bytes per idle connection', unit: 'B/conn', better: 'lower' },
    baselines: h2 ? ['node-http2-core', 'node-http2-compat', 'node-http2-core-capped'] : ['node-http'],
    ...rest,
    async run(context) {
      const count = context.quick ? Math.min(fullCount, 2000) : fullCount;
      // Warm up the server's paths first (JIT, parser and session pools), then settle.
      const warm: Command = h2
        ? { cmd: 'h2load', args: ['-t1', '-c16', '-m8', '-D1', `${context.url}/`] }
        : { cmd: 'wrk', args: ['-t1', '-c16', '-d1s', `${context.url}/`] };
      context.note(warm);
      await context.exec(warm, 30_000);
      await sleep(1500);
      const before = await steadyRss(context);
      const client: Command = {
        cmd: context.node,
        args: ['--import', 'tsx', path.join(context.root, 'bench/clients/idle-conns.ts'), '--port', String(context.port), '--protocol', transport, '--count', String(count), '--max-seconds', '120'],
      };
      context.note(client);
      const holder = context.spawn(client);
      try {
        await holder.waitForLine(/^READY/, 90_000);
        await sleep(3000);
        const after = await steadyRss(context, 10, 200);
        const output = await holder.stop();
        const result = parseJsonLine(output);
        const held = result.answered! - result.closedEarly!;
        return {
          value: Math.round((after - before) / count),
          errors: result.errors! + result.closedEarly! + (count - result.answered!),
          extra: { connections: count, held, rssBeforeMB: round(before / 2 ** 20), rssAfterMB: round(after / 2 ** 20), closedEarly: result.closedEarly! },
          raw: output.trim().split('\n').slice(-2).join('\n'),
        };
      } finally {
        await holder.stop();
      }
    },
  };
}

/** Peak server RSS while h2load keeps `connections x streams` streams in flight. */
export function concurrentStreamsMemoryScenario(base: Base & { path: string; connections: number; streams: number }): Scenario {
  return {
    protocol: 'h2c',
    metric: { name: 'peak RSS', unit: 'MB', better: 'lower' },
    baselines: ['node-http2-core', 'node-http2-compat', 'node-http2-core-capped'],
    ...base,
    async run(context) {
      const load: Command = { cmd: 'h2load', args: ['-t1', `-c${base.connections}`, `-m${base.streams}`, `-D${context.duration}`, `${context.url}${base.path}`] };
      context.note(load);
      const idle = context.memory().rss;
      let peak = 0;
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, context.memory().rss);
        } catch {
          // the server is gone; the run reports it
        }
      }, 100);
      let result;
      try {
        result = await context.exec(load, (context.duration + 30) * 1000);
      } finally {
        clearInterval(sampler);
      }
      const parsed = parseH2load(result.stdout, result.stderr);
      const { hwm } = context.memory();
      return {
        value: round(Math.max(peak, hwm) / 2 ** 20),
        errors: parsed.errors ?? 0,
        extra: { ...parsed.extra, requestsPerSec: round(parsed.value), idleRssMB: round(idle / 2 ** 20), sampledPeakMB: round(peak / 2 ** 20) },
        raw: parsed.raw ?? '',
      };
    },
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
