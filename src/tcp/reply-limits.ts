// Rate limits on the replies an attacker can provoke from a connection: challenge ACKs (RFC 5961
// section 7, a budget per one-second window) and ACKs to out-of-window segments without text (at
// most one per OOW_ACK_INTERVAL, as Linux's net.ipv4.tcp_invalid_ratelimit). Created on first use.

/** Least time between ACKs for out-of-window segments without text, ms (Linux: 500). */
export const OOW_ACK_INTERVAL = 500;

export class ReplyLimits {
  /** Challenge ACKs sent in the current one-second window, and when it began. */
  #challengeAcks = 0;
  #challengeWindowStart = -Infinity;
  /** When we last answered an out-of-window segment without text. */
  #lastOowAckAt = -Infinity;

  /** May an out-of-window segment without text be ACKed at `now`? Records the ACK when it may. */
  allowOutOfWindowAck(now: number): boolean {
    if (now - this.#lastOowAckAt < OOW_ACK_INTERVAL) return false;
    this.#lastOowAckAt = now;
    return true;
  }

  /** May a challenge ACK go out at `now` within `limit` per second? Counts it when it may. */
  allowChallengeAck(now: number, limit: number): boolean {
    if (now - this.#challengeWindowStart >= 1000) {
      this.#challengeWindowStart = now;
      this.#challengeAcks = 0;
    }
    if (this.#challengeAcks >= limit) return false;
    this.#challengeAcks++;
    return true;
  }
}
