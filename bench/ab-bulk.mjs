// One process of an A/B bulk comparison between compiled trees: 6 warm-up transfers, then `runs` measured ones;
// prints "median max" MB/s (wall) and the median CPU ns per data segment (user + system, process.cpuUsage),
// which a busy machine moves less than wall-clock throughput.
//
// node bench/ab-bulk.mjs <dist dir, e.g. dist> [mtu 1500] [MiB per transfer 16] [runs 9] [batch|packets]
// ("batch": the memory link hands over each instant's packets as one batch, so GRO joins segments;
// "packets": one by one; neither: the tree's default, which changed in session 6 from packets to
// batch, so name the mode when comparing trees across that change)
// Alternate two trees process by process (see docs/performance.md): the shared machine moves both.
const [distArg = "dist", mtu = "1500", mib = "16", runs = "9", mode = ""] = process.argv.slice(2);
if (mode !== "" && mode !== "batch" && mode !== "packets") throw new Error(`mode ${mode}: batch, packets or nothing`);
const batch = mode === "" ? undefined : mode === "batch";
const dist = new URL(distArg.endsWith("/") ? distArg : `${distArg}/`, `file://${process.cwd()}/`).href.replace(/\/$/, "");
const { stackBench } = await import(`${dist}/bench/stack-pair.js`);
const bytes = Number(mib) * 1048576;
for (let i = 0; i < 6; i++) await stackBench.bulk(Number(mtu), bytes, batch);
const out = [];
const cpu = [];
for (let i = 0; i < Number(runs); i++) {
  const c0 = process.cpuUsage();
  const r = await stackBench.bulk(Number(mtu), bytes, batch);
  const c = process.cpuUsage(c0);
  out.push(r.mbps);
  // Data segments in this transfer: wall seconds times segments per wall second.
  const segs = r.segmentsPerSec * (bytes / 1e6 / r.mbps);
  cpu.push(((c.user + c.system) * 1000) / segs);
}
out.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
console.log(`${out[out.length >> 1].toFixed(0)} ${out[out.length - 1].toFixed(0)} ${cpu[cpu.length >> 1].toFixed(0)}`);
