// A synack stack tapped by a `--watch` server and a peer stack on one virtual clock: the setup the
// watch-server test and the lab's watch-mode test share (198.18.0.2 watched, 198.18.0.1 its peer).
import { Stack } from '../../src/stack/stack.js';
import { VirtualClock } from '../../src/util/virtual-clock.js';
import { createMemoryPair } from '../../src/link/memory.js';
import { seededRandom } from '../../src/util/random.js';
import type { startWatch } from '../../src/cli/watch.js';

type Watch = Awaited<ReturnType<typeof startWatch>>;

export function watchedPair(watch: Watch): { clock: VirtualClock; watched: Stack; peer: Stack } {
  const clock = new VirtualClock();
  const [l1, l2] = createMemoryPair({ clock });
  const watched = new Stack({ name: 'synack', clock, random: seededRandom(5) });
  const peer = new Stack({ name: 'kernel', clock, random: seededRandom(6) });
  watched.addInterface(watch.tap(l1, clock), { addresses: ['198.18.0.2/24'] });
  peer.addInterface(l2, { addresses: ['198.18.0.1/24'] });
  watch.attach(watched);
  return { clock, watched, peer };
}
