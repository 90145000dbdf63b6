// The lab's guided stories against the scenarios they narrate: every scenario has a story, and at
// several seeds every beat's event really happens in the run (so no beat describes something the
// stacks did not do), in both languages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo, scenarioNames } from '../../src/demo/scenarios.js';
import { STORIES, beatReached } from '../../web/lab/stories.js';

test('every demo scenario has a story, every beat is reached, and every text exists in English and Korean', () => {
  assert.deepEqual(Object.keys(STORIES).sort(), scenarioNames().sort());
  for (const seed of [1, 7, 1234]) {
    for (const name of scenarioNames()) {
      const r = runDemo({ scenario: name, seed, rtt: 20, loss: 0, mss: 1460, bytes: 1000 });
      const story = STORIES[name]!;
      for (const b of story.beats) {
        assert.ok(beatReached(b, r.events, true), `${name} seed ${seed}: beat ${JSON.stringify(b.at)} never happened`);
        for (const t of [b.text, ...(b.myth ? [b.myth.wrong, b.myth.right] : [])]) {
          assert.ok(t.en.length > 0 && /[가-힣]/.test(t.ko), `${name}: ${t.en}`);
        }
      }
      // Before anything ran, only end-of-run beats could show: none is reached early.
      assert.ok(story.beats.every((b) => !beatReached(b, [], false)));
    }
  }
});

test('the stories show the misconceptions the issue names, each next to what really happens', () => {
  const myths = Object.values(STORIES).flatMap((s) => s.beats.flatMap((b) => (b.myth ? [b.myth.right.en] : [])));
  assert.ok(myths.some((m) => /CLOSE-WAIT/.test(m) && /TIME-WAIT/.test(m)), 'the passive closer waits in CLOSE-WAIT, not TIME-WAIT');
  assert.ok(myths.some((m) => /SYN-SENT/.test(m)), 'the client is in SYN-SENT after its SYN');
  assert.ok(myths.some((m) => /ACK flag clear/.test(m)), 'a SYN carries no meaningful ACK number');
  assert.ok(myths.some((m) => /2\*MSL/.test(m) && /60 s/.test(m) && /240 s/.test(m)), 'TIME-WAIT is 2*MSL: 60 s on Linux, 240 s only where MSL is 120 s');
});
