/** Readers for the load generators' text output. */
import type { Sample } from './types.ts';

function number(re: RegExp, text: string): number | undefined {
  const match = re.exec(text);
  return match ? Number(match[1]) : undefined;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

function bytes(re: RegExp, text: string): number | undefined {
  const match = re.exec(text);
  return match ? Number(match[1]) * (UNITS[match[2]!.toUpperCase()] ?? NaN) : undefined;
}

function trim(text: string): string {
  return text.trim().split('\n').slice(-30).join('\n');
}

/** wrk: "Requests/sec: 69000.12", socket errors and non-2xx responses as errors. */
export function parseWrk(stdout: string, stderr = ''): Sample {
  const rps = number(/Requests\/sec:\s+([\d.]+)/, stdout);
  if (rps === undefined) throw new Error(`wrk printed no Requests/sec:\n${trim(stdout + stderr)}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = number(/Non-2xx or 3xx responses:\s+(\d+)/, stdout) ?? 0;
  const extra: Record<string, number> = { requests: number(/(\d+) requests in/, stdout) ?? NaN, non2xx, socketErrors };
  const transfer = bytes(/Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/, stdout);
  if (transfer !== undefined) extra.bytesPerSec = Math.round(transfer);
  const latency = /Latency\s+([\d.]+)(us|ms|s)/.exec(stdout);
  if (latency) extra.latencyAvgMs = Number(latency[1]) * (latency[2] === 'us' ? 0.001 : latency[2] === 's' ? 1000 : 1);
  return { value: rps, errors: socketErrors + non2xx, extra, raw: trim(stdout) };
}

/** h2load: "finished in 10.00s, 51234.50 req/s, 2.34MB/s" and the requests line. */
export function parseH2load(stdout: string, stderr = ''): Sample {
  const rps = number(/finished in [\d.]+m?s, ([\d.]+) req\/s/, stdout);
  if (rps === undefined) throw new Error(`h2load printed no req/s:\n${trim(stdout + stderr)}`);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  const extra: Record<string, number> = {};
  let errors = 0;
  if (requests) {
    extra.succeeded = Number(requests[4]);
    extra.failed = Number(requests[5]);
    extra.errored = Number(requests[6]);
    extra.timeout = Number(requests[7]);
    errors += extra.failed + extra.timeout;
  }
  if (status) {
    extra.non2xx = Number(status[2]) + Number(status[3]) + Number(status[4]);
    errors += extra.non2xx;
  }
  const transfer = bytes(/req\/s, ([\d.]+)(B|KB|MB|GB)\/s/, stdout);
  if (transfer !== undefined) extra.bytesPerSec = Math.round(transfer);
  return { value: rps, errors, extra, raw: trim(stdout) };
}

/** The JSON line bench/clients/*.ts print last. */
export function parseJsonLine(stdout: string): Record<string, number> {
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no result line in:\n${trim(stdout)}`);
  return JSON.parse(line) as Record<string, number>;
}
