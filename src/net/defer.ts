// One microtask for every callback the net API defers in a turn, instead of one each: Node's
// queueMicrotask makes an AsyncResource, binds a function and enters an async scope per call
// (about 2% of serve's CPU under `ab -k`, three calls per request). Callbacks run in the order they
// were deferred, those deferred while draining after those already waiting, outside the stack's
// call that deferred them, as with queueMicrotask. What changes is only their place among other
// microtasks: a batch runs where its first callback was deferred (promise reactions queued between
// two deferrals run after both).
// A callback that throws surfaces as an uncaught exception, as from queueMicrotask (the exception is
// rethrown from the draining microtask), and the callbacks after it still run, in a fresh microtask.

const queue: (() => void)[] = [];
let head = 0;
let scheduled = false;

function drain(): void {
  while (head < queue.length) {
    const fn = queue[head] as () => void;
    queue[head++] = undefined as unknown as () => void;
    try {
      fn();
    } catch (err) {
      // The rest waits for its own microtask (scheduled stays true), then the error goes up.
      queueMicrotask(drain);
      throw err;
    }
  }
  queue.length = 0;
  head = 0;
  scheduled = false;
}

/** Run `fn` in a microtask, in order with every other deferred callback (see above). */
export function defer(fn: () => void): void {
  queue.push(fn);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}
