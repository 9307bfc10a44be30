#!/usr/bin/env node
// Runs every *.test.ts below the given folders (default: test/) with node's test runner,
// TypeScript loaded by tsx. Node 20's --test does not expand globs, hence this script.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function collect(target, out) {
  if (statSync(target).isFile()) {
    if (target.endsWith('.test.ts')) out.push(target);
    return out;
  }
  for (const name of readdirSync(target).sort()) collect(path.join(target, name), out);
  return out;
}

// The default pass runs on the server's defaults: NGI's own HTTP/1.x parser and HTTP/2 framing.
// `--engine node`: the suites that reach HTTP/1.x or HTTP/2 run again on node:http and
// node:http2 (test/helpers/server.ts reads NGI_TEST_HTTP1_ENGINE and NGI_TEST_HTTP2_ENGINE);
// without targets, those files below. `--http2-engine node` switches HTTP/2 only.
// (test/server/h1-engine.test.ts and test/server/h2spec.test.ts run both engines themselves.)
const ENGINE_SUITES = [
  'test/server/http1.test.ts',
  'test/server/websocket-scale.test.ts',
  'test/server/http2.test.ts',
  'test/server/http2-features.test.ts',
  'test/server/errors.test.ts',
  'test/server/flow-control.test.ts',
  'test/server/regressions.test.ts',
  'test/server/shutdown.test.ts',
  'test/server/unawaited-writes.test.ts',
  'test/server/upload-memory.test.ts',
  'test/server/priority-rfc7540.test.ts',
  'test/server/websocket.test.ts',
  'test/server/websocket-denial.test.ts',
  'test/interop/grpc.test.ts',
  'test/browser/websocket-chromium.test.ts',
  'test/server/workers.test.ts',
];
// `--websocket-framing ws`: the WebSocket suites run again on ws's framing (test/helpers/server.ts
// reads NGI_TEST_WEBSOCKET_FRAMING); the default pass runs NGI's own, the server's default.
// (test/server/websocket-framing.test.ts runs both framings itself.)
const WEBSOCKET_SUITES = [
  'test/server/websocket.test.ts',
  'test/server/websocket-denial.test.ts',
  'test/server/websocket-scale.test.ts',
  'test/browser/websocket-chromium.test.ts',
];
const args = process.argv.slice(2);
function option(name) {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
}
const both = option('--engine');
const http2Only = option('--http2-engine');
const engine = both ?? http2Only;
const framing = option('--websocket-framing');
const targets = args;
const defaults = engine ? ENGINE_SUITES : framing ? WEBSOCKET_SUITES : ['test'];
const files = (targets.length ? targets : defaults).flatMap((t) => collect(t, []));
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found');
  process.exit(1);
}
const passes = [both && `HTTP/1.x and HTTP/2 engine ${both}`, !both && http2Only && `HTTP/2 engine ${http2Only}`, framing && `WebSocket framing ${framing}`].filter(Boolean);
console.log(`run-tests: ${process.execPath} (${process.version}), ${files.length} files${passes.map((p) => `, ${p}`).join('')}`);
const env = { ...process.env };
if (framing) env.NGI_TEST_WEBSOCKET_FRAMING = framing;
for (const [flag, value] of [['--engine', both], ['--http2-engine', http2Only]]) {
  if (value !== undefined && value !== 'node' && value !== 'ngi') {
    console.error(`run-tests: ${flag} must be node or ngi, got ${value}`);
    process.exit(2);
  }
}
if (engine) env.NGI_TEST_HTTP2_ENGINE = engine;
if (both) env.NGI_TEST_HTTP1_ENGINE = both;
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
