// Event-loop liveness for net objects, as Node's handles have it: while a socket or server is
// active (connecting, connected, listening) and ref'd, it holds its stack's clock (Clock.hold, one
// real host handle per RealtimeClock), so the process stays alive; unref() or the end of the
// activity releases it. Clocks without hold (VirtualClock) keep nothing alive.
import type { Clock } from '../util/clock.js';

export class Liveness {
  #release: (() => void) | null = null;
  #refed = true;
  #active = false;

  constructor(private readonly clock: Clock) {}

  get active(): boolean {
    return this.#active;
  }

  set active(on: boolean) {
    this.#active = on;
    this.#update();
  }

  get refed(): boolean {
    return this.#refed;
  }

  set refed(on: boolean) {
    this.#refed = on;
    this.#update();
  }

  #update(): void {
    const want = this.#active && this.#refed;
    if (want && this.#release === null && this.clock.hold !== undefined) this.#release = this.clock.hold();
    else if (!want && this.#release !== null) {
      this.#release();
      this.#release = null;
    }
  }
}
