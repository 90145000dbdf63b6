// A binary min-heap over an array, ordered by a caller-supplied `less`; the timer queues of the
// virtual and real-time clocks are built on it.

export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  /** The smallest item, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (!this.less(item, p)) break;
      a[i] = p;
      i = parent;
    }
    a[i] = item;
  }

  /** Remove and return the smallest item. */
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      this.siftDown(last);
    }
    return top;
  }

  /** Keep only the items `keep` accepts, then restore the heap order (O(n)). */
  filter(keep: (item: T) => boolean): void {
    const a = this.items;
    let w = 0;
    for (let r = 0; r < a.length; r++) {
      const it = a[r]!;
      if (keep(it)) a[w++] = it;
    }
    a.length = w;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.siftDownFrom(i);
  }

  clear(): void {
    this.items.length = 0;
  }

  private siftDown(item: T): void {
    this.items[0] = item;
    this.siftDownFrom(0);
  }

  private siftDownFrom(start: number): void {
    const a = this.items;
    const n = a.length;
    const item = a[start]!;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(a[r]!, a[l]!)) c = r;
      const child = a[c]!;
      if (!this.less(child, item)) break;
      a[i] = child;
      i = c;
    }
    a[i] = item;
  }
}
