// synack's main entry point: the Stack, links, clocks, randomness, the TCP connection and its
// configuration, and trace events. Wire-format helpers are under "synack/wire", browser streams
// under "synack/web".
export * from './stack/index.js';
export { TcpConnection } from './tcp/connection.js';
export type { TcpHooks, TcpErrorCode } from './tcp/connection.js';
export { resolveConfig, DEFAULT_CONFIG, LINUX_PROFILE } from './tcp/config.js';
export type { TcpConfig, TcpConfigInput, KeepAliveConfig } from './tcp/config.js';
export type { TcpInfo, TcbInfo } from './tcp/info.js';
export type { Link } from './link/link.js';
export { createMemoryPair, MemoryLink } from './link/memory.js';
export type { MemoryPairOptions, MemoryLinkStats } from './link/memory.js';
export { createSimPair, SimEnd } from './link/sim.js';
export type { SimOptions, SimDirectionOptions, SimPacketEvent, SimFate, SimDirectionStats, SimPair, SimControl, BurstLossOptions, ReorderOptions } from './link/sim.js';
export { tapLink, pcapTap } from './link/tap.js';
export type { PacketWriter, TapDirection } from './link/tap.js';
export { PcapWriter, PcapStreamReader, readPcap, LinkType } from './wire/pcap.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { VirtualClock } from './util/virtual-clock.js';
export type { RunOptions } from './util/virtual-clock.js';
export { RealtimeClock } from './util/realtime-clock.js';
export type { RealtimeClockOptions } from './util/realtime-clock.js';
export { cryptoRandom, seededRandom, randomFloat } from './util/random.js';
export type { RandomSource } from './util/random.js';
export type * from './trace/events.js';
export { EthernetInterface, addEthernetInterface, NeighbourCache, formatFrame, parseMac, formatMac, EtherType } from './ethernet/index.js';
export type { EthernetOptions, EthernetStats, EthernetAttachOptions, AddressSource, NeighbourEntry, NeighbourState, NeighbourTimings } from './ethernet/index.js';
