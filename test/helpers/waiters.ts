/**
 * Waits on conditions over what a test client has received: every wait re-checks its condition
 * when the client calls wake() (bytes arrived, the connection ended), and settles once.
 */
export class Waiters {
  readonly #checks = new Set<() => void>();

  wake(): void {
    for (const check of [...this.#checks]) check();
  }

  /**
   * Resolves when `ready()` holds. Rejects with what `ready` throws, with `failure()`'s error
   * once it returns one (typically: the connection closed without the condition), or with
   * `timeout()`'s after `ms`. With `pollMs` the condition is also re-checked on a timer, for
   * conditions on more than what was received.
   */
  until(ready: () => boolean, failure: () => Error | undefined, timeout: () => Error, ms: number, pollMs?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let ok: boolean;
        try {
          ok = ready();
        } catch (error) {
          done();
          reject(error);
          return;
        }
        if (ok) {
          done();
          resolve();
          return;
        }
        const failed = failure();
        if (failed !== undefined) {
          done();
          reject(failed);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(timeout());
      }, ms);
      const poll = pollMs === undefined ? undefined : setInterval(check, pollMs);
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.#checks.delete(check);
      };
      this.#checks.add(check);
      check();
    });
  }
}
