/** Promise helpers shared by the response and WebSocket writers. */

export const RESOLVED: Promise<void> = Promise.resolve();

export function noop(): void {}

/**
 * A rejected promise already marked as handled: an application that fires writes without
 * awaiting them must not crash the whole server (unhandled rejection) when a client goes.
 * Awaiting it still throws.
 */
export function rejected(error: unknown): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(noop);
  return promise;
}
