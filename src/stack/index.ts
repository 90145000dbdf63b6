// The stack's public surface: Stack, its interfaces and routes, UDP sockets, TCP listeners.
export { Stack } from './stack.js';
export type { StackOptions, InterfaceOptions, StackStats, StackCounters, PingOptions, PingReply, StackConnection } from './stack.js';
export { StackCore } from './core.js';
export type { StackCoreOptions } from './core.js';
export type { GroCounters } from './gro.js';
export { Interface, RouteTable } from './route.js';
export type { Route, InterfaceAddress } from './route.js';
export { UdpSocket } from './udp.js';
export type { RemoteInfo, UdpAddressInfo } from './udp.js';
export { TcpListener } from './tcp-host.js';
export type { ConnectOptions, ListenOptions, ConnectionInfo } from './tcp-host.js';
export { Emitter } from './emitter.js';
export type { SynCookieMode } from '../tcp/listener.js';
export { EphemeralPorts, DEFAULT_EPHEMERAL } from './ports.js';
export type { PortRange } from './ports.js';
