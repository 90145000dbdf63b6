// Fixtures for the packetdrill runner's tests (test/pdrill/).

/** A passive open to the point where accept() returns: listener fd 3, connection fd 4, MSS 1000. */
export const PASSIVE_OPEN = `0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257
+0  accept(3, ..., ...) = 4
`;
