// Bad input over every command, run as a real process (so an 'error' event nobody listens to, or an
// unhandled rejection, would show): each case must exit with its status from the EXIT table
// (docs/cli.md), print exactly one line on stderr that starts with `synack` and says what is
// wrong, and never a stack trace. TUN commands run with SYNACK_TUN_ADDON pointing nowhere, so no
// case can open a device or send a packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/io.js';
import { clientClosesFirst } from '../trace/capture.js';

const entry = new URL('../interop/synack-cli.ts', import.meta.url).pathname;
// Absolute, since the cases run in a scratch directory where 'tsx' does not resolve.
const tsxLoader = import.meta.resolve('tsx');

interface Case {
  argv: string[];
  code: number;
  msg: RegExp;
}

function runCli(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', tsxLoader, entry, ...argv], {
      cwd,
      env: { ...process.env, SYNACK_TUN_ADDON: '/nonexistent/synack_tun.node', SYNACK_DEBUG: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
  });
}

test('bad input over every command: the documented exit status, one line starting with synack, no stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synack-sweep-'));
  try {
    const good = join(dir, 'good.pcap');
    writeFileSync(good, clientClosesFirst().bytes());
    writeFileSync(join(dir, 'notes.txt'), 'these are my notes, not a capture file at all\n');
    writeFileSync(join(dir, 'ng.pcapng'), new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d, ...new Array<number>(16).fill(0)]));
    mkdirSync(join(dir, 'adir'));
    const tun = ['--tun', 'syn0', '--addr', '198.18.0.2/24'];
    const noAddon = /the native TUN addon is not built .*to build it, install a C compiler/;
    const { usage, failure } = EXIT;
    const cases: Case[] = [
      // dispatch
      { argv: ['frobnicate'], code: usage, msg: /unknown command 'frobnicate'; run 'synack help' for usage/ },
      { argv: ['dmeo'], code: usage, msg: /unknown command 'dmeo' \(did you mean demo\?\)/ },
      { argv: ['--verbose'], code: usage, msg: /unknown option --verbose \(options go after the command\)/ },
      { argv: ['help', 'tarce'], code: usage, msg: /no help for unknown command 'tarce' \(did you mean trace\?\)/ },
      { argv: ['version', 'x'], code: usage, msg: /version takes no arguments/ },
      // demo
      { argv: ['demo', 'extra'], code: usage, msg: /demo takes no arguments, got 'extra'; run 'synack help demo' for usage/ },
      { argv: ['demo', '--scenaro', 'loss'], code: usage, msg: /unknown option --scenaro \(did you mean --scenario\?\)/ },
      { argv: ['demo', '--scenario', 'nope'], code: usage, msg: /unknown scenario "nope"; choose one of: basic/ },
      { argv: ['demo', '--loss', '2'], code: usage, msg: /option --loss must be at most 1, got 2/ },
      { argv: ['demo', '--seed', 'abc'], code: usage, msg: /option --seed expects a number, got 'abc'/ },
      { argv: ['demo', '--pcap', '/nonexistent/dir/x.pcap'], code: failure, msg: /^synack: cannot write \/nonexistent\/dir\/x\.pcap: no such directory$/ },
      { argv: ['demo', '--svg', '/nonexistent/dir/x.svg'], code: failure, msg: /^synack: cannot write \/nonexistent\/dir\/x\.svg: no such directory$/ },
      { argv: ['demo', '--svg', 'adir'], code: failure, msg: /^synack: cannot write adir: is a directory$/ },
      // trace
      { argv: ['trace'], code: usage, msg: /trace needs FILE\.pcap/ },
      { argv: ['trace', 'a.pcap', 'b.pcap'], code: usage, msg: /unexpected argument 'b\.pcap'/ },
      { argv: ['trace', '/nonexistent/x.pcap'], code: failure, msg: /^synack: cannot read \/nonexistent\/x\.pcap: no such file$/ },
      { argv: ['trace', 'adir'], code: failure, msg: /^synack: cannot read adir: is a directory$/ },
      { argv: ['trace', 'notes.txt'], code: failure, msg: /^synack: cannot read notes\.txt: not a pcap file \(magic 0x74686573\)/ },
      { argv: ['trace', 'ng.pcapng'], code: failure, msg: /^synack: cannot read ng\.pcapng: pcapng files are not supported; convert with `editcap -F pcap`$/ },
      { argv: ['trace', good, '--conn', '9'], code: usage, msg: /--conn 9: .*good\.pcap has 1 TCP connection;/ },
      { argv: ['trace', good, '--svg', '/nonexistent/dir/x.svg'], code: failure, msg: /^synack: cannot write \/nonexistent\/dir\/x\.svg: no such directory$/ },
      { argv: ['trace', good, '--widht', '80'], code: usage, msg: /unknown option --widht \(did you mean --width\?\)/ },
      // pdrill
      { argv: ['pdrill'], code: usage, msg: /pdrill needs at least one script/ },
      { argv: ['pdrill', '--seed', '-1', 'x.pkt'], code: usage, msg: /--seed/ },
      // bench
      { argv: ['bench', 'extra'], code: usage, msg: /bench takes no arguments, got 'extra'/ },
      { argv: ['bench', '--only', 'nosuch'], code: usage, msg: /unknown group 'nosuch'/ },
      { argv: ['bench', '--runs', '0'], code: usage, msg: /option --runs must be at least 1/ },
      { argv: ['bench', '--driver', 'fast'], code: usage, msg: /--driver wants stack, core, auto, got 'fast'/ },
      { argv: ['bench', '--counts', '1,x'], code: usage, msg: /--counts wants positive integers/ },
      // lab
      { argv: ['lab', '--port', '99999'], code: usage, msg: /--port/ },
      { argv: ['lab', '--prot', '1'], code: usage, msg: /unknown option --prot \(did you mean --port\?\)/ },
      // serve
      { argv: ['serve'], code: usage, msg: /serve/ },
      { argv: ['serve', 'adir'], code: usage, msg: /--tun NAME.* is required/ },
      { argv: ['serve', 'adir', '--tun', 'syn0', '--addr', 'bad'], code: usage, msg: /--addr wants ADDRESS\/PREFIX, got 'bad'/ },
      { argv: ['serve', 'adir', ...tun, '--port', '70000'], code: usage, msg: /--port must be at most 65535/ },
      { argv: ['serve', 'adir', ...tun, '--tun-name', 'x'], code: usage, msg: /unknown option --tun-name/ },
      { argv: ['serve', '/nonexistent/dir', ...tun], code: failure, msg: /\/nonexistent\/dir/ },
      { argv: ['serve', 'adir', ...tun], code: failure, msg: noAddon },
      // get
      { argv: ['get'], code: usage, msg: /get/ },
      { argv: ['get', 'notaurl', ...tun], code: usage, msg: /not a URL: 'notaurl'/ },
      { argv: ['get', 'https://198.18.0.1/', ...tun], code: usage, msg: /only http:\/\/ URLs/ },
      { argv: ['get', 'http://example.com/', ...tun], code: usage, msg: /must be an IP address/ },
      { argv: ['get', 'http://198.18.0.1/', 'extra', ...tun], code: usage, msg: /get/ },
      { argv: ['get', 'http://198.18.0.1/', ...tun, '--mtu', '100'], code: usage, msg: /--mtu must be at least 576/ },
      { argv: ['get', 'http://198.18.0.1/', '-o', '/nonexistent/dir/out', ...tun], code: failure, msg: /nonexistent\/dir\/out|TUN addon/ },
      { argv: ['get', 'http://198.18.0.1/', ...tun], code: failure, msg: noAddon },
      // relay
      { argv: ['relay'], code: usage, msg: /--tun NAME or --tap NAME is required/ },
      { argv: ['relay', '--tun', 'rly0', '--peer', '198.18.0.1/24'], code: usage, msg: /--pool wants FIRST-LAST/ },
      { argv: ['relay', 'extra', '--tun', 'rly0'], code: usage, msg: /unexpected argument 'extra'/ },
      { argv: ['relay', '--tun', 'rly0', '--peer', '198.18.0.1/24', '--pool', '198.18.0.10-198.18.0.50'], code: failure, msg: noAddon },
      // nc
      { argv: ['nc'], code: usage, msg: /nc wants HOST PORT/ },
      { argv: ['nc', '198.18.0.1', ...tun], code: usage, msg: /nc wants HOST PORT/ },
      { argv: ['nc', '198.18.0.1', '99999', ...tun], code: usage, msg: /bad port '99999'/ },
      { argv: ['nc', '198.18.0.1', '7', 'x', ...tun], code: usage, msg: /nc wants HOST PORT/ },
      { argv: ['nc', '198.18.0.1', '7', ...tun, '--peer', 'nope'], code: usage, msg: /--peer wants an IP address, got 'nope'/ },
      { argv: ['nc', '198.18.0.1', '7', ...tun], code: failure, msg: noAddon },
    ];
    const problems: string[] = [];
    // A few at a time: each case is a fresh node process.
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async (c) => {
          const r = await runCli(c.argv, dir);
          const what = `synack ${c.argv.join(' ')}`;
          const lines = r.err.split('\n').filter((l) => l !== '');
          if (r.code !== c.code) problems.push(`${what}: exit ${r.code}, want ${c.code}: ${r.err.trim()}`);
          if (lines.length !== 1 || !r.err.endsWith('\n')) problems.push(`${what}: ${lines.length} lines on stderr, want 1: ${r.err}`);
          if (!/^synack(?: (?:get|serve|nc|relay|pdrill))?: \S/.test(r.err)) problems.push(`${what}: stderr does not start with 'synack:': ${r.err}`);
          if (!c.msg.test(lines[0] ?? '')) problems.push(`${what}: message ${JSON.stringify(lines[0])} does not match ${String(c.msg)}`);
          if (/\n\s+at |internal error|node:internal|Error: /.test(r.err + r.out)) problems.push(`${what}: a stack trace or internal error: ${r.err}`);
        }),
      );
    }
    assert.deepEqual(problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
