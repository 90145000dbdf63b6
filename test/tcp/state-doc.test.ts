// docs/tcp-states.md is generated from the transition table: this fails when the two disagree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderStateDoc, STATE_DOC_PATH } from '../../scripts/gen-state-doc.js';
import { ALL_STATES, TRANSITIONS } from '../../src/tcp/state.js';

test('docs/tcp-states.md matches the transition table (regenerate: node --import tsx scripts/gen-state-doc.ts)', () => {
  assert.equal(readFileSync(STATE_DOC_PATH, 'utf8'), renderStateDoc());
});

test('the state doc names all eleven states and draws every edge', () => {
  const doc = renderStateDoc();
  assert.equal(ALL_STATES.length, 11);
  for (const s of ALL_STATES) assert.ok(doc.includes(`- **${s}**: `), `sentence for ${s}`);
  const id = (s: string) => s.replace(/-/g, '_');
  for (const t of TRANSITIONS) {
    assert.ok(doc.includes(`    ${id(t.from)} --> ${id(t.to)}: ${t.event}`), `diagram edge ${t.from} -> ${t.to}`);
    assert.ok(doc.includes(`| ${t.from} | ${t.to} |`), `table row ${t.from} -> ${t.to}`);
  }
  assert.match(doc, /CLOSE-WAIT/);
  assert.match(doc, /60 s/);
});
