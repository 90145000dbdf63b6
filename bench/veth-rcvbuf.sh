#!/bin/bash
# The kernel's receive-buffer autotuning to compare synack's with (docs/performance.md, "Receive-buffer
# autotuning"): kernel -> kernel over a veth pair in two throwaway namespaces (198.18.7.0/24), a 4 GiB
# transfer from a Python sender to a Python reader of 256 KiB recv()s, the receiver's rb (sk_rcvbuf),
# rcv_rtt, rcv_space, rcv_ssthresh (ss -tmi) sampled every 5 ms. Root only; the namespaces go on exit.
# synack's side: node --import tsx bench/tun.ts --dir k2s --mib 512 --runs 2
set -e
A=drsA$$; B=drsB$$
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; }
OUT=$(mktemp)
trap 'cleanup; rm -f $OUT' EXIT
ip netns add $A; ip netns add $B
ip link add vA netns $A type veth peer name vB netns $B
ip -n $A addr add 198.18.7.1/24 dev vA; ip -n $B addr add 198.18.7.2/24 dev vB
ip -n $A link set vA up; ip -n $B link set vB up; ip -n $A link set lo up; ip -n $B link set lo up
ip netns exec $B python3 -c '
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("198.18.7.2",5001)); s.listen(1)
c,_=s.accept(); n=0
while True:
    d=c.recv(262144)
    if not d: break
    n+=len(d)
print("received", n)
' &
RX=$!
sleep 0.3
( for i in $(seq 1 600); do ip netns exec $B ss -tmiH state established 2>/dev/null | tr '\n' ' ' | grep -o 'rb[0-9]*\|rcv_rtt:[0-9.]*\|rcv_space:[0-9]*\|rcv_ssthresh:[0-9]*\|rcv_wnd:[0-9]*' | tr '\n' ' '; echo; sleep 0.005; done ) > $OUT &
SS=$!
ip netns exec $A python3 -c '
import socket,time
s=socket.create_connection(("198.18.7.2",5001)); b=b"x"*1048576; t=time.time()
for i in range(4096): s.sendall(b)
s.close(); print("sent 4096 MiB in %.2f s" % (time.time()-t))
'
wait $RX
kill $SS 2>/dev/null || true
grep -v '^$' $OUT | awk 'NR<=12||NR%20==0' | head -40
