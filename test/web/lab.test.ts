// The lab in real headless Chromium, served by `synack lab`: every guided story's ladder (flags,
// seq, ack, len) and both endpoints' state sequences equal `synack demo --scenario NAME --json` at
// the same seed; the TCB panel shows SND.NXT = ISS + 1 after the SYN and RCV.NXT = seq + len after
// data; the downloaded pcap reads in tshark with no malformed packet; English and Korean render;
// a pcap of a real curl-to-nginx exchange (two namespaces, captured by tshark) draws its connection;
// free play's buttons and attackers act on the stacks; and the --watch page draws a live stack.
// Skips when Chromium is missing (Debian: apt-get install chromium); the pcap parts skip without
// tshark, the curl/nginx part without root, namespaces, curl or nginx.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { scenarioNames } from '../../src/demo/scenarios.js';
import { tcpPacketsFromPcap, inferConnections } from '../../src/trace/infer.js';
import { NetnsHarness, netnsUnavailableReason, missingTool } from '../helpers/netns.js';
import { startWatch } from '../../src/cli/watch.js';
import { watchedPair } from '../helpers/watch.js';
import { STORIES } from '../../web/lab/stories.js';
import { EN, KO } from '../../web/lab/i18n.js';
import { ENGLISH_WORDS } from '../../src/trace/ladder.js';

import { CHROMIUM, CHROMIUM_ARGS as ARGS } from '../helpers/browser.js';
const ROOT = new URL('../../', import.meta.url).pathname;
const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

interface Seg {
  flags: string;
  seq: number;
  ack: number;
  len: number;
}

/** `synack demo --scenario NAME --seed N --json`, run in-process: its segments and each host's state sequence. */
async function demoJson(name: string, seed: number): Promise<{ segs: Seg[]; states: Record<string, string[]> }> {
  let out = '';
  const io: CliIo = { out: (s) => void (out += s), err: () => undefined, isTTY: false, env: {}, readFile: () => new Uint8Array(), writeFile: () => undefined };
  assert.equal(await main(['demo', '--scenario', name, '--seed', String(seed), '--json'], io), 0);
  const segs: Seg[] = [];
  const states: Record<string, string[]> = { client: [], server: [] };
  for (const line of out.trim().split('\n')) {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o['type'] === 'segment') segs.push({ flags: String(o['flags']), seq: Number(o['seq']), ack: Number(o['ack']), len: Number(o['len']) });
    if (o['type'] === 'state') {
      const list = states[String(o['host'])]!;
      if (list.length === 0) list.push(String(o['from']));
      list.push(String(o['to']));
    }
  }
  return { segs, states };
}

/** The ladder's segments as the page shows them (numbers as on the wire; ack 0 when the ACK flag is clear, as --json prints). */
function pageSegments(page: Page): Promise<Seg[]> {
  return page.$$eval('#ladder g.seg[data-seg]', (gs) =>
    gs.map((g) => ({
      flags: g.getAttribute('data-flags') ?? '',
      seq: Number(g.getAttribute('data-seq')),
      ack: g.getAttribute('data-ack') === '' ? 0 : Number(g.getAttribute('data-ack')),
      len: Number(g.getAttribute('data-len')),
    })),
  );
}

function pageStates(page: Page, host: string): Promise<string[]> {
  return page.$$eval(`ol.history[data-host="${host}"] li`, (lis) => lis.map((li) => li.textContent ?? ''));
}

const tcb = (page: Page, host: string, key: string): Promise<number> =>
  page.$eval(`#tcb td[data-host="${host}"][data-key="${key}"]`, (td) => Number(td.getAttribute('data-value')));

/** Starts `synack lab --port 0` as a child process and resolves with its URL. */
function startLab(): Promise<{ url: string; child: ChildProcess }> {
  const script = `const { main } = await import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))}); process.exitCode = await main(['lab', '--port', '0']);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`synack lab did not print its URL: ${seen}`)), 20_000);
    const on = (d: Buffer): void => {
      seen += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(seen);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ url: m[0], child });
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', (code) => reject(new Error(`synack lab exited (${code}): ${seen}`)));
  });
}

test('the lab in headless Chromium', { timeout: 300_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`chromium not found at ${CHROMIUM} (install the Debian package "chromium", or set SYNACK_CHROMIUM)`);
    return;
  }
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-lab.mjs')], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const js = readFileSync(join(ROOT, 'dist/lab/lab.js'), 'utf8');
  assert.ok(!/\bnode:[a-z]/.test(js), 'the lab bundle must not reference node:* modules');
  const lab = await startLab();
  const userDataDir = mkdtempSync(join(tmpdir(), 'synack-lab-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS, acceptDownloads: true, locale: 'en-US' });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const open = async (query: string): Promise<number> => {
    const t0 = Date.now();
    await page.goto(`${lab.url}?${query}`);
    await page.waitForSelector('body[data-ready="true"]');
    return Date.now() - t0;
  };
  try {
    await t.test('the page loads from synack lab', async () => {
      const ms = await open('scenario=basic&seed=1');
      const inPage = Number(await page.getAttribute('body', 'data-ready-ms'));
      console.log(`[lab] first run drawn ${inPage} ms after navigation started (${ms} ms including the test's round trips; lab.js ${(js.length / 1024).toFixed(0)} KiB)`);
      assert.ok(inPage > 0);
      assert.equal(await page.textContent('h1'), 'synack lab');
    });

    for (const name of scenarioNames()) {
      await t.test(`story ${name}: the ladder and the states equal synack demo --json (seed 7)`, async () => {
        await open(`scenario=${name}&seed=7`);
        await page.click('#to-end');
        await page.waitForSelector('#status:has-text("settled")');
        const want = await demoJson(name, 7);
        assert.ok(want.segs.length > 0);
        assert.deepEqual(await pageSegments(page), want.segs);
        assert.deepEqual(await pageStates(page, 'client'), want.states['client']);
        assert.deepEqual(await pageStates(page, 'server'), want.states['server']);
        // Every beat of the story is tied to an event of the run, and each one happened.
        const beats = await page.$$eval('#story .beats li', (l) => l.length);
        assert.equal(beats, STORIES[name]!.beats.length, `${name}: ${beats} story beats shown`);
      });
    }

    await t.test('TCB: SND.NXT = ISS + 1 after the SYN, RCV.NXT = seq + len after the request', async () => {
      await open('scenario=basic&seed=3');
      // Step until the SYN is on the ladder.
      for (let i = 0; i < 20 && (await pageSegments(page)).length === 0; i++) await page.click('#step');
      const [syn] = await pageSegments(page);
      assert.equal(syn?.flags, 'SYN');
      assert.equal(await tcb(page, 'client', 'iss'), syn!.seq);
      assert.equal(await tcb(page, 'client', 'sndNxt'), (syn!.seq + 1) >>> 0);
      assert.equal(await page.$eval('#tcb td[data-host="client"][data-key="state"]', (td) => td.textContent), 'SYN-SENT');
      // Step until the server has sent something after the client's request.
      let segs = await pageSegments(page);
      for (let i = 0; i < 200; i++) {
        const req = segs.findIndex((s, j) => j > 1 && s.len > 0);
        if (req >= 0 && segs.slice(req + 1).length > 0) break;
        await page.click('#step');
        segs = await pageSegments(page);
      }
      const req = segs.find((s, j) => j > 1 && s.len > 0)!;
      assert.equal(await tcb(page, 'server', 'rcvNxt'), (req.seq + req.len) >>> 0);
      const reply = segs[segs.indexOf(req) + 1]!;
      assert.equal(reply.ack, (req.seq + req.len) >>> 0, 'the next segment from the server acknowledges seq + len');
      // The inspector spells the sum out.
      await page.click(`#ladder g.seg[data-seg="${segs.indexOf(reply)}"]`);
      const math = await page.textContent('#inspector .math');
      assert.match(math ?? '', new RegExp(`ack ${reply.ack} = seq ${req.seq} \\+ len ${req.len}`));
      // Keyboard: focus a segment and press Enter.
      await page.focus('#ladder g.seg[data-seg="0"]');
      await page.keyboard.press('Enter');
      assert.match((await page.textContent('#inspector h3')) ?? '', /#1/);
    });

    await t.test('the downloaded pcap reads in tshark with no malformed packet', async (t2) => {
      if (!have('tshark')) {
        t2.skip('tshark is not installed');
        return;
      }
      await open('scenario=loss&seed=2');
      await page.click('#to-end');
      const segs = await pageSegments(page);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-pcap')]);
      const dir = mkdtempSync(join(tmpdir(), 'synack-lab-pcap-'));
      try {
        const file = join(dir, 'lab.pcap');
        await download.saveAs(file);
        // Without stream reassembly: the capture holds both a lost segment and its retransmission
        // (what each side sent), and HTTP reassembly reports that overlap as an expert error.
        const r = spawnSync('tshark', ['-r', file, '-o', 'tcp.relative_sequence_numbers:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'tcp.seq', '-e', 'tcp.len', '-e', '_ws.malformed', '-e', '_ws.expert.severity'], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const rows = r.stdout.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
        assert.equal(rows.length, segs.length, 'one frame per segment on the ladder');
        for (const [i, row] of rows.entries()) {
          assert.equal(row[3], '', `frame ${i + 1} is malformed`);
          assert.equal(Number(row[1]), segs[i]!.seq);
          assert.equal(Number(row[2]), segs[i]!.len);
        }
        assert.ok(Number(rows[0]![0]) > 1.5e9, 'the capture carries a real start time, not 1970');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    await t.test('English and Korean both render', async () => {
      await open('scenario=basic&seed=1');
      await page.click('#to-end');
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      assert.match((await page.textContent('#story')) ?? '', /SYN-SENT/);
      await page.click('#lang');
      assert.equal(await page.getAttribute('html', 'lang'), 'ko');
      assert.equal(await page.textContent('h1'), 'synack 실험실');
      assert.match((await page.textContent('#story')) ?? '', /[가-힣]{2,}/);
      assert.match((await page.textContent('#story')) ?? '', /흔한 오해/);
      // The glyphs are drawn, not boxes: a Korean syllable must not paint like an unassigned code point.
      // (A string, so the test runner's transform adds no helper the page lacks.)
      const drawn = (await page.evaluate(`(() => {
        function paint(ch) {
          const c = document.createElement('canvas');
          c.width = 40;
          c.height = 40;
          const g = c.getContext('2d');
          g.font = '30px sans-serif';
          g.fillText(ch, 4, 32);
          return c.toDataURL();
        }
        return paint('한') !== paint(String.fromCodePoint(0x10fffd));
      })()`)) as boolean;
      const koFont = spawnSync('fc-list', [':lang=ko'], { encoding: 'utf8' }).stdout.trim() !== '';
      if (koFont) assert.ok(drawn, 'Korean text is drawn with a real font');
      else console.log('[lab] no Korean font installed (Debian: fonts-nanum): glyph check skipped');
      await page.click('#lang');
      assert.equal(await page.textContent('h1'), 'synack lab');
    });

    await t.test('the Korean page leaves no English word of the interface untranslated', async () => {
      // The English of every label whose Korean differs, and the ladder's own words (marks, the
      // TIME-WAIT break, notes of spoofed segments, host names), as whole words, case as written.
      const words = [
        ...Object.entries(EN).filter(([k, v]) => KO[k as keyof typeof KO] !== v).map(([, v]) => v),
        ENGLISH_WORDS.retransmission, ENGLISH_WORDS.lost, ENGLISH_WORDS.duplicate, 'pass', 'with nothing sent', 'TCP ladder',
        'spoofed', 'half-open', 'cookie', 'off-path', 'on-path', 'client', 'server', 'peer',
      ];
      const re = (w: string): RegExp => new RegExp(`(?<![A-Za-z])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z])`);
      /** Every text a reader meets: text nodes (SVG <text> and tooltips included), aria-labels, button and option text. */
      const visible = (): Promise<string[]> =>
        page.evaluate(`(() => {
          const out = [];
          const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walk.nextNode(); n !== null; n = walk.nextNode()) {
            const p = n.parentElement;
            // Style sheets are not read; the scenario list shows each story's CLI name (synack demo --scenario NAME) beside its Korean title.
            if (p === null || p.closest('style, script') !== null || p.closest('#scenario') !== null) continue;
            if (n.textContent.trim() !== '') out.push(n.textContent);
          }
          for (const el of document.querySelectorAll('[aria-label]')) out.push(el.getAttribute('aria-label'));
          return out;
        })()`) as Promise<string[]>;
      const check = async (where: string): Promise<void> => {
        const texts = await visible();
        for (const w of words) {
          const hit = texts.find((x) => re(w).test(x));
          assert.equal(hit, undefined, `${where}: English "${w}" left in the Korean page: ${hit}`);
        }
      };
      for (const name of ['basic', 'loss', 'hijack', 'syn-flood', 'refused', 'zero-window']) {
        await open(`scenario=${name}&seed=7&lang=ko`);
        await page.click('#to-end');
        assert.equal(await page.getAttribute('html', 'lang'), 'ko');
        await page.click('#ladder g.seg[data-seg="0"]');
        await check(name);
      }
      // The TIME-WAIT wait is a break with Korean words on the ladder.
      await open('scenario=basic&seed=7&lang=ko');
      await page.click('#to-end');
      assert.match((await page.textContent('#ladder g.gap')) ?? '', /경과: 클라이언트: TIME-WAIT \(2\*MSL\) 대기/);
      // Free play with every trick: duplicate, drop, both attackers, a SYN flood; the inspector on each kind.
      await open('scenario=free&seed=5&lang=ko');
      await page.click('#connect');
      await page.click('#to-end');
      await page.click('#dup-next');
      await page.click('#send-client');
      await page.click('#to-end');
      await page.click('#drop-next');
      await page.click('#send-server');
      await page.click('#to-end');
      await page.click('#off-path');
      await page.click('#to-end');
      await page.click('#on-path');
      await page.click('#syn-flood');
      await page.click('#to-end');
      for (const sel of ['g.seg.dup', 'g.seg.lost', 'g.seg.rexmit', 'g.seg.rst']) {
        const idx = await page.$eval(`#ladder ${sel}`, (g) => g.getAttribute('data-seg'));
        // By keyboard: on a long ladder a neighbour's label can sit over the arrow a mouse would click.
        await page.focus(`#ladder g.seg[data-seg="${idx}"]`);
        await page.keyboard.press('Enter');
        assert.match((await page.textContent('#inspector h3')) ?? '', new RegExp(`#${Number(idx) + 1}$`));
        await check(`free play, ${sel} inspected`);
      }
      assert.match((await page.textContent('#ladder')) ?? '', /\(복제본\)/);
      assert.match((await page.textContent('#ladder')) ?? '', /\(손실\)/);
      assert.match((await page.textContent('#ladder')) ?? '', /위조/);
    });

    await t.test('"duplicate the next segment" draws the copy on the ladder and in the inspector', async () => {
      await open('scenario=free&seed=5');
      await page.click('#connect');
      await page.click('#to-end');
      const before = (await pageSegments(page)).length;
      await page.fill('#n-client', '700');
      await page.click('#dup-next');
      await page.click('#send-client');
      await page.click('#to-end');
      const segs = (await pageSegments(page)).slice(before);
      const dups = await page.$$eval('#ladder g.seg.dup', (gs) => gs.map((g) => ({ i: Number(g.getAttribute('data-seg')), text: g.textContent ?? '' })));
      assert.equal(dups.length, 1, 'one copy drawn');
      const dup = dups[0]!;
      assert.match(dup.text, /len=700 .*\(duplicate\)/);
      // The copy follows its original: the same seq, ack, flags and length.
      const all = await pageSegments(page);
      assert.deepEqual(all[dup.i], all[dup.i - 1]);
      assert.equal(segs.filter((x) => x.len === 700).length, 2, 'the data segment and its copy');
      // The receiver saw it twice: it acknowledges twice, the same number (the repeat is a duplicate, RFC 9293 3.10.7.4).
      const iss = await tcb(page, 'client', 'iss');
      const end = (iss + 1 + 700) >>> 0;
      assert.ok(segs.filter((x) => x.flags === 'ACK' && x.ack === end).length >= 2, 'an extra ACK for the copy');
      assert.equal(await tcb(page, 'server', 'rcvNxt'), end, 'the copy is not taken as new data');
      await page.focus(`#ladder g.seg[data-seg="${dup.i}"]`);
      await page.keyboard.press('Enter');
      assert.match((await page.textContent('#inspector')) ?? '', new RegExp(`duplicate\\s*a second copy of #${dup.i} \\(the link delivered it twice\\)`));
    });

    await t.test('a pcap of a real curl-to-nginx exchange draws its connection', async (t2) => {
      const why = netnsUnavailableReason() ?? missingTool('curl') ?? missingTool('nginx') ?? missingTool('tshark');
      if (why !== null) {
        t2.skip(why);
        return;
      }
      const file = await captureCurlNginx();
      try {
        const bytes = readFileSync(file.pcap);
        const parsed = tcpPacketsFromPcap(bytes);
        assert.ok(parsed.ok);
        const conns = inferConnections(parsed.value.packets);
        assert.equal(conns.length, 1);
        await open('scenario=basic&seed=1');
        await page.setInputFiles('#pcap-file', file.pcap);
        await page.waitForSelector('#pcap-pane:not([hidden])');
        assert.equal(await page.$$eval('#pcap-conn option', (o) => o.length), 1);
        const segs = await pageSegments(page);
        const want = conns[0]!.events.filter((e) => e.type === 'segment');
        assert.deepEqual(
          segs.map((s) => s.flags),
          want.map((e) => (e.type === 'segment' ? e.flags : '')),
        );
        assert.equal(segs[0]!.flags, 'SYN', 'curl opens with SYN');
        assert.ok(segs.some((s) => s.len > 0), 'nginx answered with data');
        assert.deepEqual(await pageStates(page, 'client'), [...inferred(conns[0]!, 'client')]);
        assert.match((await page.textContent('#ladder')) ?? '', /198\.18\.9\.1/);
        // The inspector shows a captured segment's own bytes: curl's SYN, IPv4 from 198.18.9.1.
        await page.click('#ladder g.seg[data-seg="0"]');
        assert.match((await page.textContent('#inspector')) ?? '', /198\.18\.9\.1:\d+ → 198\.18\.9\.2:8080/);
        assert.match((await page.textContent('#inspector pre.hex')) ?? '', /^0000 {2}45 /);
      } finally {
        rmSync(file.dir, { recursive: true, force: true });
      }
    });

    await t.test('free play: connect, send, drop the next segment, and the two attackers', async () => {
      await open('scenario=free&seed=5');
      await page.click('#connect');
      await page.click('#to-end');
      assert.equal(await page.$eval('#tcb td[data-host="client"][data-key="state"]', (td) => td.textContent), 'ESTABLISHED');
      await page.fill('#n-client', '5000');
      await page.click('#drop-next');
      await page.click('#send-client');
      await page.click('#to-end');
      const segs = await pageSegments(page);
      const lost = await page.$$eval('#ladder g.seg.lost', (g) => g.length);
      assert.ok(lost >= 1, 'the dropped segment is drawn as lost');
      const iss = await tcb(page, 'client', 'iss');
      assert.equal(await tcb(page, 'server', 'rcvNxt'), (iss + 1 + 5000) >>> 0, 'all 5000 bytes arrived despite the drop');
      assert.ok(segs.length > 4);
      // Off-path guesses fail: both ends stay ESTABLISHED.
      await page.click('#off-path');
      await page.click('#to-end');
      assert.equal(await page.$eval('#tcb td[data-host="server"][data-key="state"]', (td) => td.textContent), 'ESTABLISHED');
      // An on-path attacker knows RCV.NXT: one RST and the server's connection is gone.
      await page.click('#on-path');
      await page.click('#to-end');
      assert.equal(await page.$eval('#tcb td[data-host="server"][data-key="state"]', (td) => td.textContent), 'CLOSED');
      assert.match((await page.textContent('#ladder')) ?? '', /on-path/);
      // A SYN flood: spoofed SYNs from hosts that never answer, each drawn and answered.
      const before = (await pageSegments(page)).length;
      await page.click('#syn-flood');
      await page.click('#to-end');
      const after = await pageSegments(page);
      assert.ok(after.slice(before).filter((x) => x.flags === 'SYN').length >= 8, 'eight spoofed SYNs');
      assert.ok(after.slice(before).some((x) => x.flags === 'SYN,ACK'), 'the server answers them');
      assert.match((await page.textContent('#ladder')) ?? '', /spoofed SYN from 198\.18\.0\.\d+/);
    });

    await t.test("watch mode: the page draws a watched stack's connection as its events stream in", async () => {
      const watch = await startWatch(0, 'synack');
      try {
        const { clock, watched, peer } = watchedPair(watch);
        await page.goto(watch.url);
        await page.waitForSelector('body[data-ready="true"]');
        await page.waitForSelector('#watch-pane:not([hidden])');
        peer.tcpListen({ port: 80 }, (c) => {
          c.hooks.onReadable = () => {
            while (c.recv() !== null);
            c.send(new Uint8Array(300));
          };
        });
        const conn = watched.tcpConnect({ address: '198.18.0.1', port: 80 });
        conn.hooks.onConnected = () => clock.schedule(clock.now(), () => conn.send(new TextEncoder().encode('hello')));
        clock.runUntil(1000);
        await page.waitForFunction(() => document.querySelectorAll('#ladder g.seg').length >= 5);
        const segs = await pageSegments(page);
        assert.deepEqual(segs.slice(0, 3).map((s) => s.flags), ['SYN', 'SYN,ACK', 'ACK']);
        assert.equal(segs[0]!.seq, conn.info().iss >>> 0);
        assert.equal(segs[3]!.len, 5);
        assert.deepEqual(await pageStates(page, 'client'), ['CLOSED', 'SYN-SENT', 'ESTABLISHED']);
        conn.abort();
        watched.close();
        peer.close();
      } finally {
        await watch.close();
      }
    });

    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    lab.child.kill('SIGTERM');
    rmSync(userDataDir, { recursive: true, force: true });
  }
});

function inferred(c: ReturnType<typeof inferConnections>[number], side: 'client' | 'server'): string[] {
  const host = side === 'client' ? c.client : c.server;
  const out: string[] = [];
  for (const e of c.events) {
    if (e.type !== 'state' || e.host !== host) continue;
    if (out.length === 0) out.push(e.from);
    out.push(e.to);
  }
  return out;
}

/** curl in one namespace fetches a page from nginx in another, over a veth pair; tshark records it. */
async function captureCurlNginx(): Promise<{ dir: string; pcap: string }> {
  const h = new NetnsHarness();
  const dir = mkdtempSync(join(tmpdir(), 'synack-lab-nginx-'));
  try {
    const a = await h.create();
    const b = await h.create();
    await h.veth(a, b, { addrA: ['198.18.9.1/24'], addrB: ['198.18.9.2/24'] });
    const www = join(dir, 'www');
    spawnSync('mkdir', ['-p', www, join(dir, 'body')]);
    writeFileSync(join(www, 'index.html'), 'hello from nginx\n'.repeat(50));
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `daemon off; master_process off; user root; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 16; }
http { access_log off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/body; fastcgi_temp_path ${dir}/body;
  uwsgi_temp_path ${dir}/body; scgi_temp_path ${dir}/body; server { listen 198.18.9.2:8080; root ${www}; } }
`,
    );
    b.spawn('nginx', ['-e', `${dir}/error.log`, '-p', dir, '-c', conf]);
    // nginx is up when curl gets the page; only then start the capture, so it holds one exchange.
    let up = false;
    for (let i = 0; i < 50 && !up; i++) {
      up = (await a.exec('curl', ['-sS', '-o', '/dev/null', '--max-time', '2', 'http://198.18.9.2:8080/'])).code === 0;
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(up, 'nginx answers');
    await new Promise((r) => setTimeout(r, 200));
    const pcap = join(dir, 'curl-nginx.pcap');
    const cap = a.spawn('tshark', ['-i', 'veth0', '-F', 'pcap', '-w', pcap, '-f', 'tcp port 8080']);
    await waitText(cap, 'Capture started', 10_000);
    const got = await a.exec('curl', ['-sS', '-o', '/dev/null', '--max-time', '5', 'http://198.18.9.2:8080/']);
    assert.equal(got.code, 0, `curl: ${got.stderr}`);
    // Give the close (and TIME-WAIT's last ACK) time to be captured, then stop tshark.
    await new Promise((r) => setTimeout(r, 500));
    cap.kill('SIGINT');
    await new Promise<void>((r) => (cap.exitCode !== null ? r() : cap.once('exit', () => r())));
    return { dir, pcap };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    await h.cleanup();
  }
}

function waitText(child: ChildProcess, text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}": ${seen}`)), ms);
    const on = (d: Buffer): void => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}
