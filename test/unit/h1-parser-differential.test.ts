/**
 * Differential fuzzing of NGI's own HTTP/1.x request parser (src/h1/: HeadScanner,
 * parseRequestHead, ChunkedDecoder) against node's (llhttp behind node:http, the engine NGI
 * runs on by default), on the SAME bytes: request messages made by mutating valid ones with a
 * seeded PRNG (fixed seeds: a failure names its seed and reproduces), plus a hand-written table
 * of known smuggling shapes.
 *
 * Verdicts are compared request by request (pipelining included):
 * - (A) NGI accepts what node rejects: a potential smuggling gap. Fails the test.
 * - (B) both accept but disagree on framing: method, target, version, persistence, body
 *   (length, content, or whether it has ended), or where/whether the next request starts.
 *   Fails the test.
 * - (C) NGI rejects what node accepts: allowed (NGI is stricter by design,
 *   docs/server-behavior.md §5.1); counted per H1_* code, with examples, in a diagnostic.
 * - (S) NGI's verdict changes when the same bytes arrive split in pieces (the scanner and the
 *   decoder are incremental): a parser bug. Fails the test.
 * Field lines that differ on requests both accept (not framing) are only reported.
 *
 * node's side: a node:http server on 127.0.0.1 whose handler records, per connection, each
 * request (method, url, httpVersion, shouldKeepAlive, rawHeaders, the body it read, trailers)
 * and whose 'clientError' records llhttp's error code; node's own answers without a request
 * (400 for a missing Host) are read from the responses. A connection is done when the server
 * closes it or nothing happens for a short while; disagreements are re-run with a longer wait
 * before they count, so a slow event loop does not make one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { HeadScanner, parseRequestHead } from '../../src/h1/request-head.ts';
import { ChunkedDecoder } from '../../src/h1/chunked.ts';
import { H1ParseError } from '../../src/h1/errors.ts';
import { Rng } from '../helpers/rng.ts';

/** node's default --max-http-header-size, and NGI's default limits.maxHeaderSize. */
const MAX_HEADER = 16 * 1024;
const FUZZ_CASES = process.env.NGI_H1_FUZZ_CASES !== undefined ? Number(process.env.NGI_H1_FUZZ_CASES) : 5000;
/** The fixed seed CI runs; NGI_H1_FUZZ_SEED (a number) explores others, NGI_H1_FUZZ_CASES runs more cases. */
const FUZZ_SEED = process.env.NGI_H1_FUZZ_SEED !== undefined ? Number(process.env.NGI_H1_FUZZ_SEED) >>> 0 : 0x9e3779b9;
const CONCURRENCY = 24;
const QUIET_MS = 40;
const RECHECK_QUIET_MS = 300;
const MAX_WAIT_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Verdicts

interface ParsedRequest {
  method: string;
  target: string;
  version: string;
  keepAlive: boolean;
  raw: string[];
  body: Buffer;
  /** The body (or its absence) has been read to its end. */
  complete: boolean;
  trailers: string[] | undefined;
}

interface Verdict {
  requests: ParsedRequest[];
  /**
   * After the last request: 'rejected' (a parse error, `code`), 'closed' (the connection ends
   * without error, after a non-persistent request) or 'open' (waiting for more bytes).
   */
  end: 'rejected' | 'closed' | 'open';
  code?: string;
}

const latin1 = (b: Buffer): string => b.toString('latin1');
const show = (b: Buffer): string => JSON.stringify(latin1(b));

function describe(v: Verdict): string {
  const reqs = v.requests.map((r) => {
    const body = r.body.length > 40 ? `${JSON.stringify(latin1(r.body.subarray(0, 40)))}+${r.body.length - 40}B` : JSON.stringify(latin1(r.body));
    return `${JSON.stringify(r.method)} ${JSON.stringify(r.target)} ${r.version}${r.keepAlive ? '' : ' close'} body=${body}${r.complete ? '' : '(incomplete)'}`;
  });
  return `[${reqs.join('; ')}] then ${v.end}${v.code === undefined ? '' : ` ${v.code}`}`;
}

// ---------------------------------------------------------------------------------------------
// NGI: the parser driven directly, the way src/server/http1-ngi.ts drives it.

/**
 * NGI's verdict on `bytes`, delivered in pieces ending at `cuts` (ascending offsets; none: all
 * at once). Like the engine, an incomplete head is kept and scanned again, grown, from 0 with
 * the same scanner; a body is decoded as it comes.
 */
function ngiVerdict(bytes: Buffer, cuts: readonly number[] = []): Verdict {
  const requests: ParsedRequest[] = [];
  const scanner = new HeadScanner(MAX_HEADER);
  let pending = Buffer.alloc(0);
  let current: ParsedRequest | undefined;
  let chunks: Buffer[] = [];
  let decoder: ChunkedDecoder | undefined;
  let remaining = 0;
  const bounds = [...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length];
  let from = 0;
  try {
    for (const to of bounds) {
      const buf = pending.length === 0 ? bytes.subarray(from, to) : Buffer.concat([pending, bytes.subarray(from, to)]);
      from = to;
      let pos = 0;
      while (pos < buf.length) {
        if (current === undefined) {
          const end = scanner.scan(buf, pos);
          if (end < 0) break;
          const head = parseRequestHead(buf, pos, scanner);
          scanner.reset();
          pos = end;
          current = {
            method: head.method,
            target: head.target,
            version: `1.${head.minor}`,
            keepAlive: head.keepAlive,
            raw: head.raw,
            body: Buffer.alloc(0),
            complete: false,
            trailers: undefined,
          };
          requests.push(current);
          chunks = [];
          decoder = head.chunked ? new ChunkedDecoder(MAX_HEADER) : undefined;
          remaining = head.chunked ? 0 : (head.contentLength ?? 0);
        } else if (decoder !== undefined) {
          pos = decoder.decode(buf, pos, (chunk) => chunks.push(Buffer.from(chunk)));
          if (decoder.done) {
            current.trailers = decoder.trailers;
            remaining = 0;
          }
        } else {
          const n = Math.min(remaining, buf.length - pos);
          chunks.push(Buffer.from(buf.subarray(pos, pos + n)));
          remaining -= n;
          pos += n;
        }
        if (current !== undefined && remaining === 0 && (decoder === undefined || decoder.done)) {
          current.body = Buffer.concat(chunks);
          current.complete = true;
          const keepAlive = current.keepAlive;
          current = undefined;
          decoder = undefined;
          // The engine answers and closes; what the client sends after is dropped.
          if (!keepAlive) return { requests, end: 'closed' };
        }
      }
      // An incomplete head stays for the next piece (the scanner resumes, offsets relative to it).
      pending = current === undefined ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
    }
  } catch (error) {
    if (!(error instanceof H1ParseError)) throw error;
    if (current !== undefined) current.body = Buffer.concat(chunks);
    return { requests, end: 'rejected', code: error.code };
  }
  if (current !== undefined) current.body = Buffer.concat(chunks);
  return { requests, end: 'open' };
}

// ---------------------------------------------------------------------------------------------
// node: node:http (llhttp) on a local port, fed the bytes on a raw socket.

interface NodeRecord {
  /** The server's side of the connection: its bytesRead says what llhttp has been fed. */
  socket: net.Socket;
  requests: Array<{ req: http.IncomingMessage; keepAlive: boolean; chunks: Buffer[] }>;
  error: string | undefined;
  /** Requests dispatched when llhttp failed. */
  errorAt: number;
}

const records = new Map<number, NodeRecord>();
/** Client-side activity callbacks, by the client's local port (the server's remotePort). */
const touchers = new Map<number, () => void>();
let server: http.Server | undefined;
let port = 0;
const serverSockets = new Set<net.Socket>();

function touch(p: number | undefined): void {
  if (p !== undefined) touchers.get(p)?.();
}

before(async () => {
  const s = http.createServer((req, res) => {
    const p = req.socket.remotePort;
    const record = p === undefined ? undefined : records.get(p);
    const entry = { req, keepAlive: res.shouldKeepAlive, chunks: [] as Buffer[] };
    record?.requests.push(entry);
    touch(p);
    req.on('data', (chunk: Buffer) => {
      entry.chunks.push(chunk);
      touch(p);
    });
    req.on('end', () => {
      touch(p);
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    req.on('error', () => {});
  });
  s.on('connection', (socket: net.Socket) => {
    serverSockets.add(socket);
    socket.on('close', () => serverSockets.delete(socket));
    const p = socket.remotePort;
    if (p !== undefined) records.set(p, { socket, requests: [], error: undefined, errorAt: 0 });
  });
  s.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const p = socket.remotePort;
    const record = p === undefined ? undefined : records.get(p);
    if (record !== undefined && record.error === undefined) {
      record.error = err.code ?? 'ERR';
      record.errorAt = record.requests.length;
    }
    touch(p);
    // Let the request events already queued be delivered before the connection goes.
    setTimeout(() => socket.destroy(), 15).unref();
  });
  s.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const address = s.address();
  assert.ok(address !== null && typeof address === 'object');
  port = address.port;
  server = s;
});

after(async () => {
  for (const socket of serverSockets) socket.destroy();
  const s = server;
  if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
});

function nodeVerdict(bytes: Buffer, quietMs: number): Promise<Verdict> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const received: Buffer[] = [];
    let localPort: number | undefined;
    let closedByServer = false;
    let quiet: NodeJS.Timeout | undefined;
    let done = false;
    const cap = setTimeout(() => finish(), MAX_WAIT_MS);
    const arm = (): void => {
      if (quiet !== undefined) clearTimeout(quiet);
      quiet = setTimeout(() => {
        // Quiet, but only once node has accepted the connection and read every byte (a busy
        // loop can delay both past the quiet time).
        const record = localPort === undefined ? undefined : records.get(localPort);
        if (record === undefined || (!record.socket.destroyed && record.socket.bytesRead < bytes.length)) arm();
        else finish();
      }, quietMs);
    };
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      if (quiet !== undefined) clearTimeout(quiet);
      socket.destroy();
      const record = localPort === undefined ? undefined : records.get(localPort);
      if (localPort !== undefined) {
        records.delete(localPort);
        touchers.delete(localPort);
      }
      const requests: ParsedRequest[] = (record?.requests ?? []).map(({ req, keepAlive, chunks }) => ({
        method: req.method ?? '',
        target: req.url ?? '',
        version: req.httpVersion,
        keepAlive,
        raw: req.rawHeaders,
        body: Buffer.concat(chunks),
        complete: req.complete,
        trailers: req.complete ? req.rawTrailers : undefined,
      }));
      // node's own answers (not the application's 200s), e.g. 400 for a missing Host: node:http
      // refuses the request after llhttp parsed it, without dispatching it, and llhttp parses
      // on (responses stay in order, so the refused request is the one after the 200s).
      const statuses = [...latin1(Buffer.concat(received)).matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
      const refused = statuses.findIndex((s) => s !== '200');
      if (refused >= 0 && (record?.error === undefined || refused <= record.errorAt)) {
        resolve({ requests: requests.slice(0, refused), end: 'rejected', code: `NODE_${statuses[refused]}` });
      } else if (record?.error !== undefined) {
        resolve({ requests, end: 'rejected', code: record.error });
      } else {
        resolve({ requests, end: closedByServer ? 'closed' : 'open' });
      }
    };
    socket.on('connect', () => {
      localPort = socket.localPort;
      if (localPort !== undefined) touchers.set(localPort, arm);
      socket.write(bytes);
      arm();
    });
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      arm();
    });
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.on('close', () => {
      closedByServer = true;
      // The server's last events (request, clientError) may still be queued.
      setTimeout(() => finish(), 5);
    });
    socket.on('error', () => {});
  });
}

// ---------------------------------------------------------------------------------------------
// Comparison

type Kind = 'A' | 'B' | 'C' | 'agree';
interface Comparison {
  kind: Kind;
  /** Groups findings: the NGI code for C, the shape of the disagreement for A and B. */
  signature: string;
  /** Field lines differ on a request both accepted (reported, not a failure). */
  fieldsDiffer: boolean;
}

function compare(ngi: Verdict, node: Verdict): Comparison {
  let fieldsDiffer = false;
  const result = (kind: Kind, signature: string): Comparison => ({ kind, signature, fieldsDiffer });
  const nodeEnd = node.end === 'rejected' ? `node ${node.code}` : `node ${node.end}`;
  for (let i = 0; ; i++) {
    const n = ngi.requests[i];
    const l = node.requests[i];
    if (n !== undefined && l !== undefined) {
      if (n.method !== l.method) return result('B', `method differs`);
      if (n.target !== l.target) return result('B', `target differs`);
      if (n.version !== l.version) return result('B', `version differs`);
      if (JSON.stringify(n.raw) !== JSON.stringify(l.raw)) fieldsDiffer = true;
      if (n.complete && l.complete) {
        if (!n.body.equals(l.body)) return result('B', 'body content differs');
        if (n.trailers !== undefined && l.trailers !== undefined && JSON.stringify(n.trailers) !== JSON.stringify(l.trailers)) fieldsDiffer = true;
        if (n.keepAlive !== l.keepAlive) return result('B', `persistence differs (NGI keep-alive ${n.keepAlive}, node ${l.keepAlive})`);
        // Past a non-persistent request, neither reads on.
        if (!n.keepAlive) return result('agree', '');
        continue;
      }
      const nLast = i === ngi.requests.length - 1;
      const lLast = i === node.requests.length - 1;
      if (n.complete) {
        // node did not finish this body.
        if (lLast && node.end === 'rejected') return result('A', `body accepted by NGI, ${nodeEnd}`);
        return result('B', `body complete for NGI, ${nodeEnd} waiting for more`);
      }
      if (l.complete) {
        if (nLast && ngi.end === 'rejected') return result('C', `${ngi.code}`);
        return result('B', `body complete for node, NGI waiting for more`);
      }
      // Both bodies unfinished: each side stops here.
      if (ngi.end === 'rejected' && node.end !== 'rejected') return result('C', `${ngi.code}`);
      return result('agree', '');
    }
    if (n !== undefined) {
      if (node.end === 'rejected') return result('A', `head accepted by NGI, ${nodeEnd}`);
      return result('B', `head complete for NGI, ${nodeEnd}`);
    }
    if (l !== undefined) {
      // node dispatches a head before it checks some of it (an unknown Transfer-Encoding is an
      // error in the body): refused by both if node then fails this request's body.
      if (ngi.end === 'rejected' && !l.complete && i === node.requests.length - 1 && node.end === 'rejected') return result('agree', '');
      if (ngi.end === 'rejected') return result('C', `${ngi.code}`);
      return result('B', `head complete for node, NGI ${ngi.end}`);
    }
    // Same requests on both sides: what follows them.
    if (ngi.end === 'rejected' && node.end !== 'rejected') return result('C', `${ngi.code}`);
    return result('agree', '');
  }
}

/**
 * Differences that are NGI's by design, none of which moves where a request or its body ends:
 * reported (class L), not failures. docs/server-behavior.md §5.1 lists them.
 */
function intendedLeniency(kind: Kind, signature: string, bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  // RFC 9110 §9.1: a method is any token (llhttp knows a fixed list); unknown ones reach the app.
  if (kind === 'A' && signature.endsWith('HPE_INVALID_METHOD')) return 'any token method (RFC 9110 §9.1)';
  // Characters inside a target that llhttp refuses (RFC 3986 excludes them); not framing.
  if (kind === 'A' && signature.endsWith('HPE_INVALID_URL') && !/[\x00-\x20\x7f-\xff]/.test(text.split('\r\n')[0]!.split(' ')[1] ?? '')) return 'target characters (RFC 3986), not framing';
  // RFC 9112 §7.1.1 / RFC 9110 §5.6.3: BWS around ";" and "=" in a chunk extension MUST be accepted.
  if (kind === 'A' && (signature.endsWith('HPE_INVALID_CHUNK_SIZE') || signature.endsWith('HPE_STRICT')) && /\r\n[0-9A-Fa-f]+(?:[ \t]+;|;[^\r\n]*[ \t])/.test(text)) return 'BWS in a chunk extension (RFC 9112 §7.1.1)';
  // RFC 9110 §5.6.1: OWS (SP or HTAB) around a Connection option; llhttp does not trim HTAB.
  // Persistence only: NGI still frames every request the same way.
  if (kind === 'B' && signature.startsWith('persistence differs (NGI keep-alive true') && /\r\nconnection:[^\r\n]*\t/i.test(text)) return 'HTAB as OWS around a Connection option (RFC 9110 §5.6.1)';
  // RFC 9112 §9.3: "close" wins over "keep-alive"; NGI reads less, never more.
  if (kind === 'B' && signature.startsWith('persistence differs (NGI keep-alive false')) return 'Connection: close wins (RFC 9112 §9.3)';
  return undefined;
}

function sameVerdict(a: Verdict, b: Verdict): boolean {
  if (a.end !== b.end || a.code !== b.code || a.requests.length !== b.requests.length) return false;
  return a.requests.every((r, i) => {
    const o = b.requests[i]!;
    return (
      r.method === o.method &&
      r.target === o.target &&
      r.version === o.version &&
      r.keepAlive === o.keepAlive &&
      r.complete === o.complete &&
      r.body.equals(o.body) &&
      JSON.stringify(r.raw) === JSON.stringify(o.raw) &&
      JSON.stringify(r.trailers) === JSON.stringify(o.trailers)
    );
  });
}

interface Case {
  name: string;
  bytes: Buffer;
  /** Split points for NGI's incremental check. */
  cuts: number[];
}

interface Finding {
  name: string;
  bytes: Buffer;
  ngi: Verdict;
  node: Verdict;
  signature: string;
}

interface Report {
  cases: number;
  agree: number;
  /** Agreements where both sides accepted every request they saw to its end. */
  agreeAccepted: number;
  rechecked: number;
  failures: Map<string, Finding[]>;
  stricter: Map<string, Finding[]>;
  /** Class L: NGI accepts by design what node refuses, framing unaffected (intendedLeniency). */
  lenient: Map<string, Finding[]>;
  fieldDiffs: Finding[];
  splitFailures: Array<{ name: string; bytes: Buffer; cuts: number[]; whole: Verdict; split: Verdict }>;
}

async function runCases(cases: readonly Case[]): Promise<Report> {
  const report: Report = { cases: cases.length, agree: 0, agreeAccepted: 0, rechecked: 0, failures: new Map(), stricter: new Map(), lenient: new Map(), fieldDiffs: [], splitFailures: [] };
  const add = (map: Map<string, Finding[]>, key: string, finding: Finding): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [finding]);
    else list.push(finding);
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const ngi = ngiVerdict(c.bytes);
      const split = ngiVerdict(c.bytes, c.cuts);
      if (!sameVerdict(ngi, split)) report.splitFailures.push({ name: c.name, bytes: c.bytes, cuts: c.cuts, whole: ngi, split });
      let node = await nodeVerdict(c.bytes, QUIET_MS);
      let cmp = compare(ngi, node);
      if (cmp.kind !== 'agree') {
        // Confirm with a longer wait: a busy event loop can make node look slow.
        report.rechecked++;
        node = await nodeVerdict(c.bytes, RECHECK_QUIET_MS);
        cmp = compare(ngi, node);
      }
      const finding: Finding = { name: c.name, bytes: c.bytes, ngi, node, signature: cmp.signature };
      if (cmp.kind === 'agree') {
        report.agree++;
        if (ngi.end !== 'rejected' && ngi.requests.length > 0 && ngi.requests.every((r) => r.complete)) report.agreeAccepted++;
      }
      else if (cmp.kind === 'C') add(report.stricter, cmp.signature, finding);
      else {
        const lenient = intendedLeniency(cmp.kind, cmp.signature, c.bytes);
        if (lenient !== undefined) add(report.lenient, lenient, finding);
        else add(report.failures, `${cmp.kind}: ${cmp.signature}`, finding);
      }
      if (cmp.fieldsDiffer) report.fieldDiffs.push(finding);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return report;
}

function formatFinding(f: Finding): string {
  return `    ${f.name}\n      bytes: ${show(f.bytes)}\n      NGI:  ${describe(f.ngi)}\n      node: ${describe(f.node)}`;
}

function summarize(t: { diagnostic(message: string): void }, label: string, report: Report): void {
  const counts = [...report.stricter].map(([code, list]) => [code, list.length] as const).sort((a, b) => b[1] - a[1]);
  const failures = [...report.failures.values()].reduce((n, l) => n + l.length, 0);
  const stricter = counts.reduce((n, [, c]) => n + c, 0);
  t.diagnostic(
    `${label}: ${report.cases} cases: ${report.agree} agree (${report.agreeAccepted} accepted whole by both), ${stricter} class C (NGI stricter), ${failures} class A/B, ` +
      `${report.splitFailures.length} split-inconsistent, ${report.fieldDiffs.length} with differing field lines; ${report.rechecked} re-run with a longer wait`,
  );
  // One diagnostic per line: the TAP reporter escapes newlines inside one.
  const lines = (text: string): void => {
    for (const line of text.split('\n')) t.diagnostic(line);
  };
  for (const [code, n] of counts) {
    const examples = report.stricter.get(code)!.slice(0, 3);
    lines(`C ${code}: ${n} case(s)\n${examples.map(formatFinding).join('\n')}`);
  }
  for (const [reason, list] of report.lenient) {
    lines(`L (NGI accepts by design, framing unaffected) ${reason}: ${list.length} case(s)\n${list.slice(0, 2).map(formatFinding).join('\n')}`);
  }
  if (report.fieldDiffs.length > 0) {
    lines(`field lines differ (not framing; up to 3):\n${report.fieldDiffs.slice(0, 3).map((f) => `${formatFinding(f)}\n      NGI raw:  ${JSON.stringify(f.ngi.requests.map((r) => r.raw))}\n      node raw: ${JSON.stringify(f.node.requests.map((r) => r.raw))}`).join('\n')}`);
  }
}

function assertNoFailures(report: Report): void {
  const parts: string[] = [];
  for (const [signature, list] of [...report.failures].sort((a, b) => a[0].localeCompare(b[0]))) {
    parts.push(`${signature}: ${list.length} case(s)\n${list.slice(0, 4).map(formatFinding).join('\n')}`);
  }
  for (const s of report.splitFailures.slice(0, 5)) {
    parts.push(`S: NGI's verdict depends on how the bytes are split (${s.name}, cuts ${JSON.stringify(s.cuts)})\n      bytes: ${show(s.bytes)}\n      whole: ${describe(s.whole)}\n      split: ${describe(s.split)}`);
  }
  if (parts.length > 0) assert.fail(`NGI's HTTP/1.x parser and node's disagree:\n${parts.join('\n')}`);
}

// ---------------------------------------------------------------------------------------------
// Generation: seeded mutations of valid messages.

/** One request: its request line and field lines (latin1, no CRLF), and its body as sent. */
interface Msg {
  lead: string;
  lines: string[];
  body: string;
}

const chunked = (...parts: string[]): string => parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';

const TEMPLATES: ReadonlyArray<() => Msg> = [
  () => ({ lead: '', lines: ['GET / HTTP/1.1', 'Host: example.com', 'User-Agent: fuzz/1', 'Accept: */*'], body: '' }),
  () => ({ lead: '', lines: ['POST /submit?a=1&b=2 HTTP/1.1', 'Host: example.com', 'Content-Type: text/plain', 'Content-Length: 11'], body: 'hello world' }),
  () => ({ lead: '', lines: ['POST /chunks HTTP/1.1', 'Host: example.com', 'Transfer-Encoding: chunked'], body: chunked('hello', ' world') }),
  () => ({ lead: '', lines: ['PUT /t HTTP/1.1', 'Host: example.com', 'Transfer-Encoding: chunked'], body: 'a;name=value\r\n0123456789\r\nB;q="x y"\r\nabcdefghijk\r\n0\r\nX-Trailer: yes\r\n\r\n' }),
  () => ({ lead: '', lines: ['GET /old HTTP/1.0', 'Connection: keep-alive', 'Content-Length: 3'], body: 'abc' }),
  () => ({ lead: '', lines: ['DELETE /r/1 HTTP/1.1', 'Host: h', 'Connection: close', 'Content-Length: 0'], body: '' }),
  () => ({ lead: '', lines: ['OPTIONS * HTTP/1.1', 'Host: h'], body: '' }),
  () => ({ lead: '', lines: ['GET http://example.com/abs?x HTTP/1.1', 'Host: example.com', 'Cookie: a=1; b=2', 'X-List: a, b,, c'], body: '' }),
  () => ({ lead: '', lines: ['PATCH /p HTTP/1.1', 'host: h', 'content-length: 4', 'connection: keep-alive'], body: 'data' }),
];
/** Second requests on the connection: persistent ones. */
const SECOND: ReadonlyArray<() => Msg> = [TEMPLATES[0]!, TEMPLATES[1]!, TEMPLATES[2]!, TEMPLATES[6]!];

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'QUERY', 'M-SEARCH', 'PURGE', 'get', 'Get', 'GETX', 'G', 'FOO', 'GET\t', 'GE T'];
const VERSIONS = ['HTTP/1.0', 'HTTP/1.1', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 ', ' HTTP/1.1', 'HTTP/1.10', 'HTTP/1', 'HTTP/11', 'HTTP/1.1\t', 'HTTPS/1.1'];
const TARGETS = ['/', '*', '/a/b?c=d', 'http://example.com/x', 'http://u@example.com:80/x?y', 'example.com:443', '//x', '/?', '/#frag', '/a b', '/\x00', '/\x7f', '/\x0b', '/\xe9', '/\xff', '/%00', '/a\tb', 'HTTP/1.1', ''];
const CL_VALUES = ['0', '1', '3', '4', '5', '11', '12', '05', '0x5', '+5', '-1', ' 5', '5 ', '5, 5', '5,5', '5 5', '1e1', '', '18446744073709551621', '9007199254740992', '\x0b5', '5\x0b', '5\xa0'];
const TE_VALUES = ['chunked', 'Chunked', 'CHUNKED', ' chunked', 'chunked ', '\tchunked', 'chunked, chunked', 'gzip, chunked', 'chunked, gzip', 'identity', 'identity, chunked', 'chunked, identity', 'chunked;q=1', '"chunked"', 'chunked\x0b', 'chunked\x0c', 'chunked\xa0', '\x0bchunked', 'xchunked', 'chunk', ',chunked', 'chunked,', 'chunked,,', 'cow', ''];
const CHUNK_SIZES = (n: number): string[] => {
  const h = n.toString(16);
  return [h, h.toUpperCase(), `0${h}`, `000000000000000${h}`, `0x${h}`, `+${h}`, `-${h}`, `${h} `, ` ${h}`, `${h}\t`, `${(n + 1).toString(16)}`, `${Math.max(0, n - 1).toString(16)}`, 'ffffffffffffffffff', '10000000000000000', `${h}g`];
};
const EXTENSIONS = [';a', ';a=b', ';a="b;c"', ';a="\r"', ';a="\\""', '; a = b', ';', ';a=\x00', ';a=\x7f', ';a=\xff', ' ;a', '\t;a=b', ';a="x\r\ny"', ';a\r'];
const INTERESTING = [0x20, 0x09, 0x0d, 0x0a, 0x3a, 0x2c, 0x3b, 0x30, 0x31, 0x35, 0x39, 0x00, 0x0b, 0x0c, 0x7f, 0x80, 0xa0, 0xff, 0x22, 0x2d, 0x2b, 0x78, 0x41, 0x61];
const SYNTAX = new Set([0x20, 0x09, 0x0d, 0x0a, 0x3a, 0x2c, 0x3b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);
const FRAMING_NAMES = ['Content-Length', 'Transfer-Encoding', 'Host'];

function randomCase(rng: Rng, s: string): string {
  switch (rng.int(4)) {
    case 0:
      return s.toLowerCase();
    case 1:
      return s.toUpperCase();
    default:
      return [...s].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
  }
}

function fieldIndex(rng: Rng, msg: Msg, name?: string): number {
  const candidates = msg.lines.map((_, i) => i).filter((i) => i > 0 && (name === undefined || msg.lines[i]!.toLowerCase().startsWith(`${name.toLowerCase()}:`)));
  return candidates.length === 0 ? -1 : rng.pick(candidates);
}

function mutateStructure(rng: Rng, msg: Msg): string {
  const lines = msg.lines;
  const requestLine = (): string[] => lines[0]!.split(' ');
  switch (rng.int(16)) {
    case 0: {
      // Duplicate a framing field, same or another value.
      const name = rng.pick(FRAMING_NAMES);
      const i = fieldIndex(rng, msg, name);
      const value = name === 'Content-Length' ? rng.pick(CL_VALUES) : name === 'Transfer-Encoding' ? rng.pick(TE_VALUES) : rng.pick(['example.com', 'other', '', 'a b']);
      const line = i >= 0 && rng.chance(0.5) ? lines[i]! : `${name}: ${value}`;
      lines.splice(1 + rng.int(lines.length), 0, rng.chance(0.3) ? randomCase(rng, line.split(':')[0]!) + line.slice(line.indexOf(':')) : line);
      return `duplicate ${name}`;
    }
    case 1: {
      const i = fieldIndex(rng, msg);
      if (i < 0) return 'none';
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon > 0) lines[i] = randomCase(rng, line.slice(0, colon)) + line.slice(colon);
      return 'change case';
    }
    case 2: {
      lines.splice(1 + rng.int(lines.length), 0, `Content-Length: ${rng.pick(CL_VALUES)}`);
      return 'add content-length';
    }
    case 3: {
      lines.splice(1 + rng.int(lines.length), 0, `${rng.chance(0.3) ? randomCase(rng, 'Transfer-Encoding') : 'Transfer-Encoding'}: ${rng.pick(TE_VALUES)}`);
      return 'add transfer-encoding';
    }
    case 4: {
      const i = fieldIndex(rng, msg);
      if (i >= 0) lines.splice(i, 1);
      return 'remove field';
    }
    case 5: {
      // obs-fold: the value (or part of it) continues on a line starting with SP or HTAB.
      const i = fieldIndex(rng, msg);
      if (i < 0) return 'none';
      const line = lines[i]!;
      const at = line.indexOf(':') + 1 + rng.int(Math.max(1, line.length - line.indexOf(':')));
      lines.splice(i, 1, line.slice(0, at), `${rng.pick([' ', '\t', '  '])}${line.slice(at)}`);
      return 'obs-fold';
    }
    case 6: {
      const i = rng.int(lines.length - 1);
      lines.splice(i, 2, lines[i]! + rng.pick(['', ' ', '\t', '\r', '\n']) + lines[i + 1]!);
      return 'merge lines';
    }
    case 7: {
      const i = rng.int(lines.length);
      const line = lines[i]!;
      const at = rng.int(line.length + 1);
      lines.splice(i, 1, line.slice(0, at), line.slice(at));
      return 'split line';
    }
    case 8: {
      const parts = requestLine();
      parts[0] = rng.pick(METHODS);
      lines[0] = parts.join(' ');
      return 'method';
    }
    case 9: {
      const parts = requestLine();
      parts[parts.length - 1] = rng.pick(VERSIONS);
      lines[0] = parts.join(' ');
      return 'version';
    }
    case 10: {
      const parts = requestLine();
      if (parts.length >= 3) parts[1] = rng.pick(TARGETS);
      lines[0] = parts.join(rng.chance(0.1) ? rng.pick(['  ', '\t']) : ' ');
      return 'target';
    }
    case 11: {
      // A chunk-size or an extension changed.
      const m = [...msg.body.matchAll(/(^|\r\n)([0-9a-fA-F]+)(;[^\r]*)?\r\n/g)];
      if (m.length === 0) {
        msg.body = msg.body.slice(0, Math.max(0, msg.body.length + rng.pick([-2, -1, 1, 2]))) + (rng.chance(0.5) ? 'xy' : '');
        return 'body length';
      }
      const hit = rng.pick(m);
      const start = hit.index + hit[1]!.length;
      const size = parseInt(hit[2]!, 16);
      const replacement = rng.chance(0.6) ? rng.pick(CHUNK_SIZES(size)) + (hit[3] ?? '') : hit[2]! + rng.pick(EXTENSIONS);
      msg.body = msg.body.slice(0, start) + replacement + msg.body.slice(start + hit[2]!.length + (hit[3]?.length ?? 0));
      return 'chunk size or extension';
    }
    case 12: {
      // The body's end: the last chunk, the trailers, or what follows.
      if (msg.body.endsWith('0\r\n\r\n')) {
        const base = msg.body.slice(0, -5);
        msg.body = base + rng.pick(['0\r\n', '0\r\nX-T: 1\r\n\r\n', '0\r\nContent-Length: 5\r\n\r\n', '0\r\nX-T: 1\n\r\n', '0\r\nX-T : 1\r\n\r\n', '0\r\nX-T: 1\r\n a\r\n\r\n', '0\r\n\n', '0\n\r\n', '0\r\r\n\r\n', '00\r\n\r\n', '0;x\r\n\r\n', '0\r\nX-T: \x00\r\n\r\n', '']);
      } else {
        msg.body += rng.pick(['\r\n', '0\r\n\r\n', 'x']);
      }
      return 'body end';
    }
    case 13: {
      msg.lead = rng.pick(['\r\n', '\r\n\r\n', '\n', '\r', ' ', '\r\n \r\n']);
      return 'leading lines';
    }
    case 14: {
      const i = fieldIndex(rng, msg);
      if (i < 0) return 'none';
      const line = lines[i]!;
      const colon = line.indexOf(':');
      lines[i] = line.slice(0, colon) + rng.pick([' :', '\t:', ':', '::', ': ', ':\t', ':\x0b', ':\xa0']) + line.slice(colon + 1);
      return 'around colon';
    }
    default: {
      lines.splice(1 + rng.int(lines.length), 0, rng.pick([': empty', 'X-Empty:', 'X-Obs: \x80\xa0\xff', 'X-Ctl: a\x01b', 'X-Del: a\x7fb', 'X-Nul: a\x00b', 'X-Tab: a\tb', 'X\x00Y: 1', 'X Y: 1', '"X": 1', 'Connection: close', 'Connection: keep-alive', 'Connection: Keep-Alive, x', 'Connection: close\xa0']));
      return 'extra field';
    }
  }
}

function serialize(msg: Msg): string {
  return `${msg.lead}${msg.lines.join('\r\n')}\r\n\r\n${msg.body}`;
}

function mutateBytes(rng: Rng, bytes: number[]): void {
  if (bytes.length === 0) return;
  let at: number;
  if (rng.chance(0.75)) {
    const points = bytes.map((b, i) => (SYNTAX.has(b) ? i : -1)).filter((i) => i >= 0);
    at = points.length === 0 ? rng.int(bytes.length) : rng.pick(points) + rng.pick([-1, 0, 0, 0, 1]);
  } else {
    at = rng.int(bytes.length);
  }
  at = Math.max(0, Math.min(bytes.length - 1, at));
  const b = rng.pick(INTERESTING);
  switch (rng.int(3)) {
    case 0:
      bytes.splice(at + rng.int(2), 0, b);
      break;
    case 1:
      bytes.splice(at, 1);
      break;
    default:
      bytes[at] = b;
  }
}

function cutsFor(rng: Rng, length: number): number[] {
  const n = 1 + rng.int(4);
  return Array.from({ length: n }, () => 1 + rng.int(Math.max(1, length - 1))).sort((a, b) => a - b);
}

function fuzzCases(count: number, seed: number): Case[] {
  const cases: Case[] = [];
  for (let k = 0; k < count; k++) {
    const caseSeed = (seed + Math.imul(k, 0x85ebca6b)) >>> 0;
    const rng = new Rng(caseSeed);
    const first = rng.pick(TEMPLATES)();
    const msgs = [first];
    if (rng.chance(0.5)) msgs.push(rng.pick(SECOND)());
    const steps: string[] = [];
    const structural = k % 10 === 0 ? 0 : rng.int(3);
    for (let s = 0; s < structural; s++) {
      const target = rng.chance(0.8) ? msgs[0]! : msgs[msgs.length - 1]!;
      steps.push(mutateStructure(rng, target));
    }
    const bytes = [...Buffer.from(msgs.map(serialize).join(''), 'latin1')];
    const byteMutations = k % 10 === 0 ? 0 : rng.int(structural === 0 ? 4 : 3) + (structural === 0 ? 1 : 0);
    for (let s = 0; s < byteMutations; s++) mutateBytes(rng, bytes);
    if (byteMutations > 0) steps.push(`${byteMutations} byte mutation(s)`);
    const buf = Buffer.from(bytes);
    cases.push({ name: `fuzz #${k} (seed 0x${caseSeed.toString(16)}: ${steps.join(', ') || 'unmutated'})`, bytes: buf, cuts: cutsFor(rng, buf.length) });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Known tricky inputs.

const H = 'Host: a\r\n';
const TRICKY: ReadonlyArray<readonly [string, string]> = [
  ['baseline GET', `GET / HTTP/1.1\r\n${H}\r\n`],
  ['baseline pipelined CL then GET', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\n${H}\r\n`],
  ['baseline chunked then GET', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`],
  // CL.TE / TE.CL / TE.TE (PortSwigger's shapes).
  ['CL.TE', `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`],
  ['TE.CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`],
  ['TE.CL, CL 0', `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE xchunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE space before colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE tab value', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE two lines, second unknown', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n`],
  ['TE.TE two lines, first unknown', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE two chunked lines', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE leading space line (obs-fold of Host)', `POST / HTTP/1.1\r\n${H} Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE obs-fold of value', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`],
  ['TE.TE obs-fold after chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\tfoo\r\n\r\n0\r\n\r\n`],
  ['TE.TE bare LF before TE', `POST / HTTP/1.1\r\n${H}X: y\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['TE chunked, identity', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
  ['TE identity, chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`],
  ['TE gzip, chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`],
  ['TE quoted', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n`],
  ['TE cow', `POST / HTTP/1.1\r\n${H}Transfer-encoding: cow\r\n\r\n0\r\n\r\n`],
  ['TE chunked\\x0b', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n`],
  ['TE chunked\\x0c', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n`],
  ['TE chunked\\xa0', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n`],
  ['TE \\x0bchunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n`],
  ['TE chunked,', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked,\r\n\r\n0\r\n\r\n`],
  ['TE ,chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n`],
  ['TE chunked;q=1', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n`],
  ['TE empty', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n0\r\n\r\n`],
  ['TE on HTTP/1.0', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  // Content-Length.
  ['CL 0x5', `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`],
  ['CL +5', `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`],
  ['CL -1', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`],
  ['CL 05', `POST / HTTP/1.1\r\n${H}Content-Length: 05\r\n\r\nhello`],
  ['CL 5 with trailing space', `POST / HTTP/1.1\r\n${H}Content-Length: 5 \r\n\r\nhello`],
  ['CL 5, 5', `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`],
  ['CL 5 5', `POST / HTTP/1.1\r\n${H}Content-Length: 5 5\r\n\r\nhello`],
  ['CL twice, equal', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`],
  ['CL twice, different', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`],
  ['CL empty', `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`],
  ['CL 2^64+5', `POST / HTTP/1.1\r\n${H}Content-Length: 18446744073709551621\r\n\r\nhello`],
  ['CL \\x0b5', `POST / HTTP/1.1\r\n${H}Content-Length: \x0b5\r\n\r\nhello`],
  ['CL on GET', `GET / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\n${H}\r\n`],
  ['CL short body', `POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nhello`],
  // Chunked bodies.
  ['chunk-size 0x5', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`],
  ['chunk-size +5', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n`],
  ['chunk-size -5', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`],
  ['chunk-size leading zeros', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n00005\r\nhello\r\n0\r\n\r\n`],
  ['chunk-size trailing space', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`],
  ['chunk-size leading space', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n`],
  ['chunk-size overflow', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n`],
  ['chunk-size 2^64+5 (wraps to 5)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext bare', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext token', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext quoted', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a="b;c"\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext quoted escape', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a="\\""\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext quoted CRLF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a="x\r\ny"\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext CR', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext BWS', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 ; a = b\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext empty', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext NUL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=\x00\r\nhello\r\n0\r\n\r\n`],
  ['chunk ext obs-text', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=\xff\r\nhello\r\n0\r\n\r\n`],
  ['chunk data not followed by CRLF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n`],
  ['chunk data followed by LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n`],
  ['chunk-size line ends in LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`],
  ['chunk-size line \\r\\r\\n', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\r\nhello\r\n0\r\n\r\n`],
  ['last chunk LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\n\r\n`],
  ['trailer field', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`],
  ['trailer content-length', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`],
  ['trailer bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\n\r\n`],
  ['trailer obs-fold', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n`],
  ['trailer space before colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T : 1\r\n\r\n`],
  ['end \\n\\n after last chunk', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n`],
  // Line endings.
  ['request line \\r\\r\\n', `GET / HTTP/1.1\r\r\n${H}\r\n`],
  ['field line \\r\\r\\n', `GET / HTTP/1.1\r\nHost: a\r\r\n\r\n`],
  ['head end \\n\\r\\n', `GET / HTTP/1.1\r\nHost: a\n\r\n`],
  ['head end \\r\\n\\n', `GET / HTTP/1.1\r\nHost: a\r\n\n`],
  ['bare LF everywhere', `GET / HTTP/1.1\nHost: a\n\n`],
  ['bare CR in a value', `GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n`],
  ['bare CR line end', `GET / HTTP/1.1\rHost: a\r\r\n`],
  // Request line.
  ['NUL in target', `GET /a\x00b HTTP/1.1\r\n${H}\r\n`],
  ['DEL in target', `GET /a\x7fb HTTP/1.1\r\n${H}\r\n`],
  ['VT in target', `GET /a\x0bb HTTP/1.1\r\n${H}\r\n`],
  ['HTAB in target', `GET /a\tb HTTP/1.1\r\n${H}\r\n`],
  ['obs-text in target', `GET /\xe9\xff HTTP/1.1\r\n${H}\r\n`],
  ['absolute-form', `GET http://example.com/x HTTP/1.1\r\nHost: other\r\n\r\n`],
  ['absolute-form with userinfo and port', `GET http://u@example.com:80/x?y HTTP/1.1\r\n${H}\r\n`],
  ['absolute-form https', `GET https://example.com/x HTTP/1.1\r\n${H}\r\n`],
  ['authority-form with GET', `GET example.com:80 HTTP/1.1\r\n${H}\r\n`],
  ['asterisk-form OPTIONS', `OPTIONS * HTTP/1.1\r\n${H}\r\n`],
  ['asterisk-form GET', `GET * HTTP/1.1\r\n${H}\r\n`],
  ['two spaces after method', `GET  / HTTP/1.1\r\n${H}\r\n`],
  ['space after version', `GET / HTTP/1.1 \r\n${H}\r\n`],
  ['HTAB as separator', `GET\t/ HTTP/1.1\r\n${H}\r\n`],
  ['HTTP/0.9-style line', `GET /\r\n\r\n`],
  ['lowercase method', `get / HTTP/1.1\r\n${H}\r\n`],
  ['unknown method', `GETX / HTTP/1.1\r\n${H}\r\n`],
  ['version HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`],
  ['version HTTP/2.0', `GET / HTTP/2.0\r\n${H}\r\n`],
  ['version lowercase', `GET / http/1.1\r\n${H}\r\n`],
  ['version HTTP/1.10', `GET / HTTP/1.10\r\n${H}\r\n`],
  // Host.
  ['no Host, HTTP/1.1', `GET / HTTP/1.1\r\n\r\n`],
  ['no Host, HTTP/1.0', `GET / HTTP/1.0\r\n\r\n`],
  ['empty Host', `GET / HTTP/1.1\r\nHost:\r\n\r\n`],
  ['two Host lines', `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`],
  ['Host list', `GET / HTTP/1.1\r\nHost: a, b\r\n\r\n`],
  ['Host with space before colon', `GET / HTTP/1.1\r\nHost : a\r\n\r\n`],
  // Field lines.
  ['obs-fold', `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`],
  ['first field line folded', `GET / HTTP/1.1\r\n X: a\r\n${H}\r\n`],
  ['empty field name', `GET / HTTP/1.1\r\n${H}: x\r\n\r\n`],
  ['NUL in value', `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`],
  ['DEL in value', `GET / HTTP/1.1\r\n${H}X: a\x7fb\r\n\r\n`],
  ['obs-text in value', `GET / HTTP/1.1\r\n${H}X: \x80\xa0\xff\r\n\r\n`],
  ['field name with "', `GET / HTTP/1.1\r\n${H}"X": 1\r\n\r\n`],
  // Leading empty lines and pipelining.
  ['leading CRLF', `\r\nGET / HTTP/1.1\r\n${H}\r\n`],
  ['leading CRLF CRLF', `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`],
  ['leading bare LF', `\nGET / HTTP/1.1\r\n${H}\r\n`],
  ['leading space', ` GET / HTTP/1.1\r\n${H}\r\n`],
  ['CRLF between pipelined requests', `GET / HTTP/1.1\r\n${H}\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`],
  ['Connection: close then more', `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`],
  ['HTTP/1.0 keep-alive then more', `GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n`],
  ['HEAD with Content-Length', `HEAD / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\n${H}\r\n`],
];

function trickyCases(): Case[] {
  return TRICKY.map(([name, text]) => {
    const bytes = Buffer.from(text, 'latin1');
    // Byte by byte: the hardest split for the incremental scanner and decoder.
    return { name: `tricky: ${name}`, bytes, cuts: Array.from({ length: bytes.length }, (_, i) => i + 1) };
  });
}

// ---------------------------------------------------------------------------------------------

test('HTTP/1.x parser differential: NGI vs node (llhttp) on known tricky inputs', async (t) => {
  const report = await runCases(trickyCases());
  summarize(t, 'tricky inputs', report);
  assertNoFailures(report);
});

test('HTTP/1.x parser differential: NGI vs node (llhttp) on seeded mutations', async (t) => {
  const cases = fuzzCases(FUZZ_CASES, FUZZ_SEED);
  const report = await runCases(cases);
  summarize(t, `seeded mutations (seed 0x${FUZZ_SEED.toString(16)})`, report);
  assertNoFailures(report);
});
