/** The shape of results.json (one run) and latest.json (the newest result of each scenario). */
import type { Sample, Scenario } from './types.ts';
import type { Summary } from './stats.ts';

export interface SampleRecord extends Sample {
  repeat: number;
  /** Server CPU time / wall time while measured: ~1.0 means the server's core was the limit. */
  serverCpu?: number;
  /** 1-minute load average when the sample started (noise indicator: 2 is our own pair). */
  loadavg: number;
}

export interface ContenderResult {
  label: string;
  runtime: string;
  samples: SampleRecord[];
  summary?: Summary;
  /** Load-generator errors summed over the samples. */
  errors: number;
  /** Samples that produced no number, with why. */
  failures: string[];
  /** The server command, exactly as started (taskset included). */
  server: string;
}

export interface RatioResult extends Summary {
  /** contender / baseline (or baseline / contender when lower is better), per repeat. */
  perRepeat: number[];
}

export interface ScenarioResult {
  name: string;
  description: string;
  protocol: Scenario['protocol'];
  metric: Scenario['metric'];
  baselines: string[];
  run: string;
  quick: boolean;
  repeats: number;
  duration: number;
  /** Contender order in each repeat (rotated so none always goes first). */
  order: string[][];
  contenders: Record<string, ContenderResult>;
  /** ratios[baseline][contender]: "how many times the baseline", > 1 is better for the contender. */
  ratios: Record<string, Record<string, RatioResult>>;
  /** Contenders that serve the protocol but could not run here. */
  unavailable: Record<string, string>;
}

export interface RunInfo {
  id: string;
  startedAt: string;
  finishedAt: string;
  command: string;
  options: { repeats: number; duration: number; warmup: number; quick: boolean; scenarios: string[]; contenders: string[] };
  machine: { nproc: number; cpuModel: string; memoryBytes: number; kernel: string; loadavgStart: number[]; loadavgEnd: number[]; pinning: string };
  versions: Record<string, string>;
  git: string;
  unavailable: Record<string, string>;
  notes: string[];
}

export interface ResultsFile {
  updated: string;
  runs: Record<string, RunInfo>;
  scenarios: Record<string, ScenarioResult>;
}
