// The one timer queue under both clocks (VirtualClock, RealtimeClock): callbacks ordered by (time,
// scheduling order) in a min-heap, beside a FIFO for entries due at a clock's current time, with
// lazy cancellation and compaction. The clocks decide what "now" is and when to fire.
import type { TimerHandle } from './clock.js';
import { MinHeap } from './heap.js';

/** A scheduled callback; doubles as the TimerHandle returned to callers. */
export interface TimerEntry extends TimerHandle {
  readonly t: number;
  /** Scheduling order, so equal times run first-scheduled first. */
  readonly order: number;
  fn: (() => void) | null;
}

const earlier = (a: TimerEntry, b: TimerEntry): boolean => a.t < b.t || (a.t === b.t && a.order < b.order);

export class TimerQueue {
  #nextId = 1;
  readonly #heap = new MinHeap<TimerEntry>(earlier);
  /**
   * Entries added with `atNow` (zero-latency links, immediate work), in scheduling order: a FIFO
   * beside the heap, so the commonest case costs no sifting. The clock promises that every heap
   * entry due at the same time was scheduled before them and that its time stands still until
   * this FIFO is empty, so taking the earlier of the two heads keeps exactly the (time, order) order.
   */
  readonly #due: TimerEntry[] = [];
  #dueHead = 0;
  /** End of the FIFO in #due (slots beyond it hold stale entries; the array keeps its storage). */
  #dueEnd = 0;
  #live = 0;
  #dead = 0;

  /** Queue `fn` at time `t`; `atNow`: `t` is the clock's current time, which stands still until it runs. */
  add(t: number, fn: () => void, atNow: boolean): TimerEntry {
    const id = this.#nextId++;
    const e: TimerEntry = { id, t, order: id, fn };
    if (atNow) this.#due[this.#dueEnd++] = e;
    else this.#heap.push(e);
    this.#live++;
    return e;
  }

  /** Cancel a handle (lazily: it is dropped when met). Handles already run or cancelled are ignored. */
  cancel(h: TimerHandle): void {
    const e = h as TimerEntry;
    if (e.fn === null || e.fn === undefined) return;
    e.fn = null;
    this.#live--;
    this.#dead++;
    // Compact when cancelled entries dominate so the queue does not grow unbounded.
    if (this.#dead > 64 && this.#dead > this.#live) {
      this.#heap.filter((x) => x.fn !== null);
      let w = 0;
      for (let r = this.#dueHead; r < this.#dueEnd; r++) if (this.#due[r]!.fn !== null) this.#due[w++] = this.#due[r]!;
      this.#dueHead = 0;
      this.#dueEnd = w;
      this.#dead = 0;
    }
  }

  /** Scheduled callbacks not yet run nor cancelled. */
  get live(): number {
    return this.#live;
  }

  /** The earliest entry not cancelled (cancelled ones met on the way are dropped), or undefined. */
  peek(): TimerEntry | undefined {
    const due = this.#due;
    let d = this.#dueHead < this.#dueEnd ? due[this.#dueHead] : undefined;
    while (d !== undefined && d.fn === null) {
      this.#dead--;
      d = ++this.#dueHead < this.#dueEnd ? due[this.#dueHead] : undefined;
    }
    if (d === undefined) this.#dueHead = this.#dueEnd = 0;
    let h = this.#heap.peek();
    while (h !== undefined && h.fn === null) {
      this.#heap.pop();
      this.#dead--;
      h = this.#heap.peek();
    }
    if (d === undefined) return h;
    if (h === undefined) return d;
    return earlier(h, d) ? h : d;
  }

  /** Remove `e`, which peek() just returned, and hand back its callback (it counts as run). */
  take(e: TimerEntry): () => void {
    if (this.#dueHead === this.#dueEnd || e !== this.#due[this.#dueHead]) {
      this.#heap.pop();
    } else {
      this.#dueHead++;
      // Time may stand still for a whole transfer on zero-latency links: move the FIFO back to the
      // front now and then instead of letting the array grow.
      if (this.#dueHead >= 1024 && this.#dueHead * 2 >= this.#dueEnd) {
        const n = this.#dueEnd - this.#dueHead;
        for (let k = 0; k < n; k++) this.#due[k] = this.#due[this.#dueHead + k]!;
        this.#dueHead = 0;
        this.#dueEnd = n;
      }
    }
    const fn = e.fn!;
    e.fn = null;
    this.#live--;
    return fn;
  }

  /** Forget everything. */
  clear(): void {
    this.#heap.clear();
    this.#dueHead = this.#dueEnd = 0;
    this.#live = 0;
    this.#dead = 0;
  }
}
