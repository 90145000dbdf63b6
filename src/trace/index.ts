// The trace package's public face: typed events and the ladder renderers (terminal, SVG, Mermaid),
// plus state inference from captured packets (RFC 9293 section 3.3.2 state names throughout).
export * from './events.js';
export * from './ladder.js';
export { renderSvg } from './svg.js';
export { renderMermaid } from './mermaid.js';
export { tcpPacketsFromPcap, groupConnections, inferConnection, inferConnections } from './infer.js';
export type { TcpPacketInfo, InferredConnection } from './infer.js';
export { tcpOfPacket, segmentEventOf, connLabelOf } from './packet.js';
export type { TcpOfPacket } from './packet.js';
