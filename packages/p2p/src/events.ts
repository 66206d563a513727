/**
 * A small typed event emitter. Listener errors are caught and counted, never thrown into the network's message
 * handling: a faulty listener cannot take a connection (or the node) down.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>();
  #listenerErrors = 0;

  /** Subscribes to `name`; returns a function that unsubscribes. */
  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => this.off(name, listener);
  }

  off<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): void {
    this.#listeners.get(name)?.delete(listener as (event: never) => void);
  }

  /** Listener calls that threw. */
  get listenerErrors(): number {
    return this.#listenerErrors;
  }

  protected emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: Events[K]) => void)(event);
      } catch {
        this.#listenerErrors++;
      }
    }
  }
}
