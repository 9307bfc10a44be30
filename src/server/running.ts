/**
 * The exchanges in progress, for shutdown: how many there are and, at the drain timeout, which
 * to cancel. An intrusive doubly linked list: adding and removing are a few field writes, with
 * no hashing and no allocation (a Set of every exchange showed up in request profiles). The
 * links are symbol-keyed so that applications do not see them on the exchange.
 */
export const kPrev = Symbol('ngi.running.prev');
export const kNext = Symbol('ngi.running.next');

export interface RunningEntry {
  [kPrev]: RunningEntry | undefined;
  [kNext]: RunningEntry | undefined;
}

export class RunningList<T extends RunningEntry> {
  #head: RunningEntry | undefined;
  size = 0;

  /** Adds an entry; one already in the list is left where it is. */
  add(entry: T): void {
    if (entry[kPrev] !== undefined || this.#head === entry) return;
    entry[kPrev] = undefined;
    entry[kNext] = this.#head;
    if (this.#head !== undefined) this.#head[kPrev] = entry;
    this.#head = entry;
    this.size++;
  }

  /** Removes an entry; one that is not in the list is ignored. */
  delete(entry: T): void {
    const prev = entry[kPrev];
    const next = entry[kNext];
    if (prev !== undefined) prev[kNext] = next;
    else if (this.#head === entry) this.#head = next;
    else return;
    if (next !== undefined) next[kPrev] = prev;
    entry[kPrev] = entry[kNext] = undefined;
    this.size--;
  }

  /** A snapshot, so that entries may remove themselves while it is walked. */
  toArray(): T[] {
    const out: T[] = [];
    for (let e = this.#head; e !== undefined; e = e[kNext]) out.push(e as T);
    return out;
  }
}
