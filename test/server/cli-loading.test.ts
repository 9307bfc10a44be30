/**
 * How `ngi serve` loads code: NGI from its compiled package (dist/, built by `npm test` and
 * `npm run build`), JavaScript applications without a TypeScript loader, TypeScript ones
 * through tsx, and NgiErrors recognized whichever copy of NGI the application imported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NGI_BIN, startCli } from '../helpers/server.ts';
import { run } from '../helpers/run.ts';

const PLAIN_JS = fileURLToPath(new URL('../fixtures/plain-js.mjs', import.meta.url));
const THROWS = fileURLToPath(new URL('../fixtures/throws-ngi-error.ts', import.meta.url));

test('a JavaScript app is served by the compiled package with no TypeScript loader', async () => {
  const server = await startCli(PLAIN_JS, ['--quiet']);
  try {
    const res = await fetch(server.url + '/');
    assert.equal(res.status, 200);
    const { tsx, stack } = (await res.json()) as { tsx: boolean; stack: string };
    assert.equal(tsx, false, 'tsx registered for a .mjs app');
    assert.match(stack, /NGI_ERR_INVALID_STATUS|invalid final status/);
    assert.match(stack, /\/dist\/server\/response\.js/, `the error came from dist/ (run npm run build first): ${stack}`);
  } finally {
    await server.stop();
  }
});

test('a TypeScript app that throws an NgiError from its own copy of NGI gets that error\'s status', async () => {
  const server = await startCli(THROWS, ['--quiet']);
  try {
    const tsx = (await (await fetch(server.url + '/tsx')).json()) as { tsx: boolean };
    assert.equal(tsx.tsx, true, 'a .ts app is loaded through tsx');
    // NGI_ERR_BODY_TOO_LARGE maps to 413; a class identity check across copies would give 500.
    const res = await fetch(server.url + '/');
    assert.equal(res.status, 413);
    await res.arrayBuffer();
  } finally {
    await server.stop();
  }
});

test('ngi serve caps V8\'s young generation where the runtime can re-execute itself, and keeps a cap the user set', async () => {
  const canExec = typeof (process as { execve?: unknown }).execve === 'function';
  const capped = await startCli(PLAIN_JS, ['--quiet']);
  try {
    const { execArgv } = (await (await fetch(capped.url + '/')).json()) as { execArgv: string[] };
    // Node 22.15+/24 on POSIX: re-executed in place with the cap; Node 20: Node's default.
    assert.equal(execArgv.includes('--max-semi-space-size=8'), canExec, `execArgv: ${JSON.stringify(execArgv)}`);
  } finally {
    await capped.stop();
  }
  const own = await startCli(PLAIN_JS, ['--quiet'], 20_000, { NODE_OPTIONS: '--max-semi-space-size=32' });
  try {
    const { execArgv } = (await (await fetch(own.url + '/')).json()) as { execArgv: string[] };
    assert.ok(!execArgv.some((arg) => arg.startsWith('--max-semi-space-size')), `the user's NODE_OPTIONS value stands: ${JSON.stringify(execArgv)}`);
  } finally {
    await own.stop();
  }
});

test('engine and framing flags: an unknown value is refused with exit code 2 and names the flag', async () => {
  for (const [flag, expected] of [
    ['--http1-engine', /--http1-engine must be ngi or node, got llhttp/],
    ['--http2-engine', /--http2-engine must be ngi or node, got llhttp/],
    ['--websocket-framing', /--websocket-framing must be ngi or ws, got llhttp/],
  ] as const) {
    const result = await run(process.execPath, [NGI_BIN, 'serve', PLAIN_JS, '--port', '0', flag, 'llhttp'], { timeoutMs: 15_000 });
    assert.equal(result.code, 2, `${flag}: ${result.stderr}`);
    assert.match(result.stderr, expected);
  }
});
