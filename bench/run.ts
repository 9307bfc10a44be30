/**
 * The bench harness: starts each contender pinned to core 0, loads it from core 1, alternates
 * contenders within every repeat, and writes bench/results/<timestamp>/ and latest.*.
 *
 *   node --import tsx bench/run.ts [--scenario name|group,...] [--contender name,...]
 *     [--repeats N] [--duration s] [--warmup s] [--quick] [--node path] [--no-latest] [--list]
 *   node --import tsx bench/run.ts --render     (re-draws latest.md and latest.svg from latest.json)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createSelfSignedCertificate } from '../src/tls/self-signed.ts';
import { background, CLIENT_CORE, cpuSecondsOf, freePort, memoryOf, pinned, run, SERVER_CORE, shellQuote, startServer, stopServer, waitReady, type ServerProcess } from './lib/process.ts';
import { markdown, svg } from './lib/report.ts';
import type { ContenderResult, ResultsFile, RunInfo, SampleRecord, ScenarioResult } from './lib/results.ts';
import { summarize } from './lib/stats.ts';
import type { Background, Command, Contender, RunContext, Scenario } from './lib/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    contender: { type: 'string', multiple: true },
    repeats: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    quick: { type: 'boolean', default: false },
    node: { type: 'string' },
    out: { type: 'string' },
    'no-latest': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});

async function loadAll<T extends { name: string }>(dir: string): Promise<T[]> {
  const files = readdirSync(path.join(here, dir)).filter((f) => f.endsWith('.ts')).sort();
  const loaded = await Promise.all(files.map(async (f) => ((await import(pathToFileURL(path.join(here, dir, f)).href)) as { default: T }).default));
  return loaded;
}

const split = (list: string[] | undefined): string[] => (list ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

function pick<T extends { name: string }>(all: T[], wanted: string[], groupsOf: (item: T) => readonly string[], kind: string): T[] {
  if (wanted.length === 0 || wanted.includes('all')) return all;
  const chosen = all.filter((item) => wanted.includes(item.name) || groupsOf(item).some((g) => wanted.includes(g)));
  const unknown = wanted.filter((w) => !all.some((item) => item.name === w || groupsOf(item).includes(w)));
  if (unknown.length) throw new Error(`unknown ${kind}: ${unknown.join(', ')} (known: ${all.map((i) => i.name).join(', ')})`);
  return chosen;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function toolVersion(cmd: string, argv: string[], pattern: RegExp): string {
  const result = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 10_000 });
  if (result.error) return 'missing';
  return pattern.exec(`${result.stdout}${result.stderr}`)?.[1] ?? '?';
}

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bin'], { cwd: root, encoding: 'utf8' }).trim();
    return `${head}${dirty ? ' + uncommitted changes in src/ or bin/' : ''}`;
  } catch {
    return 'unknown';
  }
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
}

// Every process this run starts, so an interrupt stops each one by its pid.
const liveServers = new Set<ServerProcess>();
const liveClients = new Set<Background>();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}: stopping\n`);
    void Promise.all([...[...liveClients].map((c) => c.stop()), ...[...liveServers].map((s) => stopServer(s, 1000))]).finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  if (args.render) {
    // Re-draws latest.md and latest.svg from latest.json (after a change to the report).
    const outRoot = path.resolve(args.out ?? path.join(here, 'results'));
    const latest = JSON.parse(readFileSync(path.join(outRoot, 'latest.json'), 'utf8')) as ResultsFile;
    writeResults(outRoot, 'latest', latest);
    process.stderr.write(`bench: re-rendered ${path.relative(root, outRoot)}/latest.{md,svg}\n`);
    return;
  }
  const scenarios = pick(await loadAll<Scenario>('scenarios'), split(args.scenario), (s) => s.groups, 'scenario');
  const contenders = pick(await loadAll<Contender>('contenders'), split(args.contender), () => [], 'contender');
  if (args.list) {
    for (const s of scenarios) process.stdout.write(`scenario  ${s.name.padEnd(16)} [${s.groups.join(', ')}] ${s.protocol}: ${s.description}\n`);
    for (const c of contenders) process.stdout.write(`contender ${c.name.padEnd(18)} ${c.protocols.join(', ')}: ${c.label}\n`);
    return;
  }
  const quick = args.quick;
  const repeats = Number(args.repeats ?? (quick ? 1 : 3));
  const duration = Number(args.duration ?? (quick ? 3 : 10));
  const warmup = Number(args.warmup ?? (quick ? 1 : 2));
  const node = args.node ?? process.execPath;
  if (!(repeats >= 1 && repeats <= 20 && duration >= 1 && duration <= 120 && warmup >= 0 && warmup <= 60)) {
    throw new Error('--repeats 1..20, --duration 1..120 s, --warmup 0..60 s');
  }
  if (!args['no-build'] && contenders.some((c) => c.name.startsWith('ngi'))) {
    // NGI runs from dist/: compile the tree being measured, so that the numbers are its own.
    process.stderr.write('bench: building dist/ (npm run build)\n');
    const built = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('bench: the build failed');
  }
  const started = new Date();
  const id = timestamp(started);
  const outRoot = path.resolve(args.out ?? path.join(here, 'results'));
  const outDir = path.join(outRoot, id);
  mkdirSync(outDir, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ngi-bench-'));

  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const versions: Record<string, string> = {
    node: nodeVersion,
    wrk: toolVersion('wrk', ['-v'], /wrk (\S+)/),
    h2load: toolVersion('h2load', ['--version'], /nghttp2\/(\S+)/),
  };
  const unavailable: Record<string, string> = {};
  for (const c of contenders) {
    const reason = c.unavailable?.({ root, node });
    if (reason) unavailable[c.name] = reason;
    else if (c.version) versions[c.name] = c.version({ root, node });
  }
  let tls: { cert: string; key: string } | undefined;
  if (scenarios.some((s) => s.protocol === 'h2-tls')) {
    const pair = createSelfSignedCertificate();
    tls = { cert: path.join(tmp, 'cert.pem'), key: path.join(tmp, 'key.pem') };
    writeFileSync(tls.cert, pair.cert);
    writeFileSync(tls.key, pair.key);
  }

  const results: Record<string, ScenarioResult> = {};
  for (const s of scenarios) {
    const participants = contenders.filter((c) => c.protocols.includes(s.protocol) && (!s.only || s.only.includes(c.name)));
    const scenarioUnavailable: Record<string, string> = {};
    for (const c of participants) if (unavailable[c.name]) scenarioUnavailable[c.name] = unavailable[c.name]!;
    results[s.name] = {
      name: s.name,
      description: s.description,
      protocol: s.protocol,
      metric: s.metric,
      baselines: [...s.baselines],
      run: id,
      quick,
      repeats,
      duration,
      order: [],
      contenders: {},
      ratios: {},
      unavailable: scenarioUnavailable,
    };
  }

  const runInfo: RunInfo = {
    id,
    startedAt: started.toISOString(),
    finishedAt: '',
    command: `node --import tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    options: { repeats, duration, warmup, quick, scenarios: scenarios.map((s) => s.name), contenders: contenders.map((c) => c.name) },
    machine: {
      nproc: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? '?',
      memoryBytes: os.totalmem(),
      kernel: os.release(),
      loadavgStart: os.loadavg(),
      loadavgEnd: [],
      pinning: `servers: taskset -c ${SERVER_CORE}; load generators: taskset -c ${CLIENT_CORE}`,
    },
    versions,
    git: gitDescribe(),
    unavailable,
    notes: [],
  };

  const takesPart = (s: Scenario, c: Contender): boolean => c.protocols.includes(s.protocol) && !results[s.name]!.unavailable[c.name] && (!s.only || s.only.includes(c.name));
  const total = scenarios.reduce((n, s) => n + contenders.filter((c) => takesPart(s, c)).length, 0) * repeats;
  for (const tool of ['wrk', 'h2load']) if (versions[tool] === 'missing') runInfo.notes.push(`${tool} is not installed: its scenarios fail (apt-get install -y wrk nghttp2-client)`);
  let done = 0;
  process.stderr.write(`bench: ${scenarios.length} scenario(s), ${total} sample(s), ${duration} s each after ${warmup} s warm-up; Node ${nodeVersion}; results in ${path.relative(root, outDir)}\n`);
  for (const [name, reason] of Object.entries(unavailable)) process.stderr.write(`bench: ${name} unavailable: ${reason}\n`);

  for (let repeat = 0; repeat < repeats && !interrupted; repeat++) {
    for (const scenario of scenarios) {
      const result = results[scenario.name]!;
      const participants = contenders.filter((c) => takesPart(scenario, c));
      // Rotate the order every repeat: no contender always runs first (cold machine) or last.
      const order = participants.map((_, i) => participants[(i + repeat) % participants.length]!);
      result.order.push(order.map((c) => c.name));
      for (const contender of order) {
        if (interrupted) return;
        done++;
        process.stderr.write(`bench: [${done}/${total}] repeat ${repeat + 1} ${scenario.name} ${contender.name} ... `);
        const record = (result.contenders[contender.name] ??= { label: contender.label, runtime: contender.runtime, samples: [], errors: 0, failures: [], server: '' } satisfies ContenderResult);
        try {
          const sample = await measure(scenario, contender, { tls: scenario.protocol === 'h2-tls' ? tls : undefined, duration, warmup, quick, tmp, node, repeat }, record);
          record.samples.push(sample);
          record.errors += sample.errors ?? 0;
          process.stderr.write(`${sample.value.toFixed(1)} ${scenario.metric.unit}${sample.errors ? ` (${sample.errors} errors)` : ''}${sample.serverCpu !== undefined ? `, server CPU ${sample.serverCpu.toFixed(2)}` : ''}\n`);
        } catch (error) {
          const message = (error as Error).message;
          record.failures.push(`repeat ${repeat + 1}: ${message}`);
          process.stderr.write(`FAILED: ${message.split('\n')[0]}\n`);
        }
      }
    }
  }

  for (const result of Object.values(results)) aggregate(result);
  runInfo.finishedAt = new Date().toISOString();
  runInfo.machine.loadavgEnd = os.loadavg();
  if (runInfo.machine.loadavgStart[0]! > 0.5) runInfo.notes.push(`the machine was busy before the run started (load average ${runInfo.machine.loadavgStart[0]!.toFixed(2)}): other work shared the cores`);
  const file: ResultsFile = { updated: runInfo.finishedAt, runs: { [id]: runInfo }, scenarios: results };
  writeResults(outDir, 'results', file);
  process.stderr.write(`bench: wrote ${path.relative(root, outDir)}/results.{json,md,svg}\n`);
  if (!args['no-latest']) {
    const latest = mergeLatest(path.join(outRoot, 'latest.json'), file);
    writeResults(outRoot, 'latest', latest);
    process.stderr.write(`bench: updated ${path.relative(root, outRoot)}/latest.{json,md,svg}\n`);
  }
  rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(markdown(file));
}

interface MeasureOptions {
  tls: { cert: string; key: string } | undefined;
  duration: number;
  warmup: number;
  quick: boolean;
  tmp: string;
  node: string;
  repeat: number;
}

async function measure(scenario: Scenario, contender: Contender, options: MeasureOptions, record: ContenderResult): Promise<SampleRecord> {
  const port = await freePort();
  const start = contender.start({ root, port, node: options.node, ...(options.tls ? { tls: options.tls } : {}) });
  record.server = shellQuote(pinned(SERVER_CORE, start));
  const server = startServer(start);
  liveServers.add(server);
  const clients = new Set<Background>();
  const commands: string[] = [];
  try {
    await waitReady(server, options.tls ? 'h2-tls' : (contender.ready ?? (contender.protocols.includes('http1') ? 'http1' : 'h2c')), port);
    const context: RunContext = {
      root,
      url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      port,
      pid: server.pid,
      duration: options.duration,
      warmup: options.warmup,
      tmp: options.tmp,
      node: options.node,
      quick: options.quick,
      exec: (command, timeoutMs) => run(pinned(CLIENT_CORE, command), timeoutMs),
      spawn: (command) => {
        const client = background(pinned(CLIENT_CORE, command));
        clients.add(client);
        liveClients.add(client);
        return client;
      },
      memory: () => memoryOf(server.pid),
      note: (command: Command) => commands.push(shellQuote(pinned(CLIENT_CORE, command))),
    };
    const loadavg = os.loadavg()[0]!;
    let sample: SampleRecord;
    if (scenario.run) {
      const cpu0 = cpuSecondsOf(server.pid);
      const t0 = performance.now();
      const s = await scenario.run(context);
      assertAlive(server);
      sample = { ...s, repeat: options.repeat, loadavg, serverCpu: (cpuSecondsOf(server.pid) - cpu0) / ((performance.now() - t0) / 1000) };
    } else {
      if (!scenario.command || !scenario.parse) throw new Error(`scenario ${scenario.name} has neither run() nor command() + parse()`);
      if (options.warmup > 0) await context.exec(scenario.command({ ...context, duration: options.warmup }), (options.warmup + 60) * 1000);
      const command = scenario.command(context);
      context.note(command);
      const cpu0 = cpuSecondsOf(server.pid);
      const t0 = performance.now();
      const output = await context.exec(command, (options.duration + 60) * 1000);
      assertAlive(server);
      const serverCpu = (cpuSecondsOf(server.pid) - cpu0) / ((performance.now() - t0) / 1000);
      if (output.code !== 0 && output.code !== null) {
        // Still try to read it (wrk exits 0 even on errors; h2load exits 1 on total failure).
        try {
          scenario.parse(output.stdout, output.stderr);
        } catch {
          throw new Error(`${command.cmd} exited ${output.code}: ${(output.stderr || output.stdout).trim().slice(-500)}`);
        }
      }
      sample = { ...scenario.parse(output.stdout, output.stderr), repeat: options.repeat, loadavg, serverCpu };
    }
    sample.command = commands.join(' && ');
    return sample;
  } finally {
    for (const client of clients) {
      await client.stop();
      liveClients.delete(client);
    }
    await stopServer(server);
    liveServers.delete(server);
    // Let TIME_WAIT sockets and the kernel settle a little between contenders.
    await sleep(500);
  }
}

function assertAlive(server: ServerProcess): void {
  let alive = server.child.exitCode === null && server.child.signalCode === null;
  try {
    memoryOf(server.pid);
  } catch {
    alive = false;
  }
  if (!alive) throw new Error(`the server exited during the run (${server.child.exitCode ?? server.child.signalCode ?? 'gone'}): ${server.output().trim().slice(-1500)}`);
}

function aggregate(result: ScenarioResult): void {
  for (const c of Object.values(result.contenders)) {
    const summary = summarize(c.samples.map((s) => s.value));
    if (summary) c.summary = summary;
  }
  for (const baseline of result.baselines) {
    const base = result.contenders[baseline];
    if (!base?.summary) continue;
    const ratios: ScenarioResult['ratios'][string] = {};
    for (const [name, c] of Object.entries(result.contenders)) {
      const perRepeat: number[] = [];
      for (const sample of c.samples) {
        const b = base.samples.find((x) => x.repeat === sample.repeat);
        if (!b || !(b.value > 0) || !(sample.value > 0)) continue;
        perRepeat.push(result.metric.better === 'higher' ? sample.value / b.value : b.value / sample.value);
      }
      const summary = summarize(perRepeat);
      if (summary) ratios[name] = { ...summary, perRepeat };
    }
    result.ratios[baseline] = ratios;
  }
}

function writeResults(dir: string, name: string, file: ResultsFile): void {
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(file, null, 2) + '\n');
  writeFileSync(path.join(dir, `${name}.md`), markdown(file));
  writeFileSync(path.join(dir, `${name}.svg`), svg(file));
}

/** latest.json keeps each scenario's newest result; a quick run never replaces a full one. */
function mergeLatest(latestPath: string, file: ResultsFile): ResultsFile {
  let latest: ResultsFile = { updated: file.updated, runs: {}, scenarios: {} };
  if (existsSync(latestPath)) {
    try {
      latest = JSON.parse(readFileSync(latestPath, 'utf8')) as ResultsFile;
    } catch {
      // unreadable: start over
    }
  }
  for (const [name, scenario] of Object.entries(file.scenarios)) {
    const previous = latest.scenarios[name];
    if (previous && !previous.quick && scenario.quick) continue;
    if (Object.values(scenario.contenders).every((c) => !c.summary)) continue;
    latest.scenarios[name] = scenario;
  }
  const order = Object.keys(latest.scenarios).sort();
  latest.scenarios = Object.fromEntries(order.map((n) => [n, latest.scenarios[n]!]));
  const used = new Set(Object.values(latest.scenarios).map((s) => s.run));
  latest.runs = Object.fromEntries(Object.entries({ ...latest.runs, ...file.runs }).filter(([runId]) => used.has(runId)));
  latest.updated = file.updated;
  return latest;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  for (const server of liveServers) void stopServer(server, 1000);
  process.exitCode = 1;
});
