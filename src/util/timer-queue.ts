// The one timer queue under both clocks (VirtualClock, RealtimeClock): callbacks ordered by (time,
// scheduling order) in a min-heap, beside a FIFO for entries due at a clock's current time, with
// lazy cancellation and compaction. The clocks decide what "now" is and when to fire. Entries added
// with addPooled are reused once run or cancelled, so a driver that schedules per packet or per
// deadline allocates nothing in the steady state.
import type { TimerHandle } from './clock.js';
import { MinHeap } from './heap.js';

/** A scheduled callback; doubles as the TimerHandle returned to callers. */
export interface TimerEntry extends TimerHandle {
  readonly t: number;
  /** Scheduling order, so equal times run first-scheduled first. */
  readonly order: number;
  fn: (() => void) | null;
  /** What addPooled was given for the owner to find on take (undefined for add). */
  readonly arg: unknown;
}

/** The one shape of every entry; pooled ones are rewritten in place when reused. */
class Entry implements TimerEntry {
  constructor(
    public id: number,
    public t: number,
    public order: number,
    public fn: (() => void) | null,
    public arg: unknown,
    /** Back to the free list once run or dropped after cancel (see TimerQueue.addPooled). */
    public pooled: boolean,
  ) {}
}

/** Spare pooled entries kept per queue: about a window of packets in flight on a memory link. */
const FREE_MAX = 4096;

const earlier = (a: TimerEntry, b: TimerEntry): boolean => a.t < b.t || (a.t === b.t && a.order < b.order);

export class TimerQueue {
  #nextId = 1;
  readonly #heap = new MinHeap<Entry>(earlier);
  /**
   * Entries added with `atNow` (zero-latency links, immediate work), in scheduling order: a FIFO
   * beside the heap, so the commonest case costs no sifting. The clock promises that every heap
   * entry due at the same time was scheduled before them and that its time stands still until
   * this FIFO is empty, so taking the earlier of the two heads keeps exactly the (time, order) order.
   */
  readonly #due: Entry[] = [];
  #dueHead = 0;
  /** End of the FIFO in #due (slots beyond it hold stale entries; the array keeps its storage). */
  #dueEnd = 0;
  #live = 0;
  #dead = 0;
  /** Pooled entries that have run or were dropped after cancel, for the next addPooled. */
  readonly #free: Entry[] = [];
  /** Entry objects this queue has created (a test reads it: pooled scheduling stops creating them). */
  #created = 0;

  /** Queue `fn` at time `t`; `atNow`: `t` is the clock's current time, which stands still until it runs. */
  add(t: number, fn: () => void, atNow: boolean): TimerEntry {
    const id = this.#nextId++;
    this.#created++;
    return this.#queue(new Entry(id, t, id, fn, undefined, false), atNow);
  }

  /**
   * add() with an entry the queue takes back once it has run (take) or been cancelled and dropped,
   * and hands out again: the caller must forget the handle at either point and never cancel it
   * afterwards (it may by then be someone else's). `arg` is kept on the entry for the owner.
   */
  addPooled(t: number, fn: () => void, atNow: boolean, arg?: unknown): TimerEntry {
    const id = this.#nextId++;
    const e = this.#free.pop();
    if (e === undefined) {
      this.#created++;
      return this.#queue(new Entry(id, t, id, fn, arg, true), atNow);
    }
    e.id = id;
    e.t = t;
    e.order = id;
    e.fn = fn;
    e.arg = arg;
    return this.#queue(e, atNow);
  }

  /** Entry objects created so far (pooled ones count once however often they are reused). */
  get created(): number {
    return this.#created;
  }

  #queue(e: Entry, atNow: boolean): Entry {
    if (atNow) this.#due[this.#dueEnd++] = e;
    else this.#heap.push(e);
    this.#live++;
    return e;
  }

  /** Compaction's filter: live entries stay, cancelled pooled ones go back for reuse. */
  readonly #keep = (e: Entry): boolean => {
    if (e.fn !== null) return true;
    this.#recycle(e);
    return false;
  };

  /** A pooled entry left the queue (run or dropped): keep it for reuse. */
  #recycle(e: Entry): void {
    if (!e.pooled) return;
    e.arg = undefined;
    if (this.#free.length < FREE_MAX) this.#free.push(e);
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
      this.#heap.filter(this.#keep);
      let w = 0;
      for (let r = this.#dueHead; r < this.#dueEnd; r++) if (this.#keep(this.#due[r]!)) this.#due[w++] = this.#due[r]!;
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
    return this.#peek();
  }

  #peek(): Entry | undefined {
    const due = this.#due;
    let d = this.#dueHead < this.#dueEnd ? due[this.#dueHead] : undefined;
    while (d !== undefined && d.fn === null) {
      this.#dead--;
      this.#recycle(d);
      d = ++this.#dueHead < this.#dueEnd ? due[this.#dueHead] : undefined;
    }
    if (d === undefined) this.#dueHead = this.#dueEnd = 0;
    let h = this.#heap.peek();
    while (h !== undefined && h.fn === null) {
      this.#heap.pop();
      this.#dead--;
      this.#recycle(h);
      h = this.#heap.peek();
    }
    if (d === undefined) return h;
    if (h === undefined) return d;
    return earlier(h, d) ? h : d;
  }

  /** Remove `e`, which peek() just returned, and hand back its callback (it counts as run). */
  take(entry: TimerEntry): () => void {
    const e = entry as Entry;
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
    this.#recycle(e);
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
