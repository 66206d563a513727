/**
 * A small typed event emitter that runs anywhere (no `node:events`). Listeners run synchronously, in subscription
 * order, after the state change they report is complete. A listener that throws does not stop the others or undo the
 * change: its error goes to the error handler given to the constructor, by default rethrown on a later tick (as
 * `EventTarget` reports listener errors), where the host's uncaught-exception handling sees it.
 */
export type Listener<T> = (event: T) => void;

/** Receives an error a listener threw, with the event's name. */
export type ListenerErrorHandler = (error: unknown, name: string) => void;

const rethrowLater: ListenerErrorHandler = (error) => {
  queueMicrotask(() => {
    throw error;
  });
};

export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #onListenerError: ListenerErrorHandler;

  constructor(onListenerError: ListenerErrorHandler = rethrowLater) {
    this.#onListenerError = onListenerError;
  }

  /** Subscribes `listener` to `name`; returns a function that unsubscribes it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  /** Removes `listener` from `name`. */
  off<K extends keyof Events>(name: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(name)?.delete(listener as Listener<never>);
  }

  /** Number of listeners of `name`. */
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  protected emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (error) {
        this.#onListenerError(error, String(name));
      }
    }
  }
}
