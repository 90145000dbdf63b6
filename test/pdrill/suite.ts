// The conformance suite's files and their metadata, shared by the suite and mutation tests: every
// test/conformance/*.pkt with its profile line and the list of scripts known to fail (with why).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CONFORMANCE_DIR = join('test', 'conformance');

export type Profile = 'neutral' | 'default' | 'linux';

export interface SuiteScript {
  name: string;
  path: string;
  text: string;
  profile: Profile;
}

/**
 * KNOWN FAILURES: scripts that show a bug in the TCP core (src/tcp, owned elsewhere). Each is
 * written as the RFC / Linux behaviour demands and fails today; the suite test requires that it
 * still fails at the named line, so a fix shows up as "remove it from this list".
 */
export const KNOWN_FAILURES: Readonly<Record<string, { line: number; reason: string }>> = {};

export function loadSuite(): SuiteScript[] {
  return readdirSync(CONFORMANCE_DIR)
    .filter((f) => f.endsWith('.pkt'))
    .sort()
    .map((name) => {
      const path = join(CONFORMANCE_DIR, name);
      const text = readFileSync(path, 'utf8');
      const m = /^\/\/ profile: (neutral|default|linux)\b/m.exec(text);
      return { name, path, text, profile: (m?.[1] ?? 'neutral') as Profile };
    });
}

/** The profiles a script runs under: neutral ones under both. */
export function profilesOf(s: SuiteScript): boolean[] {
  return s.profile === 'neutral' ? [false, true] : [s.profile === 'linux'];
}
