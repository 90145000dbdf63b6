// Where Linux would cut a burst of new data into TSO packets, so the runner can give a joined
// script packet the flags packetdrill sees. packetdrill joins consecutive live packets to match a
// longer script packet and keeps the headers of the last one (aggregate_packets); Linux forces PSH
// on every packet of more than one segment (__tcp_transmit_skb), so the joined packet has PSH
// exactly when Linux's last packet in it has two or more segments or was pushed itself. synack
// sends MSS-sized segments; this model replays tcp_write_xmit's packet sizes over them:
//   packet segments = min(tcp_tso_autosize, tcp_cwnd_test), where tcp_cwnd_test allows
//   min(max(cwnd / 2, 1), cwnd - in_flight) ("at least 2 GSO packets in flight") and
//   tcp_tso_autosize = max(pacing bytes per ~1 ms / mss, tcp_min_tso_segs) with the pacing rate
//   of tcp_update_pacing_rate (200% of cwnd * mss / srtt in slow start below ssthresh / 2, else
//   120%).

import type { TcpRepr } from '../wire/tcp.js';
import { TcpFlag } from '../wire/tcp.js';
import { add, sub } from '../wire/seq.js';
import type { TcpConnection } from '../tcp/connection.js';

/** sk_gso_max_size for a 64 KB GSO device (GSO_LEGACY_MAX_SIZE - MAX_TCP_HEADER - 1). */
const GSO_MAX = 65536 - 321;
/** sk_pacing_shift: TSO packets hold about 1 ms (2^-10 s) of the pacing rate. */
const PACING_SHIFT = 10;
/** tcp_tso_rtt_log: the small-RTT allowance halves per 2^9 us of min RTT. */
const TSO_RTT_LOG = 9;

export class LinuxTsoModel {
  /** Segments still to come in the current Linux packet (0: the next segment starts one). */
  #remaining = 0;
  #at = -1;
  #end: number | null = null;

  /** net.ipv4.tcp_min_tso_segs and the pacing ratios in percent, as the script's sysctls set them. */
  constructor(readonly sysctl: () => { minTsoSegs: number; ssRatio: number; caRatio: number }) {}

  /**
   * Whether new-data segment `seg`, captured at `at`, starts a Linux packet (else it continues the
   * one before, sent at the same instant). `conn` is its connection, read for cwnd, flight and RTT.
   */
  starts(seg: TcpRepr, at: number, conn: TcpConnection | null): boolean {
    const len = seg.payload.length;
    const continues = this.#remaining > 0 && at === this.#at && this.#end === seg.seq;
    this.#at = at;
    this.#end = add(seg.seq, len);
    if (continues) {
      this.#remaining--;
    } else {
      this.#remaining = (conn === null ? 1 : this.#packetSegs(conn, seg.seq)) - 1;
    }
    // A pushed segment ends its skb (the end of a write), and packets do not span skbs.
    if (seg.flags & (TcpFlag.PSH | TcpFlag.FIN)) this.#remaining = 0;
    return !continues;
  }

  /** A retransmission or pure ACK breaks the run. */
  other(): void {
    this.#remaining = 0;
    this.#end = null;
  }

  #packetSegs(conn: TcpConnection, seq: number): number {
    const st = conn.stats();
    const info = conn.info();
    const mss = Math.max(1, st.sndMss);
    const cwnd = Math.max(1, Math.floor(st.cwnd / mss));
    const inFlight = Math.ceil(Math.max(0, st.inFlight - Math.max(0, sub(info.sndNxt, seq))) / mss);
    const quota = cwnd > inFlight ? Math.min(Math.max(cwnd >> 1, 1), cwnd - inFlight) : 1;
    return Math.max(1, Math.min(quota, this.#autosize(st.rtt, cwnd, Math.ceil(st.unacked / mss), st.ssthresh / mss, mss)));
  }

  /** tcp_tso_autosize over tcp_update_pacing_rate; `srtt` in ms (0: no sample, no limit). */
  #autosize(srtt: number, cwnd: number, packetsOut: number, ssthresh: number, mss: number): number {
    const { minTsoSegs, ssRatio, caRatio } = this.sysctl();
    const srttUs = srtt * 1000;
    let bytes = GSO_MAX;
    if (srttUs > 0) {
      const ratio = (cwnd < ssthresh / 2 ? ssRatio : caRatio) / 100;
      const rate = (mss * Math.max(cwnd, packetsOut) * 1e6 * ratio) / srttUs; // bytes per second
      bytes = Math.floor(rate / 2 ** PACING_SHIFT);
      const r = Math.floor(srttUs / 2 ** TSO_RTT_LOG);
      if (r < 32) bytes += GSO_MAX >> r;
    }
    return Math.max(Math.floor(Math.min(bytes, GSO_MAX) / mss), minTsoSegs);
  }
}
