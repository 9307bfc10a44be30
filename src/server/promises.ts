/** Promise helpers shared by the response and WebSocket writers. */
import type { EventEmitter } from 'node:events';

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

/**
 * Resolves on `writable`'s next 'drain'; rejects with `failure()` if `closer` emits 'close'
 * first. `settled` runs synchronously in either case, before the promise settles.
 */
export function nextDrain(writable: EventEmitter, closer: EventEmitter, failure: () => Error, settled?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      closer.off('close', onClose);
      settled?.();
      resolve();
    };
    const onClose = (): void => {
      writable.off('drain', onDrain);
      settled?.();
      reject(failure());
    };
    writable.once('drain', onDrain);
    closer.once('close', onClose);
  });
}
