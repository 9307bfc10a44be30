/** `ngi serve --workers N`: several processes on one port, shut down and supervised by the primary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { NGI_BIN, ROOT, startCli } from '../helpers/server.ts';
import { run } from '../helpers/run.ts';

/** GET on a fresh connection, so the cluster can hand each request to another worker. */
function get(url: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('--workers 2: requests are served by two processes, SIGTERM drains both and the primary exits 0', { timeout: 30_000 }, async () => {
  const server = await startCli('test/fixtures/pid.ts', ['--workers', '2', '--quiet']);
  try {
    // Both workers listen before they are counted on.
    const deadline = Date.now() + 10_000;
    while ((server.stderr().match(/\[worker \d+\]/g) ?? []).length < 2 && Date.now() < deadline) await sleep(50);
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const res = await get(`${server.url}/`);
      assert.equal(res.status, 200);
      pids.add(Number(res.body));
    }
    assert.equal(pids.size, 2, `served by ${[...pids].join(', ')}`);
    assert.ok(!pids.has(server.pid), 'the primary serves nothing itself');
    assert.equal(await server.stop(), 0);
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} has exited`);
  } finally {
    await server.stop(2000);
  }
});

test('--workers 2: a worker that dies while serving is replaced; the port keeps answering', { timeout: 30_000 }, async () => {
  const server = await startCli('test/fixtures/pid.ts', ['--workers', '2', '--quiet']);
  try {
    const deadline = Date.now() + 10_000;
    while ((server.stderr().match(/\[worker \d+\]/g) ?? []).length < 2 && Date.now() < deadline) await sleep(50);
    const crashed = Number((await get(`${server.url}/crash`)).body);
    while (alive(crashed) && Date.now() < deadline) await sleep(50);
    assert.equal(alive(crashed), false);
    // A third worker starts in its place.
    while ((server.stderr().match(/\[worker \d+\]/g) ?? []).length < 3 && Date.now() < deadline) await sleep(50);
    assert.match(server.stderr(), new RegExp(`worker ${crashed} exited \\(3\\); starting another`));
    const pids = new Set<number>();
    for (let i = 0; i < 10; i++) pids.add(Number((await get(`${server.url}/`)).body));
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(crashed));
    assert.equal(await server.stop(), 0);
  } finally {
    await server.stop(2000);
  }
});

test('--workers 2 with a failing startup: the primary stops and exits 1 instead of retrying', { timeout: 30_000 }, async () => {
  const result = await run(process.execPath, [NGI_BIN, 'serve', `${ROOT}test/fixtures/startup-fails.ts`, '--port', '0', '--workers', '2'], { timeoutMs: 20_000 });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /NGI_ERR_STARTUP_FAILED/);
  assert.match(result.stderr, /failed before listening/);
});
