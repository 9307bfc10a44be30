/**
 * A gRPC service written directly on NGI, with no gRPC server library:
 *
 *   package echo;
 *   service Echo {
 *     rpc Say (Msg) returns (Msg);                    // unary
 *     rpc Chat (stream Msg) returns (stream Msg);     // bidirectional streaming
 *   }
 *
 * gRPC over HTTP/2 is plain HTTP: a POST to /<package>.<Service>/<Method> with
 * `content-type: application/grpc`, length-prefixed protobuf messages in both bodies
 * (framing.ts, proto.ts), and the call's status in the response trailers (`grpc-status`,
 * `grpc-message`). Chat answers each message as soon as it has arrived, while the client
 * is still sending: one stream, read and written at once, with backpressure both ways.
 *
 *   npx ngi serve examples/grpc-echo/app.ts --port 50051
 */
import { defineApp, isNgiError, type Exchange, type FieldsInit, type TrailingResponseWriter } from '../../src/index.ts';
import { encodeFrame, FramingError, readFrames } from './framing.ts';
import { decodeMsg, encodeMsg, ProtoError, type Msg } from './proto.ts';

/** gRPC status codes (grpc/doc/statuscodes.md) this service answers with. */
export const Status = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

/** gRPC's default limit on a received message (grpc-js, grpc-go and grpc-java alike). */
export const MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

/** Ends a call with a non-OK status. */
export class GrpcError extends Error {
  override readonly name = 'GrpcError';
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const RESPONSE_HEADERS = {
  'content-type': 'application/grpc',
  // Messages are never compressed here; a client that compresses is told what we take.
  'grpc-accept-encoding': 'identity',
} as const;

/**
 * grpc-message is percent-encoded UTF-8: bytes outside 0x20-0x7E, and '%' itself, become
 * %XX (PROTOCOL-HTTP2.md, "Responses").
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function statusFields(code: number, message: string | undefined): FieldsInit {
  return message === undefined || message === ''
    ? { 'grpc-status': String(code) }
    : { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) };
}

/** The response side of one call: messages, then a status. */
class Call {
  readonly #exchange: Exchange;
  #writer: TrailingResponseWriter | undefined;
  #finished = false;

  constructor(exchange: Exchange) {
    this.#exchange = exchange;
  }

  /**
   * Sends one message; resolves when the transport has taken it (awaiting it is the
   * backpressure: a client that stops reading stops the handler). The response head goes
   * out with the first message, so a call that fails before answering can still be
   * answered Trailers-Only.
   */
  async send(msg: Msg): Promise<void> {
    if (this.#finished) throw new Error('send(): the call has finished');
    this.#writer ??= this.#exchange.response.start(200, RESPONSE_HEADERS, { trailers: ['grpc-status', 'grpc-message'] });
    await this.#writer.write(encodeFrame(encodeMsg(msg)));
  }

  /** Ends the call with a status: in the trailers, or Trailers-Only when nothing was sent. */
  async finish(code: number, message?: string): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#writer === undefined) {
      // Trailers-Only: one HEADERS frame with END_STREAM that carries the status.
      this.#exchange.response.send(200, { ...RESPONSE_HEADERS, ...statusFields(code, message) });
    } else {
      await this.#writer.end(statusFields(code, message));
    }
  }
}

/** The request messages of a call, each decoded as soon as its last byte has arrived. */
async function* requests(exchange: Exchange): AsyncGenerator<Msg, void, undefined> {
  for await (const frame of readFrames(exchange.request.body, MAX_MESSAGE_SIZE)) {
    // Compression needs a grpc-encoding, and only identity is accepted (checked in handle).
    if (frame.compressed) throw new GrpcError(Status.INTERNAL, 'compressed message without a grpc-encoding');
    yield decodeMsg(frame.message);
  }
}

type Method = (call: Call, input: AsyncGenerator<Msg, void, undefined>) => Promise<void>;

function check(msg: Msg): void {
  if (msg.text === 'fail') throw new GrpcError(Status.INVALID_ARGUMENT, `message ${msg.seq} asked to fail`);
}

/** Unary: exactly one request message, one reply (other counts: UNIMPLEMENTED, as grpc-js's server answers). */
const say: Method = async (call, input) => {
  let request: Msg | undefined;
  for await (const msg of input) {
    if (request !== undefined) throw new GrpcError(Status.UNIMPLEMENTED, 'Say is unary: one request message only');
    request = msg;
  }
  if (request === undefined) throw new GrpcError(Status.UNIMPLEMENTED, 'Say is unary: the request message is missing');
  check(request);
  await call.send({ text: request.text, seq: request.seq });
  await call.finish(Status.OK);
};

/**
 * Bidirectional streaming: every message is echoed the moment it is complete, while the
 * client may still be sending (a handler that first read the whole request would never
 * answer a client that waits for each reply before sending the next message).
 */
const chat: Method = async (call, input) => {
  for await (const msg of input) {
    check(msg);
    await call.send({ text: msg.text, seq: msg.seq });
  }
  await call.finish(Status.OK);
};

export const METHODS: Readonly<Record<string, Method>> = {
  '/echo.Echo/Say': say,
  '/echo.Echo/Chat': chat,
};

/** The status a failure ends the call with. */
function statusOf(error: unknown): { code: number; message: string } {
  if (error instanceof GrpcError) return { code: error.code, message: error.message };
  if (error instanceof FramingError) {
    return { code: error.kind === 'too-large' ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL, message: error.message };
  }
  if (error instanceof ProtoError) return { code: Status.INTERNAL, message: `cannot parse the request message: ${error.message}` };
  if (isNgiError(error) && error.code === 'NGI_ERR_BODY_TOO_LARGE') return { code: Status.RESOURCE_EXHAUSTED, message: error.message };
  return { code: Status.UNKNOWN, message: 'internal error' };
}

export default defineApp({
  async handle(exchange) {
    const { request, response, features } = exchange;
    if (request.method !== 'POST') {
      response.send(405, { allow: 'POST', 'content-type': 'text/plain; charset=utf-8' }, 'gRPC calls are POST requests\n');
      return;
    }
    // application/grpc, application/grpc+proto, application/grpc;charset=...
    const contentType = request.headers.get('content-type') ?? '';
    if (!/^application\/grpc(?:[+;]|$)/i.test(contentType.trim())) {
      response.send(415, { 'content-type': 'text/plain; charset=utf-8' }, 'expected content-type: application/grpc\n');
      return;
    }
    const call = new Call(exchange);
    // A status after messages needs trailers: HTTP/2 always, HTTP/1.1 by chunked coding,
    // HTTP/1.0 never. Without them only a Trailers-Only answer (status in the head) is possible.
    if (!features.responseTrailers) {
      return call.finish(Status.INTERNAL, `gRPC needs response trailers, which ${exchange.protocol} cannot carry: use HTTP/2`);
    }
    const encoding = request.headers.get('grpc-encoding');
    if (encoding !== undefined && encoding !== 'identity') {
      return call.finish(Status.UNIMPLEMENTED, `grpc-encoding ${encoding} is not supported`);
    }
    const method = METHODS[request.path];
    if (method === undefined) return call.finish(Status.UNIMPLEMENTED, `unknown method ${request.path}`);
    try {
      await method(call, requests(exchange));
    } catch (error) {
      // The client cancelled or went away: nobody is left to tell.
      if (exchange.signal.aborted) return;
      const { code, message } = statusOf(error);
      // A client gone while the status was going out has nobody to tell either.
      await call.finish(code, message).catch(() => {});
    }
  },
});
