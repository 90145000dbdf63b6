// A tiny typed event emitter for stack objects (UDP sockets, the Stack's trace events) that runs in
// browsers too, so it does not import node:events; emitting with no listeners costs one lookup.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;
export type EventMap = { [event: string]: Listener };

export class Emitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Listener[]>();

  on<K extends keyof E>(event: K, fn: E[K]): this {
    const list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, [fn]);
    else list.push(fn);
    this.listenersChanged(event);
    return this;
  }

  addListener<K extends keyof E>(event: K, fn: E[K]): this {
    return this.on(event, fn);
  }

  once<K extends keyof E>(event: K, fn: E[K]): this {
    const wrapper = ((...args: Parameters<E[K]>) => {
      this.off(event, wrapper);
      fn(...args);
    }) as E[K];
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, fn: E[K]): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    const i = list.indexOf(fn);
    if (i >= 0) {
      // Copy on write so an emit in progress keeps its snapshot.
      const next = list.slice();
      next.splice(i, 1);
      if (next.length === 0) this.listeners.delete(event);
      else this.listeners.set(event, next);
      this.listenersChanged(event);
    }
    return this;
  }

  removeListener<K extends keyof E>(event: K, fn: E[K]): this {
    return this.off(event, fn);
  }

  removeAllListeners(event?: keyof E): this {
    if (event === undefined) {
      const keys = [...this.listeners.keys()];
      this.listeners.clear();
      for (const k of keys) this.listenersChanged(k);
    } else if (this.listeners.delete(event)) {
      this.listenersChanged(event);
    }
    return this;
  }

  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Call every listener of `event`; returns whether there were any. */
  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): boolean {
    const list = this.listeners.get(event);
    if (list === undefined) return false;
    if (list.length === 1) list[0]!(...args);
    else for (const fn of list.slice()) fn(...args);
    return true;
  }

  /** Subclasses may react to listeners coming and going (e.g. turn tracing on or off). */
  protected listenersChanged(_event: keyof E): void {}
}
