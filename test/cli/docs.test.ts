// docs/cli.md stays the reference: every command in `synack help`, every option in each command's
// help, and every status of the EXIT table appear in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import { EXIT, type CliIo } from '../../src/cli/io.js';

async function help(argv: string[]): Promise<string> {
  let out = '';
  const io: CliIo = { out: (s) => void (out += s), err: () => {}, isTTY: false, env: {}, readFile: () => new Uint8Array(), writeFile: () => {} };
  assert.equal(await main(argv, io), 0, `synack ${argv.join(' ')}`);
  return out;
}

test('docs/cli.md lists every command, every option of each and every exit status', async () => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  const top = await help(['help']);
  const commands = [...(top.split('Commands:\n')[1] ?? '').matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]!);
  assert.ok(commands.length >= 10, `commands found in synack help: ${commands.join(' ')}`);
  const missing: string[] = [];
  for (const c of commands) {
    if (!doc.includes(`synack ${c}`)) missing.push(`command ${c}`);
    if (c === 'help' || c === 'version') continue;
    const text = await help(['help', c]);
    // The option column of the help: lines that start with an option after a short indent.
    const options = new Set<string>();
    for (const m of text.matchAll(/^ {2,6}(-[a-zA-Z])?(?:, )?(--[a-z][\w-]*)?/gm)) {
      if (m[1] !== undefined) options.add(m[1]);
      if (m[2] !== undefined) options.add(m[2]);
    }
    for (const o of options) if (!new RegExp(`\`${o}[\\s\`=]`).test(doc)) missing.push(`${c} ${o}`);
  }
  for (const [name, code] of Object.entries(EXIT)) if (!new RegExp(`^\\| ${code} \\|`, 'm').test(doc)) missing.push(`exit ${code} (${name})`);
  assert.deepEqual(missing, []);
});
