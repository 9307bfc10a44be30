/**
 * HTTP/1.1 conformance and request smuggling (RFC 9112), with a raw client, on both HTTP/1.x
 * engines: node:http (llhttp) and NGI's own parser (`http1Engine: 'ngi'`). Cases where
 * llhttp does not do what the contract asks run on 'ngi' only, with a line saying what node
 * does instead.
 *
 * A refused request gets its status, `connection: close`, and the connection closes; a head
 * refused before the application never calls it. Malformed input is not logged as an error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Exchange } from '../../src/interface/exchange.ts';
import type { AppExport } from '../../src/interface/app.ts';
import type { ServeOptions } from '../../src/server/options.ts';
import type { ServerHandle } from '../../src/server/serve.ts';
import { NgiError } from '../../src/interface/errors.ts';
import { startServer, portOf } from '../helpers/server.ts';
import { RawClient, deferred, parseResponses, statusLines, within, withRawClient, type RawResponse } from '../helpers/raw.ts';
import { frame } from '../helpers/ws-frame.ts';

const ENGINES = ['node', 'ngi'] as const;
type Engine = (typeof ENGINES)[number];

// ---------------------------------------------------------------------------------------------
// Helpers

/** Lines the server logged that look like errors (malformed input must not produce any). */
const errorLines = (lines: readonly string[]): string[] => lines.filter((line) => /error/i.test(line));

/**
 * Runs fn with a server on the given engine whose log is captured; fails if anything logged
 * looks like an error, and always closes the server.
 */
async function withEngine<S, T>(engine: Engine, app: AppExport<S>, options: ServeOptions, fn: (server: ServerHandle, lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const server = await startH1(engine, app, options, lines);
  let result: T;
  try {
    result = await fn(server, lines);
  } finally {
    await server.close();
  }
  // After the close: an exchange left running would have logged a drain timeout.
  assert.deepEqual(errorLines(lines), [], 'nothing logged as an error');
  return result;
}

/**
 * A server on the engine, logging (access log included) into `lines`. A short drain timeout:
 * an exchange that never completes costs 2 s at close, and is logged as an error.
 */
function startH1<S>(engine: Engine, app: AppExport<S>, options: ServeOptions, lines: string[]): Promise<ServerHandle> {
  return startServer(app, { accessLog: true, ...options, timeouts: { drain: 2000, ...options.timeouts }, http1Engine: engine, log: (line) => lines.push(line) });
}

/**
 * One server for a table of cases (inside a describe): started before them, closed after,
 * with nothing logged as an error and no exchange left running at close.
 */
function tableServer(engine: Engine, seen: Seen, lines: string[]): { readonly server: ServerHandle } {
  const shared = {} as { server: ServerHandle };
  before(async () => {
    shared.server = await startH1(engine, echoApp(seen), { limits: { maxHeaderSize: 4096 } }, lines);
  });
  after(async () => {
    await shared.server.close();
    assert.deepEqual(errorLines(lines), [], 'nothing logged as an error, no exchange left running at close');
  });
  return shared;
}

/** A raw connection to the server, destroyed by the caller. */
const connect = (server: ServerHandle): Promise<RawClient> => RawClient.connect(portOf(server.url));

/** Runs fn with a fresh raw connection to the server and always destroys it. */
const withConnection = <T>(server: ServerHandle, fn: (c: RawClient) => Promise<T>): Promise<T> => withRawClient(portOf(server.url), fn);

/** The first final (non-1xx) response head has arrived in full. */
function finalHeadReceived(text: string): boolean {
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) return false;
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text.slice(at, end));
    if (!m) throw new Error(`not a status line at ${at}: ${JSON.stringify(text.slice(at, at + 80))}`);
    if (Number(m[1]) >= 200) return true;
    at = end + 4;
  }
}

/** Final responses only (no 1xx), framed once the connection has closed. */
function finals(c: RawClient, headIndexes: readonly number[] = []): RawResponse[] {
  return parseResponses(c.data, { closed: c.isClosed, headIndexes }).filter((r) => r.status >= 200);
}

/** What the echo application answers: what it saw of the request. */
interface Echo {
  method: string;
  path: string;
  protocol: string;
  length: number;
  body: string;
  x: string | null;
  hosts: string[];
  fieldLines: number;
  trailers: [string, string][];
}

/** Counts of what an application was given, shared by the tests of one server. */
interface Seen {
  /** Calls of the handler. */
  calls: number;
  /** Bodies read to their end without an error (a malformed body must never get here). */
  bodies: number;
  paths: string[];
}

const newSeen = (): Seen => ({ calls: 0, bodies: 0, paths: [] });

/**
 * Reads the whole body and its trailers, then answers 200 with what it saw. A body that
 * turns out malformed makes text() reject: the error escapes, so no 200 can go out.
 */
function echoApp(seen: Seen) {
  return async (ex: Exchange): Promise<void> => {
    seen.calls++;
    seen.paths.push(ex.request.path);
    const body = await ex.request.body.text();
    const trailers = await ex.request.body.trailers;
    seen.bodies++;
    const echo: Echo = {
      method: ex.request.method,
      path: ex.request.path,
      protocol: ex.protocol,
      length: body.length,
      body,
      x: ex.request.headers.get('x') ?? null,
      hosts: ex.request.headers.getAll('host'),
      fieldLines: ex.request.headers.size,
      trailers: [...trailers].map(([n, v]) => [n, v]),
    };
    ex.response.send(200, { 'content-type': 'application/json' }, JSON.stringify(echo));
  };
}

const GET = (path = '/'): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const POST = (fields: string, body = ''): string => `POST / HTTP/1.1\r\nHost: x\r\n${fields}\r\n${body}`;
const CHUNKED = (body: string): string => POST('Transfer-Encoding: chunked\r\n', body);
/** A request that must never be seen by the application when it follows a refused one. */
const ADMIN = 'GET /admin HTTP/1.1\r\nHost: x\r\n\r\n';

// ---------------------------------------------------------------------------------------------
// Malformed requests

interface BadCase {
  readonly name: string;
  /** Sent as latin1, in one write, followed by ADMIN: nothing after a refusal may be served. */
  readonly bytes: string;
  /** The status (or the statuses the contract allows). */
  readonly status: number | readonly number[];
  /**
   * The head is fine and the body is malformed: the application is called, its body read
   * fails, and no 200 may go out before the refusal.
   */
  readonly inBody?: true;
  /** llhttp disagrees with the contract: run on 'ngi' only. Says what node does. */
  readonly ngiOnly?: string;
  /**
   * node answers the same status and closes, but only after it called the application
   * (llhttp refuses the Transfer-Encoding at the first body byte, not at the head): the node
   * variant does not count calls or bodies read (with an empty Transfer-Encoding, node hands
   * the application an empty body, and its 200 is lost behind the 400). Says so.
   */
  readonly nodeCallsApp?: string;
  /** On node the row is sent without the GET /admin after it. Says why. */
  readonly nodeAlone?: string;
}

const LLHTTP_TE_LATE = 'llhttp refuses this Transfer-Encoding only when the body starts, after node has called the application';

const BAD: readonly BadCase[] = [
  // 1. Request line
  // node: serves it (200): llhttp skips repeated spaces between method and target.
  { name: 'request line: two spaces after the method', bytes: 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, ngiOnly: 'served 200' },
  // node: serves it (200).
  { name: 'request line: two spaces before the version', bytes: 'GET /  HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, ngiOnly: 'served 200' },
  { name: 'request line: HTAB as a separator', bytes: 'GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'request line: lowercase version', bytes: 'GET / http/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'request line: trailing space', bytes: 'GET / HTTP/1.1 \r\nHost: x\r\n\r\n', status: 400 },
  // node: serves it as HTTP/1.0 (200): llhttp takes a line without a version as HTTP/0.9.
  { name: 'request line: no version', bytes: 'GET /\r\nHost: x\r\n\r\n', status: 400, ngiOnly: 'served 200 as http/1.0' },
  { name: 'request target: NUL', bytes: 'GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'request target: SP inside', bytes: 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'request target: DEL', bytes: 'GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'request target: control character 0x01', bytes: 'GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'request target: HTAB', bytes: 'GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'version HTTP/1.2', bytes: 'GET / HTTP/1.2\r\nHost: x\r\n\r\n', status: [400, 505] },
  // node: serves it as http/1.0 (200).
  { name: 'version HTTP/2.0', bytes: 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', status: [400, 505], ngiOnly: 'served 200 as http/1.0' },
  // node: serves it as http/1.0 (200).
  { name: 'version HTTP/0.9', bytes: 'GET / HTTP/0.9\r\nHost: x\r\n\r\n', status: [400, 505], ngiOnly: 'served 200 as http/1.0' },

  // 2. Line endings
  { name: 'bare LF after the request line', bytes: 'GET / HTTP/1.1\nHost: x\r\n\r\n', status: 400 },
  { name: 'bare LF after a field line', bytes: 'GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n', status: 400 },
  { name: 'bare LF ending the head', bytes: 'GET / HTTP/1.1\r\nHost: x\r\n\n', status: 400 },
  { name: 'bare CR in the request line', bytes: 'GET /\r HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { name: 'bare CR in a field value', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n', status: 400 },
  { name: 'bare CR in a field name', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX\r: ab\r\n\r\n', status: 400 },

  // 3. Field lines
  { name: 'obs-fold with SP', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n', status: 400 },
  { name: 'obs-fold with HTAB', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n', status: 400 },
  { name: 'SP between name and colon (Host : x)', bytes: 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', status: 400 },
  { name: 'HTAB between name and colon (Content-Length\\t: 5)', bytes: POST('Content-Length\t: 5\r\n', 'hello'), status: 400 },
  { name: 'empty field name', bytes: 'GET / HTTP/1.1\r\nHost: x\r\n: x\r\n\r\n', status: 400 },
  { name: 'field name with "("', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nFo(o: x\r\n\r\n', status: 400 },
  { name: 'field name with "@"', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nFoo@: x\r\n\r\n', status: 400 },
  { name: 'field line without a colon', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nFoo\r\n\r\n', status: 400 },
  { name: 'field value with NUL', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n', status: 400 },
  { name: 'field value with DEL', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n', status: 400 },
  { name: 'field value with 0x01', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n', status: 400 },
  { name: 'field value with VT (0x0b)', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x0bb\r\n\r\n', status: 400 },

  // 4. Host
  // node: 400 and close, but the GET /admin after it still reaches the application, and that
  // exchange never completes (server.close() waits out the drain timeout): node checks Host in
  // JavaScript after llhttp has gone on parsing.
  { name: 'HTTP/1.1 without Host', bytes: 'GET / HTTP/1.1\r\nX: y\r\n\r\n', status: 400, nodeAlone: 'the request after it reaches the app' },
  // node: serves it (200); the application sees both Host lines.
  { name: 'two Host lines', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', status: 400, ngiOnly: 'served 200' },
  // node: serves it (200).
  { name: 'two equal Host lines', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nhost: x\r\n\r\n', status: 400, ngiOnly: 'served 200' },

  // 5. Content-Length
  ...(['+5', '-1', '0x5', '5 5', '5,5', '1, 1', '', '5a'] as const).map((v): BadCase => ({ name: `Content-Length: ${JSON.stringify(v)}`, bytes: POST(`Content-Length: ${v}\r\n`, 'hello'), status: 400 })),
  { name: 'two equal Content-Length lines', bytes: POST('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'), status: 400 },
  { name: 'two different Content-Length lines', bytes: POST('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'), status: 400 },
  // node: llhttp takes 2^53+1 (below 2^64), and NGI refuses it as over maxBodySize: 413.
  { name: 'Content-Length 2^53+1', bytes: POST('Content-Length: 9007199254740993\r\n', 'hello'), status: [400, 413] },
  { name: 'Content-Length of 20 digits (over 2^64)', bytes: POST('Content-Length: 99999999999999999999\r\n', 'hello'), status: [400, 413] },

  // 6. Transfer-Encoding
  { name: 'Transfer-Encoding then Content-Length', bytes: POST('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'Content-Length then Transfer-Encoding', bytes: POST('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  // node: decodes the chunked body and serves it (200).
  { name: 'Transfer-Encoding on HTTP/1.0', bytes: 'POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 400, ngiOnly: 'served 200, body decoded' },
  { name: 'Transfer-Encoding: chunked, gzip', bytes: POST('Transfer-Encoding: chunked, gzip\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'Transfer-Encoding: gzip', bytes: POST('Transfer-Encoding: gzip\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400, nodeCallsApp: LLHTTP_TE_LATE },
  { name: 'Transfer-Encoding: identity', bytes: POST('Transfer-Encoding: identity\r\n', 'hello'), status: 400, nodeCallsApp: LLHTTP_TE_LATE },
  { name: 'Transfer-Encoding: chunked, identity', bytes: POST('Transfer-Encoding: chunked, identity\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'Transfer-Encoding: chunked, chunked', bytes: POST('Transfer-Encoding: chunked, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'Transfer-Encoding: chunked on two lines', bytes: POST('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  // node: serves it (200), the chunked coding removed and gzip left to the application.
  { name: 'Transfer-Encoding: gzip, chunked (unknown coding)', bytes: POST('Transfer-Encoding: gzip, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 501, ngiOnly: 'served 200' },
  { name: 'Transfer-Encoding: xchunked', bytes: POST('Transfer-Encoding: xchunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400, nodeCallsApp: LLHTTP_TE_LATE },
  { name: 'Transfer-Encoding: chunked;q=1 (chunked takes no parameters)', bytes: POST('Transfer-Encoding: chunked;q=1\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400, nodeCallsApp: LLHTTP_TE_LATE },
  { name: 'Transfer-Encoding: (empty)', bytes: POST('Transfer-Encoding: \r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400, nodeCallsApp: LLHTTP_TE_LATE },
  { name: 'Transfer-Encoding : chunked (SP before the colon)', bytes: POST('Transfer-Encoding : chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },

  // 7. Chunked bodies: the application's text() rejects, and the answer is 400
  ...([
    ['chunk size not hex (g)', 'g\r\nhello\r\n0\r\n\r\n'],
    ['empty chunk size line', '\r\nhello\r\n0\r\n\r\n'],
    ['chunk size 0x5', '0x5\r\nhello\r\n0\r\n\r\n'],
    ['chunk size -1', '-1\r\nhello\r\n0\r\n\r\n'],
    ['chunk size with a leading space', ' 5\r\nhello\r\n0\r\n\r\n'],
    ['chunk size with a trailing space (no extension)', '5 \r\nhello\r\n0\r\n\r\n'],
    ['chunk size of 17 hex digits (over 2^64)', '10000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['chunk data longer than its size', '5\r\nhelloX\r\n0\r\n\r\n'],
    ['no CRLF after the chunk data', '5\r\nhello0\r\n\r\n'],
    ['LF only after the chunk size', '5\nhello\r\n0\r\n\r\n'],
    ['LF only after the chunk data', '5\r\nhello\n0\r\n\r\n'],
    ['LF only after the last chunk', '5\r\nhello\r\n0\n\r\n'],
    ['LF only ending the trailer section', '5\r\nhello\r\n0\r\n\n'],
    ['trailer line without a colon', '5\r\nhello\r\n0\r\nX-T v\r\n\r\n'],
    ['trailer with SP before the colon', '5\r\nhello\r\n0\r\nX-T : v\r\n\r\n'],
    ['trailer obs-fold', '5\r\nhello\r\n0\r\nX-T: v\r\n w\r\n\r\n'],
    ['trailer value with NUL', '5\r\nhello\r\n0\r\nX-T: a\x00b\r\n\r\n'],
    ['trailer line ending in bare LF', '5\r\nhello\r\n0\r\nX-T: v\n\r\n'],
  ] as const).map(([name, body]): BadCase => ({ name: `chunked: ${name}`, bytes: CHUNKED(body), status: 400, inBody: true })),
  // node: accepted (200): llhttp bounds the value, not the number of digits.
  { name: 'chunked: chunk size of 17 hex digits (leading zeros)', bytes: CHUNKED('00000000000000005\r\nhello\r\n0\r\n\r\n'), status: 400, inBody: true, ngiOnly: 'served 200' },

  // 8. Limits (maxHeaderSize is 4096 on this server)
  { name: 'head over maxHeaderSize', bytes: `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(5000)}\r\n\r\n`, status: 431 },
  { name: 'head over maxHeaderSize in many lines', bytes: `GET / HTTP/1.1\r\nHost: x\r\n${'X-Long-Field-Name: some-value\r\n'.repeat(200)}\r\n`, status: 431 },
  // node: serves it (200) with all 301 lines: node's maxHeadersCount is 2000.
  { name: 'more than 256 field lines', bytes: `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 300 }, (_, i) => `a${i}: 1\r\n`).join('')}\r\n`, status: 431, ngiOnly: 'served 200' },

  // 10. Smuggling classics (like every row here, followed by a GET /admin the application must never see)
  { name: 'smuggling CL.TE', bytes: POST('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\nX'), status: 400 },
  { name: 'smuggling TE.CL', bytes: POST('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', '8\r\nSMUGGLED\r\n0\r\n\r\n'), status: 400 },
  { name: 'smuggling TE.TE: Transfer-Encoding: chunked + Transfer-encoding: x', bytes: POST('Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'smuggling TE.TE: chunked + x, with Content-Length', bytes: POST('Content-Length: 4\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'smuggling TE.TE: Transfer-Encoding:\\x0bchunked', bytes: POST('Transfer-Encoding:\x0bchunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'smuggling TE.TE: " Transfer-Encoding: chunked" folded onto the previous line', bytes: POST('X: y\r\n Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), status: 400 },
  { name: 'smuggling TE.TE: " Transfer-Encoding: chunked" as the first field line', bytes: 'POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: x\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'smuggling: Content-Length: +5', bytes: POST('Content-Length: +5\r\n', 'hello'), status: 400 },
  // llhttp refuses a tab after a framing field's value; so does NGI (a proxy that drops the
  // field as invalid would frame the message differently).
  // ngi only: Node 20's llhttp refuses it too, Node 24's accepts it (200).
  { name: 'Content-Length: 5 followed by a tab', bytes: POST('Content-Length: 5\t\r\n', 'hello'), status: 400, ngiOnly: 'Node 24 accepts it' },
  { name: 'Transfer-Encoding: chunked followed by a tab', bytes: CHUNKED('5\r\nhello\r\n0\r\n\r\n').replace('Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: chunked\t\r\n'), status: 400, nodeCallsApp: LLHTTP_TE_LATE },
];

for (const engine of ENGINES) {
  describe(`${engine}: malformed requests are refused`, () => {
    const seen = newSeen();
    const lines: string[] = [];
    const shared = tableServer(engine, seen, lines);

    for (const row of BAD) {
      if (row.ngiOnly !== undefined && engine !== 'ngi') continue;
      test(`${engine}: ${row.name} → ${String(row.status)}`, async () => {
        const prior = { ...seen, paths: [...seen.paths] };
        const logged = lines.length;
        await withConnection(shared.server, async (c) => {
          c.write(Buffer.from(engine === 'node' && row.nodeAlone !== undefined ? row.bytes : row.bytes + ADMIN, 'latin1'));
          // The status first, so that a server that answers otherwise fails at once.
          await c.until(finalHeadReceived, 3000);
          const [res] = finals(c);
          const allowed: readonly number[] = typeof row.status === 'number' ? [row.status] : row.status;
          assert.ok(res && allowed.includes(res.status), `status ${res?.status}, expected ${allowed.join(' or ')}: ${JSON.stringify(c.text.slice(0, 200))}`);
          await c.waitClosed(2000);
          const responses = finals(c);
          assert.equal(responses.length, 1, `one response, then the connection closes: ${JSON.stringify(c.text.slice(0, 300))}`);
          assert.match(responses[0]!.get('connection') ?? '', /\bclose\b/i, 'connection: close');
          assert.ok(!statusLines(c.text).includes(200), 'no 200 before the refusal');
        });
        assert.ok(!seen.paths.slice(prior.paths.length).includes('/admin'), 'the application never saw /admin');
        if (!(engine === 'node' && row.nodeCallsApp !== undefined)) {
          assert.equal(seen.bodies, prior.bodies, 'no body was read to its end');
          if (!row.inBody) assert.equal(seen.calls, prior.calls, 'refused before the application');
        }
        assert.deepEqual(errorLines(lines.slice(logged)), [], 'not logged as an error');
      });
    }

    test(`${engine}: after the malformed requests, a good request on a new connection gets 200 and nothing was logged as an error`, async () => {
      await withConnection(shared.server, async (c) => {
        c.write(GET('/after'));
        const [res] = await c.responses(1);
        assert.equal(res?.status, 200);
        assert.equal((JSON.parse(res.body.toString()) as Echo).path, '/after');
      });
      assert.deepEqual(errorLines(lines), []);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Requests that must be served

interface GoodCase {
  readonly name: string;
  readonly bytes: string;
  /** Expected members of what the application saw. */
  readonly echo: Partial<Echo>;
  readonly ngiOnly?: string;
}

const GOOD: readonly GoodCase[] = [
  { name: 'a leading empty line before the request line is ignored', bytes: '\r\nGET /lead HTTP/1.1\r\nHost: x\r\n\r\n', echo: { method: 'GET', path: '/lead' } },
  { name: 'leading empty lines before the request line are ignored', bytes: '\r\n\r\nGET /lead HTTP/1.1\r\nHost: x\r\n\r\n', echo: { method: 'GET', path: '/lead' } },
  { name: 'obs-text (0x80-0xff) in a value reaches the application as latin1', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: caf\xe9 \xff\x80\r\n\r\n', echo: { x: 'caf\u00e9 \u00ff\u0080' } },
  { name: 'HTAB inside a value', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: a\tb\r\n\r\n', echo: { x: 'a\tb' } },
  { name: 'OWS around a value is not part of it', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX: \t a b \t\r\n\r\n', echo: { x: 'a b' } },
  { name: 'HTTP/1.0 without Host', bytes: 'GET /old HTTP/1.0\r\n\r\n', echo: { path: '/old', protocol: 'http/1.0', hosts: [] } },
  { name: 'Content-Length with SP OWS ("  5 ")', bytes: POST('Content-Length:  5 \r\n', 'hello'), echo: { length: 5, body: 'hello' } },
  // node: 400: llhttp takes only SP around a Content-Length value.
  // HTAB before a framing field's value is OWS, as node reads it too (a tab after it is refused: BAD).
  { name: 'Content-Length with a leading HTAB', bytes: POST('Content-Length:\t5\r\n', 'hello'), echo: { length: 5, body: 'hello' } },
  { name: 'Content-Length: 0 on a GET', bytes: 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', echo: { length: 0 } },
  { name: 'Content-Length: 005', bytes: POST('Content-Length: 005\r\n', 'hello'), echo: { length: 5, body: 'hello' } },
  { name: 'Transfer-Encoding:\\tchunked (HTAB OWS)', bytes: POST('Transfer-Encoding:\tchunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), echo: { body: 'hello' } },
  { name: 'TRANSFER-ENCODING: CHUNKED', bytes: POST('TRANSFER-ENCODING: CHUNKED\r\n', '5\r\nhello\r\n0\r\n\r\n'), echo: { body: 'hello' } },
  { name: 'chunked: several chunks, upper and lower case hex', bytes: CHUNKED('3\r\nhel\r\nA\r\nlo world!!\r\na\r\n0123456789\r\n0\r\n\r\n'), echo: { body: 'hello world!!0123456789' } },
  { name: 'chunked: chunk size of 16 hex digits', bytes: CHUNKED('0000000000000005\r\nhello\r\n0\r\n\r\n'), echo: { body: 'hello' } },
  { name: 'chunked: extension 5;foo=bar', bytes: CHUNKED('5;foo=bar\r\nhello\r\n0\r\n\r\n'), echo: { body: 'hello' } },
  { name: 'chunked: quoted extension 5;foo="a b"', bytes: CHUNKED('5;foo="a b"\r\nhello\r\n0;last\r\n\r\n'), echo: { body: 'hello' } },
  { name: 'chunked: extension without a value', bytes: CHUNKED('5;foo\r\nhello\r\n0\r\n\r\n'), echo: { body: 'hello' } },
  { name: 'chunked: trailers reach request.body.trailers', bytes: CHUNKED('5\r\nhello\r\n0\r\nX-T: v\r\nX-U:  w \r\n\r\n'), echo: { body: 'hello', trailers: [['x-t', 'v'], ['x-u', 'w']] } },
  { name: 'head just under maxHeaderSize', bytes: `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(3500)}\r\n\r\n`, echo: { x: 'a'.repeat(3500) } },
  { name: '256 field lines', bytes: `GET / HTTP/1.1\r\n${Array.from({ length: 255 }, (_, i) => `a${i}: 1\r\n`).join('')}Host: x\r\n\r\n`, echo: { fieldLines: 256 } },
  { name: 'absolute-form target', bytes: 'GET http://x/abs?q=1 HTTP/1.1\r\nHost: x\r\n\r\n', echo: { path: '/abs' } },
];

for (const engine of ENGINES) {
  describe(`${engine}: well-formed requests are served`, () => {
    const seen = newSeen();
    const lines: string[] = [];
    const shared = tableServer(engine, seen, lines);

    for (const row of GOOD) {
      if (row.ngiOnly !== undefined && engine !== 'ngi') continue;
      test(`${engine}: ${row.name}`, async () => {
        await withConnection(shared.server, async (c) => {
          c.write(Buffer.from(row.bytes, 'latin1'));
          await c.until(finalHeadReceived, 3000);
          assert.equal(finals(c)[0]?.status, 200, JSON.stringify(c.text.slice(0, 200)));
          const [res] = await c.responses(1);
          const echo = JSON.parse(res!.body.toString()) as Echo;
          for (const [key, value] of Object.entries(row.echo)) assert.deepEqual(echo[key as keyof Echo], value, key);
        });
        assert.deepEqual(errorLines(lines), []);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Smuggling beyond the table: framing by the server's own reading of the bytes

for (const engine of ENGINES) {
  test(`${engine}: a body declaring fewer bytes than sent, then GET /admin: the rest is garbage, refused; /admin never reaches the app`, async () => {
    const seen = newSeen();
    await withEngine(engine, echoApp(seen), {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write(POST('Content-Length: 5\r\n', 'hello=world') + ADMIN);
        await c.waitClosed(3000);
        const statuses = finals(c).map((r) => r.status);
        assert.equal(statuses.at(-1), 400, `the garbage after the body is refused: ${JSON.stringify(c.text)}`);
        assert.ok(statuses.length <= 2 && statuses.slice(0, -1).every((s) => s === 200), `at most the POST's 200, then 400: ${statuses.join(',')}`);
      });
      assert.deepEqual(seen.paths, ['/']);
    });
  });
}

// node: answers the garbage with 400 before the POST's handler has answered and destroys the
// socket, so the POST (a complete, valid request) never gets its 200.
test('ngi: a body declaring fewer bytes than sent: the POST is answered 200 (body "hello"), then 400 for the rest', async () => {
  const seen = newSeen();
  await withEngine('ngi', echoApp(seen), {}, async (server) => {
    await withConnection(server, async (c) => {
      c.write(POST('Content-Length: 5\r\n', 'hello=world') + ADMIN);
      await c.waitClosed(3000);
      const responses = finals(c);
      assert.deepEqual(responses.map((r) => r.status), [200, 400], JSON.stringify(c.text));
      assert.equal((JSON.parse(responses[0]!.body.toString()) as Echo).body, 'hello');
    });
    assert.deepEqual(seen.paths, ['/']);
  });
});

for (const engine of ENGINES) {
  test(`${engine}: a GET whose Content-Length body is a request: one response, /admin never reaches the app`, async () => {
    const seen = newSeen();
    await withEngine(engine, echoApp(seen), {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write(`GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ${ADMIN.length}\r\n\r\n${ADMIN}`);
        const [res] = await c.responses(1);
        assert.equal(res?.status, 200);
        assert.equal((JSON.parse(res.body.toString()) as Echo).body, ADMIN);
        // Then a real request on the same connection: answered second, and only once.
        c.write(GET('/next'));
        const all = await c.responses(2);
        assert.deepEqual(all.map((r) => (JSON.parse(r.body.toString()) as Echo).path), ['/', '/next']);
      });
      assert.deepEqual(seen.paths, ['/', '/next']);
    });
  });

  test(`${engine}: a real GET /admin pipelined after a complete body is served on its own`, async () => {
    const seen = newSeen();
    await withEngine(engine, echoApp(seen), {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write(POST('Content-Length: 5\r\n', 'hello') + ADMIN);
        const [a, b] = await c.responses(2);
        assert.equal((JSON.parse(a!.body.toString()) as Echo).body, 'hello');
        assert.equal((JSON.parse(b!.body.toString()) as Echo).path, '/admin');
      });
      assert.deepEqual(seen.paths, ['/', '/admin']);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Expect

for (const engine of ENGINES) {
  test(`${engine}: Expect: 100-continue: the 100 goes out only once the app reads`, async () => {
    const app = async (ex: Exchange): Promise<void> => {
      // A 103 before reading: a 100 sent before the application read would come ahead of it.
      await ex.features.earlyHints!.send({ link: '</a.css>; rel=preload; as=style' });
      const body = await ex.request.body.text();
      ex.response.send(200, {}, `got ${body}`);
    };
    await withEngine(engine, app, {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
        await c.until((t) => statusLines(t).includes(100), 3000);
        assert.deepEqual(statusLines(c.text), [103, 100], JSON.stringify(c.text));
        assert.match(c.text, /HTTP\/1\.1 100 Continue\r\n\r\n$/);
        c.write('hello');
        const responses = await c.responses(3);
        assert.deepEqual(responses.map((r) => r.status), [103, 100, 200]);
        assert.equal(responses[2]!.body.toString(), 'got hello');
      });
    });
  });

  test(`${engine}: Expect: foo → 417, the app is not called, the body is never taken for a request`, async () => {
    const seen = newSeen();
    await withEngine(engine, echoApp(seen), {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${ADMIN.length}\r\nExpect: foo\r\n\r\n${ADMIN}${GET('/after')}`);
        await c.until(finalHeadReceived, 3000);
        assert.equal(finals(c)[0]?.status, 417);
        // Either the connection closes after the 417 (the body unread), or the body is skipped
        // and the pipelined request after it is served (node).
        await within(Promise.race([c.closed, c.responses(2)]), 3000, '417 then close, or 417 then /after');
        const responses = finals(c);
        if (responses.length === 1) assert.match(responses[0]!.get('connection') ?? '', /close/i);
        else assert.equal((JSON.parse(responses[1]!.body.toString()) as Echo).path, '/after');
      });
      assert.ok(!seen.paths.includes('/') && !seen.paths.includes('/admin'), `the app saw ${seen.paths.join(',')}`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Pipelining and keep-alive

for (const engine of ENGINES) {
  test(`${engine}: pipelining: GET, POST with a 5-byte body, GET in one write → three responses in order`, async () => {
    const seen = newSeen();
    await withEngine(engine, echoApp(seen), {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write(GET('/1') + 'POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' + GET('/3'));
        const responses = await c.responses(3);
        assert.ok(responses.every((r) => r.complete && r.status === 200));
        const echoes = responses.map((r) => JSON.parse(r.body.toString()) as Echo);
        assert.deepEqual(echoes.map((e) => [e.method, e.path, e.body]), [['GET', '/1', ''], ['POST', '/2', 'hello'], ['GET', '/3', '']]);
        assert.equal(statusLines(c.text).length, 3);
      });
      assert.deepEqual(seen.paths, ['/1', '/2', '/3']);
    });
  });

  test(`${engine}: keep-alive: HTTP/1.1 is persistent by default; Connection: close closes`, async () => {
    await withEngine(engine, echoApp(newSeen()), {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write(GET('/a'));
        const [first] = await c.responses(1);
        assert.doesNotMatch(first!.get('connection') ?? '', /close/i);
        c.write(GET('/b'));
        const [, second] = await c.responses(2);
        assert.equal((JSON.parse(second!.body.toString()) as Echo).path, '/b');
        assert.equal(c.isClosed, false);
        c.write('GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        await c.waitClosed(2000);
        const third = finals(c)[2];
        assert.equal(third?.status, 200);
        assert.match(third.get('connection') ?? '', /\bclose\b/i);
      });
    });
  });

  test(`${engine}: keep-alive: HTTP/1.0 closes after the response unless it asks for keep-alive`, async () => {
    await withEngine(engine, echoApp(newSeen()), {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write('GET /a HTTP/1.0\r\nHost: x\r\n\r\n');
        await c.waitClosed(2000);
        const [res] = finals(c);
        assert.equal(res?.status, 200);
        assert.equal((JSON.parse(res.body.toString()) as Echo).protocol, 'http/1.0');
      });
      await withConnection(server, async (c) => {
        c.write('GET /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
        const [res] = await c.responses(1);
        assert.match(res!.get('connection') ?? '', /^keep-alive$/i);
        assert.ok(res!.get('content-length') !== undefined, 'a persistent HTTP/1.0 response is framed by its length');
        c.write('GET /b HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
        const [, second] = await c.responses(2);
        assert.equal((JSON.parse(second!.body.toString()) as Echo).path, '/b');
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Response framing

/** /stream: a response started without a length; /send: send(); /204 and /304 with a body given. */
async function framingApp(ex: Exchange): Promise<void> {
  switch (ex.request.path) {
    case '/stream': {
      const w = ex.response.start(200, { 'content-type': 'text/plain' });
      await w.write('hello ');
      await w.end('world');
      return;
    }
    case '/trailers': {
      const w = ex.response.start(200, { 'content-type': 'text/plain' }, { trailers: true });
      await w.write('hello ');
      await w.end({ 'x-t': 'v' });
      return;
    }
    case '/204':
      return ex.response.send(204, { 'x-a': '1' }, 'dropped');
    case '/304': {
      const w = ex.response.start(304, { etag: '"v1"' });
      await w.write('dropped');
      return w.end();
    }
    default:
      return ex.response.send(200, { 'content-type': 'text/plain' }, 'hello world');
  }
}

for (const engine of ENGINES) {
  test(`${engine}: a streamed response without a length is chunked on HTTP/1.1, with trailers`, async () => {
    await withEngine(engine, framingApp, {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write(GET('/stream') + 'GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n');
        const [plain, withTrailers] = await c.responses(2);
        for (const res of [plain!, withTrailers!]) {
          assert.equal(res.chunked, true);
          assert.match(res.get('transfer-encoding') ?? '', /^chunked$/i);
          assert.equal(res.get('content-length'), undefined);
          assert.equal(res.body.toString(), 'hello ' + (res === plain ? 'world' : ''));
        }
        assert.deepEqual(withTrailers!.trailers, [['x-t', 'v']]);
      });
    });
  });

  test(`${engine}: a streamed response on HTTP/1.0 is close-delimited, not chunked`, async () => {
    await withEngine(engine, framingApp, {}, async (server) => {
      await withConnection(server, async (c) => {
        c.write('GET /stream HTTP/1.0\r\nHost: x\r\n\r\n');
        await c.waitClosed(2000);
        const [res] = finals(c);
        assert.equal(res?.status, 200);
        assert.equal(res.get('transfer-encoding'), undefined);
        assert.equal(res.get('content-length'), undefined);
        assert.equal(res.body.toString(), 'hello world');
      });
    });
  });

  test(`${engine}: HEAD gets no body bytes (send and stream); 204 and 304 have no body and no transfer-encoding`, async () => {
    await withEngine(engine, framingApp, {}, async (server) => {
      await withConnection(server, async (c) => {
        // A body byte after any of the first four heads would break the framing of what follows.
        c.write(`HEAD /send HTTP/1.1\r\nHost: x\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n${GET('/204')}${GET('/304')}${GET('/send')}`);
        const responses = await c.responses(5, 5000, { headIndexes: [0, 1] });
        assert.deepEqual(responses.map((r) => r.status), [200, 200, 204, 304, 200]);
        assert.equal(responses[0]!.get('content-length'), '11');
        for (const res of responses.slice(2, 4)) {
          assert.equal(res.get('transfer-encoding'), undefined);
          assert.equal(res.get('content-length'), undefined);
        }
        assert.equal(responses[4]!.body.toString(), 'hello world');
        assert.ok(!c.text.includes('dropped'));
        // And nothing after the last response.
        const lastHead = c.text.lastIndexOf('HTTP/1.1 200');
        assert.ok(c.text.slice(lastHead).endsWith('\r\n\r\nhello world'), JSON.stringify(c.text.slice(lastHead)));
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Unread request bodies

for (const engine of ENGINES) {
  test(`${engine}: an unread 10 KB body is discarded and the connection serves the next request`, async () => {
    const seen = newSeen();
    const app = (ex: Exchange): void => {
      seen.calls++;
      seen.paths.push(ex.request.path);
      ex.response.send(200, {}, `unread ${ex.request.path}`);
    };
    await withEngine(engine, app, {}, async (server) => {
      await withConnection(server, async (c) => {
        // The body is made of requests: none of them may be taken for one.
        const body = ADMIN.repeat(Math.ceil(10_240 / ADMIN.length)).slice(0, 10_240);
        c.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        await c.responses(1);
        c.write(GET('/next'));
        const responses = await c.responses(2);
        assert.deepEqual(responses.map((r) => r.body.toString()), ['unread /up', 'unread /next']);
        assert.equal(c.isClosed, false);
      });
      assert.deepEqual(seen.paths, ['/up', '/next']);
    });
  });

  test(`${engine}: an unread 5 MB body: the response arrives complete, then the connection closes`, async () => {
    const app = (ex: Exchange): void => ex.response.send(200, { 'content-type': 'text/plain' }, 'x'.repeat(1000));
    await withEngine(engine, app, {}, async (server) => {
      await withConnection(server, async (c) => {
        const size = 5 * 1024 * 1024;
        c.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
        c.write(Buffer.alloc(size, 'a'));
        const [res] = await c.responses(1, 5000);
        assert.equal(res?.status, 200);
        assert.equal(res.body.length, 1000);
        await c.waitClosed(5000);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Timeouts

const SHORT = { timeouts: { headers: 300, keepAlive: 300, request: 600 } } as const;

for (const engine of ENGINES) {
  test(`${engine}: timeout: a partial head then silence → 408 and close, the app not called`, async () => {
    const seen = newSeen();
    await withEngine(engine, echoApp(seen), SHORT, async (server) => {
      await withConnection(server, async (c) => {
        c.write('GET / HTTP/1.1\r\nHost: x\r\n');
        await c.waitClosed(3000);
        assert.deepEqual(statusLines(c.text), [408], JSON.stringify(c.text));
        assert.match(finals(c)[0]!.get('connection') ?? '', /close/i);
        assert.ok(c.closedAt! >= 250, `closed after ${c.closedAt} ms, not before the header timeout`);
      });
      assert.equal(seen.calls, 0);
    });
  });

  test(`${engine}: timeout: an idle keep-alive connection is closed after the keep-alive timeout`, async () => {
    await withEngine(engine, echoApp(newSeen()), SHORT, async (server) => {
      await withConnection(server, async (c) => {
        c.write(GET());
        await c.responses(1);
        const answeredAt = c.events.at(-1)!.at;
        // node holds the socket keepAlive + 1 s (its keepAliveTimeoutBuffer) before closing.
        await c.waitClosed(3000);
        assert.ok(c.closedAt! - answeredAt >= 250, `kept open for the keep-alive timeout, closed after ${(c.closedAt! - answeredAt).toFixed(0)} ms`);
        assert.deepEqual(statusLines(c.text), [200], 'nothing sent on an idle connection');
      });
    });
  });

  test(`${engine}: timeout: a body trickled slower than the request timeout → 408 and close`, async () => {
    const bodyFailed = deferred<unknown>();
    const app = async (ex: Exchange): Promise<void> => {
      try {
        await ex.request.body.text();
      } catch (error) {
        bodyFailed.resolve(error);
        throw error;
      }
      ex.response.send(200, {}, 'read it all');
    };
    await withEngine(engine, app, SHORT, async (server) => {
      await withConnection(server, async (c) => {
        c.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
        const trickle = setInterval(() => {
          if (!c.isClosed) c.write('a');
        }, 100);
        try {
          await c.waitClosed(3000);
        } finally {
          clearInterval(trickle);
        }
        assert.deepEqual(statusLines(c.text), [408], JSON.stringify(c.text));
        assert.ok(c.closedAt! >= 550, `closed after ${c.closedAt} ms, not before the request timeout`);
      });
      const error = await within(bodyFailed.promise, 2000, 'the body read failing');
      assert.ok(error instanceof NgiError, String(error));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Client disconnect

for (const engine of ENGINES) {
  test(`${engine}: the client closes mid-request while the app waits → exchange.signal aborts`, async () => {
    const called = deferred<void>();
    const aborted = deferred<unknown>();
    const app = async (ex: Exchange): Promise<void> => {
      const gone = new Promise<void>((resolve) =>
        ex.signal.addEventListener('abort', () => {
          aborted.resolve(ex.signal.reason);
          resolve();
        }),
      );
      called.resolve();
      await gone;
    };
    await withEngine(engine, app, {}, async (server) => {
      const c = await connect(server);
      c.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b');
      await within(called.promise, 2000, 'the app being called');
      c.destroy();
      const reason = await within(aborted.promise, 2000, 'exchange.signal aborting');
      assert.ok(reason instanceof NgiError);
      assert.equal(reason.code, 'NGI_ERR_STREAM_CLOSED');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Where NGI's parser answers differently from node:http (docs/server-behavior.md §5.1)

test('ngi: CONNECT is answered 501 as an exchange, and the connection closes', async () => {
  const seen = newSeen();
  await withEngine('ngi', echoApp(seen), {}, async (server, lines) => {
    await withConnection(server, async (c) => {
      c.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n' + ADMIN);
      await c.waitClosed(2000);
      const responses = finals(c);
      assert.deepEqual(responses.map((r) => r.status), [501]);
      assert.match(responses[0]!.get('connection') ?? '', /close/);
    });
    assert.equal(seen.calls, 0);
    assert.ok(lines.some((line) => / CONNECT example\.com:443 501 /.test(line)), lines.join('\n'));
  });
});

test('ngi: an Upgrade other than WebSocket or h2c is ignored: an ordinary exchange on a persistent connection', async () => {
  const seen = newSeen();
  await withEngine('ngi', echoApp(seen), {}, async (server) => {
    await withConnection(server, async (c) => {
      c.write('GET /u HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: foo/1\r\n\r\n');
      const [first] = await c.responses(1);
      assert.equal(first?.status, 200);
      assert.doesNotMatch(first.get('connection') ?? '', /close/);
      c.write(GET('/next'));
      const [, second] = await c.responses(2);
      assert.equal((JSON.parse(second!.body.toString()) as Echo).path, '/next');
    });
    assert.deepEqual(seen.paths, ['/u', '/next']);
  });
});

test('ngi: a request line longer than maxHeaderSize is refused 414', async () => {
  const seen = newSeen();
  await withEngine('ngi', echoApp(seen), { limits: { maxHeaderSize: 4096 } }, async (server) => {
    await withConnection(server, async (c) => {
      c.write(`GET /${'a'.repeat(5000)}`);
      await c.waitClosed(2000);
      assert.deepEqual(statusLines(c.text), [414]);
    });
    assert.equal(seen.calls, 0);
  });
});

test('ngi: a final response while 100 (Continue) was never sent and the body has not come: connection: close', async () => {
  const app = (ex: Exchange): void => ex.response.send(403, { 'content-type': 'text/plain' }, 'no');
  await withEngine('ngi', app, {}, async (server) => {
    await withConnection(server, async (c) => {
      c.write('PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
      await c.waitClosed(2000);
      const [res] = finals(c);
      assert.equal(res?.status, 403);
      assert.match(res.get('connection') ?? '', /close/);
      assert.deepEqual(statusLines(c.text), [403], 'no 100 (Continue)');
    });
  });
});

test('ngi: a WebSocket handshake and the first frames in one write: the frames reach the application', async () => {
  const app = async (ex: Exchange): Promise<void> => {
    const socket = await ex.features.websocket!.accept();
    await socket.receive((message) => socket.send(message.data));
  };
  await withEngine('ngi', app, {}, async (server) => {
    await withConnection(server, async (c) => {
      const key = Buffer.from('0123456789abcdef').toString('base64');
      const handshake = `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`;
      c.write(Buffer.concat([Buffer.from(handshake), frame(0x1, Buffer.from('one'), { mask: true }), frame(0x1, Buffer.from('two'), { mask: true })]));
      const text = await c.until((t) => t.includes('one') && t.includes('two'), 3000);
      assert.match(text, /^HTTP\/1\.1 101 /);
      assert.ok(text.indexOf('one') < text.indexOf('two'));
      c.write(frame(0x8, Buffer.from([0x03, 0xe8]), { mask: true }));
      await c.waitClosed(3000);
    });
  });
});

// node:http answers a request without Host with 400 and closes, yet still emits the request
// pipelined behind it; that response never got 'close', so its exchange stayed in flight and
// shutdown waited out the drain timeout (found by this suite).
test('node: a request pipelined after one without Host does not hold shutdown', async () => {
  const lines: string[] = [];
  const server = await startH1('node', echoApp(newSeen()), {}, lines);
  let closeMs = 0;
  try {
    await withConnection(server, async (c) => {
      c.write('GET / HTTP/1.1\r\n\r\n' + GET('/second'));
      await c.waitClosed(2000);
      assert.deepEqual(statusLines(c.text), [400]);
    });
  } finally {
    const started = performance.now();
    await server.close();
    closeMs = performance.now() - started;
  }
  assert.deepEqual(errorLines(lines), [], 'no drain timeout');
  assert.ok(closeMs < 1500, `close took ${Math.round(closeMs)} ms (drain timeout 2000 ms)`);
});
