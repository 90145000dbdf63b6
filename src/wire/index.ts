// The public surface of wire/: header views, reprs, parse/emit, checksums, addresses, formatting, and the (pure) pcap reader/writer.
export * from './result.js';
export * from './bytes.js';
export * from './address.js';
export * from './seq.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './tcp.js';
export * from './udp.js';
export * from './icmp.js';
export * from './packet.js';
export * from './format.js';
export * from './pcap.js';
