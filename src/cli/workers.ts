/**
 * `--workers N`: N processes serving one port through node:cluster (the primary holds the
 * listening socket and hands connections out). Each worker runs the application and its
 * lifespan on its own. The primary forwards SIGTERM/SIGINT, waits for every worker to drain,
 * restarts a worker that dies while serving, and stops everything if a worker fails before
 * it listens (a broken application or a failing startup is not retried forever).
 */
import cluster, { type Worker } from 'node:cluster';

export async function runPrimary(count: number): Promise<number> {
  let stopping = false;
  let failed = false;
  const listening = new WeakSet<Worker>();
  // cluster.workers still lists a worker when its 'exit' fires: count them here.
  let alive = 0;
  const fork = (): Worker => {
    alive++;
    const worker = cluster.fork();
    worker.once('listening', () => listening.add(worker));
    return worker;
  };
  for (let i = 0; i < count; i++) fork();

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`ngi: ${signal}: stopping ${alive} worker(s)\n`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await new Promise<void>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      alive--;
      const clean = code === 0 && signal === null;
      if (!stopping) {
        if (!listening.has(worker)) {
          // It never served: the application cannot start. Stop the others too.
          process.stderr.write(`ngi: worker ${worker.process.pid} failed before listening (exit ${code ?? signal}); stopping\n`);
          failed = true;
          stop('SIGTERM');
        } else {
          process.stderr.write(`ngi: worker ${worker.process.pid} exited (${code ?? signal}); starting another\n`);
          fork();
          return;
        }
      } else if (!clean) {
        failed = true;
      }
      if (alive === 0) resolve();
    });
  });
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  return failed ? 1 : 0;
}

export function isWorker(): boolean {
  return cluster.isWorker;
}

/** A worker's IPC channel keeps it alive: a worker that has stopped serving leaves the cluster. */
export function leaveCluster(): void {
  if (cluster.isWorker && cluster.worker?.isConnected()) cluster.worker.disconnect();
}
