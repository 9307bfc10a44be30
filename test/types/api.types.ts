/**
 * Type tests for the public API, checked by `npm run typecheck` (part of `npm test`).
 * Each @ts-expect-error line must fail to compile: if the API ever accepts it, tsc fails.
 */
import { defineApp, NgiError, type Exchange, type Handler, type ErrorCode, type Fields, type WebSocket, type WebSocketCloseInfo } from '../../src/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(): T => true as T;

// An application is a plain function, sync or async.
export const syncHandler: Handler = (exchange) => exchange.response.send(200);
export const asyncHandler: Handler = async (exchange) => {
  const text = await exchange.request.body.text({ limit: 1024 });
  exchange.response.send(200, { 'content-type': 'text/plain' }, text);
};

// Lifespan state flows into exchange.state with its type.
export const withState = defineApp({
  startup: async () => ({ db: new Map<string, number>() }),
  handle(exchange) {
    assertType<Equal<typeof exchange.state, { db: Map<string, number> }>>();
    exchange.state.db.set('hits', 1);
    // @ts-expect-error state is typed: no such member
    exchange.state.cache;
    exchange.response.send(204);
  },
  shutdown(state) {
    state.db.clear();
  },
});

export async function features(exchange: Exchange): Promise<void> {
  const { features } = exchange;
  // Optional capabilities must be checked before use: the compiler forces it.
  // @ts-expect-error earlyHints may be absent
  await features.earlyHints.send({ link: '</a.css>; rel=preload' });
  await features.earlyHints?.send({ link: '</a.css>; rel=preload' });
  if (features.push) {
    const pushed = await features.push.push({ path: '/style.css' });
    pushed.response.send(200, { 'content-type': 'text/css' }, 'body{}');
  }
  // @ts-expect-error push takes GET or HEAD only (RFC 9113 §8.4)
  await features.push?.push({ path: '/x', method: 'POST' });
  if (features.websocket) {
    const ws: WebSocket = await features.websocket.accept({ subprotocol: 'chat' });
    for await (const message of ws) {
      if (message.type === 'text') await ws.send(message.data.toUpperCase());
      // @ts-expect-error binary data is bytes, not a string
      else message.data.toUpperCase();
    }
    // receive(): a handler returning nothing or a promise; it resolves with the close info.
    const info: WebSocketCloseInfo = await ws.receive((message) => ws.send(message.data));
    await ws.receive((message) => {
      if (message.type === 'binary') message.data.byteLength;
    });
    void info;
    // Any return value: only a thenable holds the next message back.
    const lengths: number[] = [];
    await ws.receive((message) => lengths.push(message.type === 'text' ? message.data.length : message.data.byteLength));
    // @ts-expect-error a handler gets a message, not raw bytes
    await ws.receive((data: Buffer) => {});
  }
  const urgent: boolean = (features.priority?.urgency ?? 3) < 3;
  void urgent;
  // @ts-expect-error priorities are the client's signal: read-only
  features.priority.urgency = 0;
  features.flowControl?.setUploadRate(64 * 1024);
  if (features.drain?.draining) exchange.signal.throwIfAborted();
  // Unknown capabilities are not part of the type.
  // @ts-expect-error no such feature
  features.telepathy;
}

export async function responses(exchange: Exchange): Promise<void> {
  const { response } = exchange;
  const writer = response.start(200, { 'content-type': 'text/plain' });
  assertType<Equal<ReturnType<typeof writer.write>, Promise<void>>>();
  await writer.write('text');
  await writer.write(new Uint8Array([1, 2]));
  // @ts-expect-error a plain writer ends with bytes, not trailers
  await writer.end({ 'grpc-status': '0' });
  await writer.end();

  const trailing = response.start(200, undefined, { trailers: true });
  await trailing.write('x');
  await trailing.end({ 'grpc-status': '0' });

  // send() answers in one call and returns nothing to await.
  assertType<Equal<ReturnType<typeof response.send>, void>>();
  // @ts-expect-error the body is bytes or a string
  response.send(200, {}, { json: true });
  // Fields may be records (arrays become separate lines) or ordered lines.
  response.send(200, { 'set-cookie': ['a=1', 'b=2'], 'x-n': 5 });
  response.send(200, [['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
}

export function requests(exchange: Exchange): void {
  const { request, connection } = exchange;
  const headers: Fields = request.headers;
  const values: string[] = headers.getAll('set-cookie');
  const one: string | undefined = headers.get('host');
  void values;
  void one;
  // @ts-expect-error the request is read-only
  request.method = 'POST';
  // @ts-expect-error no socket is ever handed to the application
  connection.socket;
  const protocol: 'http/1.0' | 'http/1.1' | 'h2' | 'h2c' = exchange.protocol;
  void protocol;
  if (connection.tls) {
    const alpn: string | undefined = connection.tls.alpnProtocol;
    void alpn;
  }
}

// Error codes are a closed, stable set.
export function errors(error: unknown): void {
  if (error instanceof NgiError) {
    const code: ErrorCode = error.code;
    const status: number = error.status;
    void code;
    void status;
    // @ts-expect-error not an NGI error code
    const bad: ErrorCode = 'NGI_ERR_SOMETHING_ELSE';
    void bad;
  }
}
