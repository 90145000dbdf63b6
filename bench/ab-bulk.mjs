// One process of an A/B bulk comparison between compiled trees: 6 warm-up transfers, then `runs` measured ones; prints "median max" MB/s.
//
// node bench/ab-bulk.mjs <dist dir, e.g. dist> [mtu 1500] [MiB per transfer 16] [runs 9]
// Alternate two trees process by process (see docs/performance.md): the shared machine moves both.
const [distArg = "dist", mtu = "1500", mib = "16", runs = "9"] = process.argv.slice(2);
const dist = new URL(distArg.endsWith("/") ? distArg : `${distArg}/`, `file://${process.cwd()}/`).href.replace(/\/$/, "");
const { stackBench } = await import(`${dist}/bench/stack-pair.js`);
for (let i = 0; i < 6; i++) await stackBench.bulk(Number(mtu), Number(mib) * 1048576);
const out = [];
for (let i = 0; i < Number(runs); i++) out.push((await stackBench.bulk(Number(mtu), Number(mib) * 1048576)).mbps);
out.sort((a, b) => a - b);
console.log(`${out[out.length >> 1].toFixed(0)} ${out[out.length - 1].toFixed(0)}`);
