/**
 * The two shapes a benchmark is made of. A contender says how to start a server and what it
 * serves; a scenario says how to load it and how to read the result. One file each, in
 * bench/contenders/ and bench/scenarios/.
 */

/** What a server can be asked to carry. */
export type Protocol =
  | 'http1' // HTTP/1.1, cleartext
  | 'h2c' // HTTP/2 by prior knowledge, cleartext
  | 'h2-tls' // HTTP/2 over TLS (ALPN h2)
  | 'ws-h1' // WebSocket after an HTTP/1.1 Upgrade, at /ws
  | 'ws-h2'; // WebSocket on an RFC 8441 extended CONNECT stream (h2c), at /ws

/** A process to start: the harness prefixes `taskset -c <core>`. */
export interface Command {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

export interface StartContext {
  /** Repository root (absolute). */
  root: string;
  port: number;
  /** The node binary every Node contender runs on (the harness's own by default). */
  node: string;
  /** PEM files, only when the scenario is over TLS. */
  tls?: { cert: string; key: string };
}

export interface Contender {
  /** Identifier, used on the command line and in results. */
  name: string;
  /** What it is, for the tables: "node:http2 core API", "Fastify 5.x". */
  label: string;
  runtime: 'node' | 'bun' | 'deno';
  /** Protocols it serves; scenarios on any other protocol skip it. */
  protocols: readonly Protocol[];
  /** The server process. Routes every app provides: see bench/apps/README section in bench/README.md. */
  start(context: StartContext): Command;
  /**
   * Readiness: the protocol of a `GET /` that must answer 200 (default: 'http1', or 'h2c'
   * for a contender that serves no HTTP/1.1).
   */
  ready?: 'http1' | 'h2c';
  /** Undefined when it can run here, else why not (reported as 'unavailable'). */
  unavailable?(context: { root: string; node: string }): string | undefined;
  /** Version string for the results (package version, runtime version). */
  version?(context: { root: string; node: string }): string;
}

/** One measurement of one contender in one scenario. */
export interface Sample {
  /** The scenario's metric. */
  value: number;
  /** Anything else worth keeping (bytes/s, errors, latency, raw RSS figures). */
  extra?: Record<string, number | string>;
  /** Errors the load generator reported (non-2xx, resets, timeouts). */
  errors?: number;
  /** Load generator output, kept for the record (trimmed). */
  raw?: string;
  /** The exact load command that produced it. */
  command?: string;
}

export interface RunContext {
  root: string;
  /** e.g. http://127.0.0.1:PORT (https for h2-tls). */
  url: string;
  port: number;
  /** Server process id, for RSS sampling. */
  pid: number;
  duration: number;
  warmup: number;
  /** Directory for scratch files (request bodies, scripts). */
  tmp: string;
  node: string;
  quick: boolean;
  /** Runs a command pinned to the load-generator core, bounded by timeoutMs; resolves its output. */
  exec(command: Command, timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }>;
  /** Starts a long-running client pinned to the load-generator core (stopped by the harness at the latest). */
  spawn(command: Command): Background;
  /** The server's resident set size and its peak so far, bytes. */
  memory(): { rss: number; hwm: number };
  /** Records a command in the sample's log (for scenarios that run several). */
  note(command: Command): void;
}

export interface Background {
  readonly pid: number;
  /** Resolves with the first stdout line matching `pattern`; rejects after timeoutMs or on exit. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM (SIGKILL after 5 s); resolves with everything it printed. */
  stop(): Promise<string>;
}

export interface Scenario {
  name: string;
  description: string;
  /** The protocol a contender must serve to take part. */
  protocol: Protocol;
  /** Names this scenario answers to besides its own (`--scenario hello`, `npm run bench:hello`). */
  groups: readonly string[];
  metric: { name: string; unit: string; better: 'higher' | 'lower' };
  /** Contenders the others are divided by, per repeat (ratios in the same run). */
  baselines: readonly string[];
  /** Only these contenders (default: every one that serves the protocol). */
  only?: readonly string[];
  /** The load generator; run once for `warmup` seconds (discarded), then measured. */
  command?(context: RunContext): Command;
  /** Reads the load generator's output. */
  parse?(stdout: string, stderr: string): Sample;
  /** A scenario that is not one load command (memory) does everything here instead. */
  run?(context: RunContext): Promise<Sample>;
}
