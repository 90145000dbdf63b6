// The lab page: wires the run (engine.ts), the ladder (src/trace/svg.ts, the same renderer as
// `synack demo --svg`), the state diagram, the TCB panel, the inspector, the stories, pcap in and
// out, and live watching of a TUN stack (`--watch`) to the DOM. Everything is keyboard-operable.
import { renderSvg } from '../../src/trace/svg.js';
import { tcpPacketsFromPcap, groupConnections, inferConnection, type InferredConnection, type TcpPacketInfo } from '../../src/trace/infer.js';
import { readPcap } from '../../src/wire/pcap.js';
import type { SegmentEvent, TraceEvent, TcpStateName } from '../../src/trace/events.js';
import type { LadderOptions } from '../../src/trace/ladder.js';
import { scenarioNames, SCENARIOS } from '../../src/demo/scenarios.js';
import { demoPcap } from '../../src/demo/pcap.js';
import { tcpOfPacket } from '../../src/trace/packet.js';
import { LabRun, type Side } from './engine.js';
import { tcbOf, TCB_ROWS, type TcbView } from './tcb.js';
import { stateDiagramSvg, type DiagramMarks } from './state-diagram.js';
import { inspectSegment } from './inspector.js';
import { STORIES, beatReached } from './stories.js';
import { tr, hostName, causeText, ladderWords, type Lang, type TextKey } from './i18n.js';
import { esc } from './html.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`missing #${id}`);
  return el as T;
};

type Mode = { kind: 'run'; run: LabRun } | { kind: 'pcap'; name: string; conns: InferredConnection[]; pick: number; raw: Uint8Array[][] } | { kind: 'watch'; events: TraceEvent[]; pick: string | null };

const params = new URLSearchParams(location.search);
let lang: Lang = params.get('lang') === 'ko' || (params.get('lang') === null && navigator.language.startsWith('ko')) ? 'ko' : 'en';
let mode: Mode;
let playing = false;
let speed = 0.05;
let selected: number | null = null;
let relative = true;
let lastDrawn = -1;
let status = '';

// --- set-up -------------------------------------------------------------------------------------

function settings(): { seed: number; rtt: number; mss: number; bytes: number } {
  const num = (id: string, dflt: number, min: number, max: number): number => {
    const v = Number(($(id) as HTMLInputElement).value);
    return Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : dflt;
  };
  return { seed: num('seed', 1, 0, 2 ** 31), rtt: num('rtt', 20, 0, 5000), mss: 1460, bytes: num('bytes', 1000, 0, 1_000_000) };
}

function newRun(): void {
  const sc = ($('scenario') as HTMLSelectElement).value;
  mode = { kind: 'run', run: new LabRun(sc === 'free' ? null : sc, settings()) };
  selected = null;
  lastDrawn = -1;
  status = '';
  $('free-controls').hidden = sc !== 'free';
  render();
}

function applyLang(): void {
  applyTexts();
  lastDrawn = -1;
  render();
}

/** The interface's fixed texts in the current language. */
function applyTexts(): void {
  document.documentElement.lang = lang;
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-t]'))) el.textContent = tr(lang, el.dataset['t'] as TextKey);
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-t-aria]'))) el.setAttribute('aria-label', tr(lang, el.dataset['tAria'] as TextKey));
  const sel = $('scenario') as HTMLSelectElement;
  for (const o of Array.from(sel.options)) {
    if (o.value === 'free') o.textContent = tr(lang, 'freePlay');
    else o.textContent = `${o.value}: ${STORIES[o.value]?.title[lang] ?? ''}`;
  }
}

function fillScenarios(): void {
  const sel = $('scenario') as HTMLSelectElement;
  for (const name of scenarioNames()) sel.add(new Option(name, name));
  sel.add(new Option('free', 'free'));
  const want = params.get('scenario');
  sel.value = want !== null && (want in SCENARIOS || want === 'free') ? want : 'basic';
  if (params.get('seed') !== null) ($('seed') as HTMLInputElement).value = params.get('seed') ?? '1';
}

// --- time ---------------------------------------------------------------------------------------

/** Gaps of virtual time longer than this are fast-forwarded so that they take about FF_REAL ms. */
const FF_GAP = 1000;
const FF_REAL = 3000;
let lastFrame = 0;
let target = 0;

function frame(now: number): void {
  if (!playing || mode.kind !== 'run') return;
  const run = mode.run;
  const dt = Math.min(100, now - lastFrame);
  lastFrame = now;
  const next = run.nextAt();
  if (next === Infinity) {
    setPlaying(false);
    render();
    return;
  }
  target = Math.max(target, run.now());
  let rate = speed;
  const gap = next - target;
  if (gap > FF_GAP) {
    // A long wait (TIME-WAIT's 2*MSL, a backed-off timer): shown as it passes, just faster.
    rate = Math.max(speed, (next - run.now()) / FF_REAL);
    status = `${tr(lang, 'waiting')} ${(gap / 1000).toFixed(1)} s: ${tr(lang, 'fastForward')} ×${Math.round(rate * 1000)}`;
  } else status = '';
  target += dt * rate;
  run.runUntil(target);
  render();
  requestAnimationFrame(frame);
}

function setPlaying(on: boolean): void {
  playing = on;
  const b = $('play');
  b.textContent = tr(lang, on ? 'pause' : 'play');
  b.setAttribute('aria-pressed', String(on));
  if (on && mode.kind === 'run') {
    lastFrame = performance.now();
    target = mode.run.now();
    requestAnimationFrame(frame);
  }
}

// --- rendering ----------------------------------------------------------------------------------

function currentEvents(): { events: TraceEvent[]; left: string; right: string; raw: (Uint8Array | undefined)[] } {
  if (mode.kind === 'run') {
    const run = mode.run;
    const events = run.events();
    const tcp = run.world.packets.filter((p) => tcpOfPacket(p.data) !== null);
    return { events, left: 'client', right: 'server', raw: tcp.map((p) => p.data) };
  }
  if (mode.kind === 'pcap') {
    const c = mode.conns[mode.pick];
    return { events: c?.events ?? [], left: c?.client ?? '', right: c?.server ?? '', raw: mode.raw[mode.pick] ?? [] };
  }
  const pick = mode.pick;
  const events = mode.events.filter((e) => pick === null || e.conn === pick);
  return { events, left: 'synack', right: 'peer', raw: [] };
}

/** The ladder as drawn in the page's language (names, marks, notes, breaks). */
function ladderOptions(left: string, right: string): LadderOptions {
  return { left, right, absolute: !relative, words: ladderWords(lang), names: { left: hostName(lang, left), right: hostName(lang, right) } };
}

function render(): void {
  const { events, left, right, raw } = currentEvents();
  const segs = events.filter((e): e is SegmentEvent => e.type === 'segment' && ((e.from === left && e.to === right) || (e.from === right && e.to === left)));
  // The ladder: redrawn only when something new happened.
  const key = events.length * 2 + (relative ? 1 : 0);
  if (key !== lastDrawn) {
    const fresh = lastDrawn >= 0 ? segs.length : -1;
    lastDrawn = key;
    const svg = renderSvg(events, { ...ladderOptions(left, right), interactive: true }).replace(/^<\?xml[^>]*>\n/, '');
    const box = $('ladder');
    box.innerHTML = svg;
    const groups = box.querySelectorAll<SVGGElement>('g.seg');
    if (fresh > 0) groups[groups.length - 1]?.classList.add('fresh');
    if (selected !== null) groups[selected]?.classList.add('selected');
    box.scrollTop = box.scrollHeight;
  }
  renderStates(events, left, right);
  renderTcb();
  renderStory(events);
  $('inspector').innerHTML = selected === null ? `<p>${esc(tr(lang, 'pickSegment'))}</p>` : inspectSegment(segs, selected, raw[selected], lang);
  const t = mode.kind === 'run' ? mode.run.now() : 0;
  $('clock').textContent = mode.kind === 'run' ? `${tr(lang, 'time')} ${(t / 1000).toFixed(3)} s` : '';
  const settled = mode.kind === 'run' && mode.run.nextAt() === Infinity;
  $('status').textContent = settled ? tr(lang, 'done') : status;
}

function statesOf(events: readonly TraceEvent[], host: string): TcpStateName[] {
  const out: TcpStateName[] = [];
  for (const e of events) {
    if (e.type !== 'state' || e.host !== host) continue;
    if (out.length === 0) out.push(e.from);
    out.push(e.to);
  }
  return out;
}

function renderStates(events: readonly TraceEvent[], left: string, right: string): void {
  const marks: DiagramMarks = {};
  const hist: string[] = [];
  for (const [side, host] of [['client', left], ['server', right]] as const) {
    const list = statesOf(events, host);
    const cur = list[list.length - 1];
    if (cur !== undefined) {
      const prev = list[list.length - 2];
      marks[side] = prev === undefined ? { state: cur } : { state: cur, last: [prev, cur] };
    }
    hist.push(
      `<div><strong>${esc(hostName(lang, host))}</strong> <ol class="history" data-host="${side}" aria-label="${esc(hostName(lang, host))}">${list.map((s) => `<li>${s}</li>`).join('')}</ol></div>`,
    );
  }
  $('diagram').innerHTML = stateDiagramSvg(marks, { title: tr(lang, 'states'), client: tr(lang, 'client'), server: tr(lang, 'server'), send: tr(lang, 'sendAction'), event: (e) => causeText(lang, e) });
  $('history').innerHTML = hist.join('');
}

function fmt(v: number, k: keyof TcbView, view: TcbView, seq: 'snd' | 'rcv' | undefined): string {
  if (!Number.isFinite(v)) return '∞';
  if (k === 'rto' || k === 'nextTimer') return v.toFixed(0);
  if (seq === undefined || !relative) return String(v);
  const base = seq === 'snd' ? view.iss : view.irs;
  return `${v} (${(v - base) >>> 0})`;
}

function renderTcb(): void {
  const box = $('tcb');
  if (mode.kind !== 'run') {
    box.innerHTML = '';
    return;
  }
  const conns = mode.run.connections();
  const now = mode.run.now();
  const views: Record<Side, TcbView | null> = {
    client: conns.client === null ? null : tcbOf(conns.client, now),
    server: conns.server === null ? null : tcbOf(conns.server, now),
  };
  const head = `<tr><th></th><th scope="col">${tr(lang, 'client')}</th><th scope="col">${tr(lang, 'server')}</th></tr>`;
  const rows = TCB_ROWS.map((r) => {
    const cell = (side: Side): string => {
      const v = views[side];
      if (v === null) return `<td data-host="${side}" data-key="${r.key}">-</td>`;
      const raw = v[r.key];
      const text = typeof raw === 'number' ? fmt(raw, r.key, v, r.seq) : raw;
      return `<td data-host="${side}" data-key="${r.key}" data-value="${esc(String(raw))}">${esc(text)}</td>`;
    };
    return `<tr><th scope="row">${esc(r.labelKey === undefined ? r.label : tr(lang, r.labelKey))}</th>${cell('client')}${cell('server')}</tr>`;
  });
  box.innerHTML = `<table>${head}${rows.join('')}</table>`;
}

function renderStory(events: readonly TraceEvent[]): void {
  const box = $('story');
  if (mode.kind !== 'run' || mode.run.scenario === null) {
    box.innerHTML = '';
    return;
  }
  const story = STORIES[mode.run.scenario];
  if (story === undefined) return;
  const ended = mode.run.nextAt() === Infinity;
  const shown = story.beats.filter((b) => beatReached(b, events, ended));
  const desc = SCENARIOS[mode.run.scenario]?.description ?? '';
  const before = box.querySelectorAll('.beats li').length;
  box.innerHTML =
    `<h3>${esc(story.title[lang])}</h3>` +
    (lang === 'en' ? `<p class="desc">${esc(desc)}</p>` : '') +
    `<ol class="beats">${shown
      .map((b, i) => {
        const myth = b.myth === undefined ? '' : `<div class="myth"><p><strong>✗ ${tr(lang, 'myth')}:</strong> ${esc(b.myth.wrong[lang])}</p><p><strong>✓ ${tr(lang, 'fact')}:</strong> ${esc(b.myth.right[lang])}</p></div>`;
        return `<li${i === shown.length - 1 ? ' class="latest" aria-current="step"' : ''}>${esc(b.text[lang])}${myth}</li>`;
      })
      .join('')}</ol>`;
  // Keep the newest beat in view as the story goes on.
  // (The box only: scrolling the page would pull a phone's view away from the ladder.)
  const latest = box.querySelector<HTMLElement>('.beats li.latest');
  if (shown.length !== before && latest !== null) box.scrollTop = Math.max(0, latest.offsetTop + latest.offsetHeight - box.clientHeight + 8);
}

// --- files --------------------------------------------------------------------------------------

function download(name: string, data: Uint8Array | string, type: string): void {
  const blob = new Blob([typeof data === 'string' ? data : data.slice().buffer], { type });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function openPcap(name: string, bytes: Uint8Array): void {
  const parsed = tcpPacketsFromPcap(bytes);
  if (!parsed.ok) {
    $('pcap-status').textContent = `${tr(lang, 'pcapBad')}: ${parsed.error.message}`;
    return;
  }
  setPlaying(false);
  // The raw packets beside the parsed ones (same order, TCP only), so the inspector can show bytes.
  const file = readPcap(bytes);
  const tcpRaw = file.ok ? file.value.packets.map((r) => r.data).filter((d) => tcpOfPacket(d) !== null) : [];
  const packets = parsed.value.packets;
  const aligned = tcpRaw.length === packets.length && packets.every((p, i) => tcpOfPacket(tcpRaw[i]!)?.seg.seq === p.seq);
  const index = new Map<TcpPacketInfo, number>(packets.map((p, i) => [p, i]));
  const groups = groupConnections(packets);
  const conns = groups.map((g, i) => inferConnection(g, i + 1));
  const raw = groups.map((g) => (aligned ? g.map((p) => tcpRaw[index.get(p) ?? -1]!) : []));
  mode = { kind: 'pcap', name, conns, pick: 0, raw };
  const sel = $('pcap-conn') as HTMLSelectElement;
  sel.innerHTML = conns.map((c, i) => `<option value="${i}">${c.id}: ${esc(c.client)} → ${esc(c.server)}</option>`).join('');
  $('pcap-pane').hidden = conns.length === 0;
  $('pcap-status').textContent = `${name}: ${conns.length} ${tr(lang, 'pcapConns').toLowerCase()}`;
  selected = null;
  lastDrawn = -1;
  render();
}

// --- live watching (synack serve|get|nc --watch) ------------------------------------------------

function startWatch(): void {
  mode = { kind: 'watch', events: [], pick: null };
  $('watch-pane').hidden = false;
  $('run-controls').hidden = true;
  const src = new EventSource('/events');
  const sel = $('watch-conn') as HTMLSelectElement;
  src.onmessage = (m: MessageEvent<string>) => {
    if (mode.kind !== 'watch') return;
    const e = JSON.parse(m.data) as TraceEvent;
    mode.events.push(e);
    if (e.conn !== undefined && !Array.from(sel.options).some((o) => o.value === e.conn)) {
      sel.add(new Option(e.conn, e.conn));
      if (mode.pick === null) mode.pick = e.conn;
    }
    requestAnimationFrame(render);
  };
}

// --- wiring -------------------------------------------------------------------------------------

function wire(): void {
  $('lang').addEventListener('click', () => {
    lang = lang === 'en' ? 'ko' : 'en';
    applyLang();
  });
  $('scenario').addEventListener('change', () => {
    setPlaying(false);
    newRun();
  });
  $('restart').addEventListener('click', () => {
    setPlaying(false);
    newRun();
  });
  $('play').addEventListener('click', () => setPlaying(!playing));
  $('step').addEventListener('click', () => {
    setPlaying(false);
    if (mode.kind === 'run') mode.run.step();
    render();
  });
  $('to-end').addEventListener('click', () => {
    setPlaying(false);
    if (mode.kind !== 'run') return;
    while (mode.run.step());
    render();
  });
  $('speed').addEventListener('change', () => (speed = Number(($('speed') as HTMLSelectElement).value)));
  $('relative').addEventListener('change', () => {
    relative = ($('relative') as HTMLInputElement).checked;
    render();
  });
  const pick = (target: EventTarget | null): void => {
    const g = (target as Element | null)?.closest?.('g.seg[data-seg]');
    if (g === null || g === undefined) return;
    selected = Number(g.getAttribute('data-seg'));
    lastDrawn = -1;
    render();
    $('inspector').focus();
  };
  $('ladder').addEventListener('click', (e) => pick(e.target));
  $('ladder').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      pick(e.target);
    }
  });
  // Free play.
  const run = (): LabRun | null => (mode.kind === 'run' ? mode.run : null);
  const act = (fn: (r: LabRun) => void): (() => void) => () => {
    const r = run();
    if (r === null) return;
    fn(r);
    render();
  };
  $('connect').addEventListener('click', act((r) => r.connect()));
  for (const side of ['client', 'server'] as const) {
    $(`send-${side}`).addEventListener('click', act((r) => r.send(side, Math.max(1, Number(($(`n-${side}`) as HTMLInputElement).value) || 1))));
    $(`shutdown-${side}`).addEventListener('click', act((r) => r.shutdown(side)));
    $(`close-${side}`).addEventListener('click', act((r) => r.close(side)));
    $(`abort-${side}`).addEventListener('click', act((r) => r.abort(side)));
  }
  $('listening').addEventListener('change', act((r) => r.listen(($('listening') as HTMLInputElement).checked)));
  const linkInput = (): void => {
    const r = run();
    if (r === null) return;
    const v = (id: string): number => Number(($(id) as HTMLInputElement).value) || 0;
    r.setLink({ rtt: v('link-rtt'), loss: v('link-loss') / 100, reorder: v('link-reorder') / 100, rate: v('link-rate') });
  };
  for (const id of ['link-rtt', 'link-loss', 'link-reorder', 'link-rate']) $(id).addEventListener('change', linkInput);
  $('drop-next').addEventListener('click', act((r) => r.dropNext()));
  $('dup-next').addEventListener('click', act((r) => r.duplicateNext()));
  $('off-path').addEventListener('click', act((r) => void r.offPathAttack()));
  $('on-path').addEventListener('click', act((r) => void r.onPathAttack()));
  $('syn-flood').addEventListener('click', act((r) => r.synFlood()));
  // Files.
  $('dl-pcap').addEventListener('click', () => {
    if (mode.kind !== 'run') return;
    download(`synack-${mode.run.scenario ?? 'free'}.pcap`, demoPcap(mode.run.world.packets, Date.now() - mode.run.now()), 'application/vnd.tcpdump.pcap');
  });
  $('dl-svg').addEventListener('click', () => {
    const { events, left, right } = currentEvents();
    download('synack-ladder.svg', renderSvg(events, ladderOptions(left, right)), 'image/svg+xml');
  });
  const fileInput = $('pcap-file') as HTMLInputElement;
  fileInput.addEventListener('change', async () => {
    const f = fileInput.files?.[0];
    if (f !== undefined) openPcap(f.name, new Uint8Array(await f.arrayBuffer()));
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', async (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f !== undefined) openPcap(f.name, new Uint8Array(await f.arrayBuffer()));
  });
  $('pcap-conn').addEventListener('change', () => {
    if (mode.kind !== 'pcap') return;
    mode.pick = Number(($('pcap-conn') as HTMLSelectElement).value);
    selected = null;
    lastDrawn = -1;
    render();
  });
  $('watch-conn').addEventListener('change', () => {
    if (mode.kind !== 'watch') return;
    mode.pick = ($('watch-conn') as HTMLSelectElement).value;
    selected = null;
    lastDrawn = -1;
    render();
  });
  // Keyboard: space plays or pauses, "s" steps, when focus is not in a form field.
  document.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement;
    if (t.closest('input, select, textarea, button, [role=button]') !== null || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === ' ') {
      e.preventDefault();
      setPlaying(!playing);
    } else if (e.key === 's') $('step').click();
  });
}

fillScenarios();
wire();
applyTexts();
if (params.has('watch')) {
  startWatch();
  render();
} else newRun();
// Milliseconds from navigation start to the first run drawn (the load time docs/lab.md reports).
document.body.dataset['readyMs'] = String(Math.round(performance.now()));
document.body.dataset['ready'] = 'true';
