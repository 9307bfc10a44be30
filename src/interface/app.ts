/** What an NGI application is. See spec/core.md §2 and spec/lifespan.md. */
import type { Exchange } from './exchange.ts';

/**
 * Handles one exchange. The exchange is finished when the returned promise settles:
 * a response still `pending` then is answered 500 (NGI_ERR_NO_RESPONSE), one still
 * `streaming` is reset (NGI_ERR_INCOMPLETE_RESPONSE).
 */
export type Handler<State = unknown> = (exchange: Exchange<State>) => void | Promise<void>;

/** An application with lifespan hooks. */
export interface Application<State = unknown> {
  handle: Handler<State>;
  /**
   * Runs once before the server accepts connections; its result is `exchange.state` for
   * every exchange. A throw or rejection stops the server (NGI_ERR_STARTUP_FAILED).
   */
  startup?: () => State | Promise<State>;
  /** Runs once after the last exchange has finished (or the drain timeout passed). */
  shutdown?: (state: State) => void | Promise<void>;
}

/** What a module's default export may be. */
export type AppExport<State = unknown> = Handler<State> | Application<State>;

/** Types an application with lifespan hooks; returns it unchanged. */
export function defineApp<State>(app: Application<State>): Application<State> {
  return app;
}
