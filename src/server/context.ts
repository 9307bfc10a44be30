/** What the protocol glue needs from the server that owns it. */
import type { Handler } from '../interface/app.ts';
import type { ResolvedOptions } from './options.ts';
import type { ExchangeImpl } from './exchange.ts';
import type { WebSocketRegistry } from './websocket-feature.ts';

export interface ServerContext {
  readonly handler: Handler<unknown>;
  /** The lifespan state returned by startup. */
  readonly state: unknown;
  readonly options: ResolvedOptions;
  /** True once shutdown has begun. */
  readonly draining: boolean;
  /** Hands an `Upgrade: h2c` request to the HTTP/2 server (cleartext only). */
  upgradeToHttp2?: (req: import('./h2c.ts').UpgradeRequest, socket: import('node:net').Socket, head: Buffer) => void;
  /** Open WebSockets, closed with 1001 on shutdown. */
  readonly websockets: WebSocketRegistry;
  exchangeStarted(exchange: ExchangeImpl): void;
  /** The handler has settled and the transport is done with the exchange. */
  exchangeFinished(exchange: ExchangeImpl): void;
  logError(message: string, error?: unknown): void;
}
