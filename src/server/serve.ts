/**
 * serve(app, options): lifespan startup, one listening port for every protocol, access
 * log, and graceful shutdown. See docs/server-behavior.md.
 */
import type { AddressInfo, Socket } from 'node:net';
import type { AppExport, Application, Handler } from '../interface/app.ts';
import { NgiError } from '../interface/errors.ts';
import { formatAccessLine } from './access-log.ts';
import { taggedConnection } from './connection.ts';
import type { ServerContext } from './context.ts';
import type { ExchangeImpl } from './exchange.ts';
import { createHttp1Server } from './http1.ts';
import { createHttp1Engine } from './http1-ngi.ts';
import { createHttp2Server, drainSession } from './http2.ts';
import { createEngineGlue } from './http2-ngi.ts';
import { upgradeToHttp2 } from './h2c.ts';
import { createFront } from './listener.ts';
import { WebSocketRegistry } from './websocket-feature.ts';
import { resolveOptions, type ServeOptions } from './options.ts';
import { RunningList } from './running.ts';

export interface ServerHandle {
  /** e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly address: { readonly host: string; readonly port: number };
  /** Stops accepting, drains, runs lifespan shutdown. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the server has closed, however it was closed. */
  readonly closed: Promise<void>;
}

export function toApplication<S>(app: AppExport<S>): Application<S> {
  if (typeof app === 'function') return { handle: app };
  if (app && typeof app === 'object' && typeof app.handle === 'function') return app;
  throw new NgiError('APP_LOAD_FAILED', 'an NGI application is a function (exchange) => ... or an object with a handle(exchange) method');
}

function urlHost(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

export async function serve<S>(app: AppExport<S>, options?: ServeOptions): Promise<ServerHandle> {
  const opts = resolveOptions(options);
  const application = toApplication(app);
  const log = opts.log;

  let state: unknown;
  if (application.startup) {
    try {
      state = await application.startup();
    } catch (error) {
      throw new NgiError('STARTUP_FAILED', `lifespan startup failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  const running = new RunningList<ExchangeImpl>();
  let onIdle: (() => void) | undefined;
  const context: ServerContext = {
    handler: application.handle as Handler<unknown>,
    state,
    options: opts,
    draining: false,
    websockets: new WebSocketRegistry(),
    exchangeStarted(exchange: ExchangeImpl) {
      running.add(exchange);
    },
    exchangeFinished(exchange: ExchangeImpl) {
      running.delete(exchange);
      if (opts.accessLog) log(formatAccessLine(exchange));
      if (running.size === 0) onIdle?.();
    },
    logError(message: string, error?: unknown) {
      const detail = error instanceof NgiError ? `${error.code}: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : error === undefined ? '' : String(error);
      log(`ngi: error: ${message}${detail ? `\n${detail}` : ''}`);
    },
  };

  const h1 = createHttp1Server(context);
  const h2 = createHttp2Server(context);
  const engine = createEngineGlue(context);
  const toHttp2 = opts.http2Engine === 'ngi' ? engine.accept : (socket: Socket) => void h2.server.emit('connection', socket);
  (context as { upgradeToHttp2?: ServerContext['upgradeToHttp2'] }).upgradeToHttp2 = (req, socket, head) => {
    if (context.draining) socket.destroy();
    else upgradeToHttp2(toHttp2, req, socket, head, opts.timeouts.headers);
  };
  const h1Engine = createHttp1Engine(context);
  const toHttp1 = opts.http1Engine === 'ngi' ? h1Engine.accept : (socket: Socket) => void h1.emit('connection', socket);
  const front = createFront(opts, toHttp1, toHttp2, () => context.draining);

  const runShutdownHook = async (): Promise<void> => {
    if (!application.shutdown) return;
    try {
      await application.shutdown(state as S);
    } catch (error) {
      context.logError('lifespan shutdown failed', error);
    }
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new NgiError('LISTEN_FAILED', `cannot listen on ${opts.host}:${opts.port}: ${error.code ?? error.message}`, { cause: error }));
    };
    front.server.once('error', onError);
    front.server.listen(opts.port, opts.host, () => {
      front.server.off('error', onError);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await runShutdownHook();
    throw error;
  });
  front.server.on('error', (error) => context.logError('listener error', error));

  const bound = front.server.address() as AddressInfo;
  const url = `${opts.tls ? 'https' : 'http'}://${urlHost(bound)}:${bound.port}`;

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;

  const waitFor = (condition: () => boolean, deadline: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (condition()) return resolve(true);
      const timer = setInterval(() => {
        if (condition()) {
          clearInterval(timer);
          resolve(true);
        } else if (Date.now() >= deadline) {
          clearInterval(timer);
          resolve(false);
        }
      }, 20);
    });

  const shutdown = async (): Promise<void> => {
    (context as { draining: boolean }).draining = true;
    const deadline = Date.now() + opts.timeouts.drain;
    front.server.close();
    for (const socket of front.sockets) {
      const connection = taggedConnection(socket);
      if (connection) connection.startDrain();
      // Still sniffing: no request was accepted on it yet.
      else socket.destroy();
    }
    // RFC 6455 §7.4.1: 1001 "going away"; the close handshakes count as in-flight exchanges.
    context.websockets.draining = true;
    for (const socket of context.websockets) socket.goAway();
    // Node 20/22 send no GOAWAY on close: every session is drained here, on every line.
    for (const session of h2.sessions) drainSession(session);
    for (const session of engine.sessions) session.close();
    h1.closeIdleConnections();
    // Idle HTTP/1.1 sockets that node does not see as idle (between pipelined requests).
    for (const socket of front.sockets) {
      const connection = taggedConnection(socket);
      if (connection?.kind === 'http/1' && connection.inFlight === 0) socket.end();
    }
    const drained = await new Promise<boolean>((resolve) => {
      if (running.size === 0) return resolve(true);
      // Not unref'd: a shutdown in progress keeps the process alive until it is done.
      const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    if (!drained) {
      context.logError(`drain timeout: ${running.size} exchange(s) still running were cut off`);
      const reason = new NgiError('SHUTDOWN', `the server shut down; the drain timeout of ${opts.timeouts.drain} ms passed`);
      for (const exchange of running.toArray()) exchange.cancel(reason);
      for (const socket of context.websockets) socket.terminate();
      for (const session of h2.sessions) session.destroy();
      for (const session of engine.sessions) session.destroy();
      h1.closeAllConnections();
      h1Engine.closeAll();
    }
    // Give sockets a moment to finish their close handshakes, then end the stragglers.
    if (!(await waitFor(() => front.sockets.size === 0, Math.min(deadline, Date.now() + 2000)))) {
      for (const socket of front.sockets) socket.destroy();
    }
    await runShutdownHook();
  };

  const handle: ServerHandle = {
    url,
    address: { host: bound.address, port: bound.port },
    closed,
    close() {
      closing ??= shutdown().finally(resolveClosed);
      return closing;
    },
  };

  if (opts.handleSignals) {
    const onSignal = (signal: NodeJS.Signals): void => {
      log(`ngi: ${signal}: shutting down (drain timeout ${opts.timeouts.drain} ms)`);
      void handle.close();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void closed.then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  }
  return handle;
}
