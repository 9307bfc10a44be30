#!/usr/bin/env node
// Summarizes a --cpu-prof profile: self time by function and by the place the code lives
// (node's HTTP modules, streams/events/ticks, GC, NGI's dist/, ws, ...), idle excluded.
//   node --cpu-prof --cpu-prof-dir=/tmp/p dist/cli/run.js serve bench/apps/ngi-app.mjs --quiet
//   (load it, stop it with SIGINT so the profile is written)
//   node bench/tools/profile-summary.mjs /tmp/p/*.cpuprofile [top functions, default 30]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.mjs <file.cpuprofile> [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const byFunction = new Map();
const byPlace = new Map();
let total = 0;

function place(frame) {
  const url = frame.url;
  if (frame.functionName === 'writev' && !url) return 'writev (syscall)';
  if (frame.functionName === '(garbage collector)') return 'garbage collector';
  if (frame.functionName === '(program)') return 'V8 and native (program)';
  if (/node:_http_|node:internal\/http2\//.test(url)) return "node's HTTP modules";
  if (/node:internal\/streams\/|node:events|task_queues|stream_base_commons|node:net|internal\/timers|async_hooks|process\/promises/.test(url) || frame.functionName === 'runMicrotasks') return 'streams, events, ticks, timers';
  if (/\/dist\//.test(url)) return "NGI's own code (dist/)";
  if (/\/bench\/apps\//.test(url)) return 'the bench app';
  if (/\/ws\/lib\//.test(url)) return 'ws';
  return 'other';
}

for (let i = 0; i < profile.samples.length; i++) {
  const frame = nodes.get(profile.samples[i]).callFrame;
  if (frame.functionName === '(idle)') continue;
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src|dist)\//, '$1/')}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + dt);
  const where = place(frame);
  byPlace.set(where, (byPlace.get(where) ?? 0) + dt);
}
const pct = (v) => `${((100 * v) / total).toFixed(1).padStart(5)} %`;
console.log('by place');
for (const [k, v] of [...byPlace].sort((a, b) => b[1] - a[1])) console.log(pct(v), k);
console.log(`\ntop functions (self time)`);
for (const [k, v] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) console.log(pct(v), k);
