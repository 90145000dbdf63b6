// The public surface of ethernet/: frames, ARP, neighbour discovery, the neighbour cache, the
// Ethernet interface that sits between a Stack and a frame link, and frame formatting.
export * from './frame.js';
export * from './arp.js';
export * from './ndp.js';
export * from './neighbours.js';
export * from './interface.js';
export * from './attach.js';
export * from './format.js';
export * from './dhcp.js';
