/**
 * Two token buckets (messages and bytes) in plain number fields: one of these lives on
 * every connection, so it stays small and allocates nothing per message.
 */
export class RateLimiter {
  private msgTokens: number;
  private byteTokens: number;
  private last: number;

  constructor(
    private readonly msgRate: number,
    private readonly msgBurst: number,
    private readonly byteRate: number,
    private readonly byteBurst: number,
    now = performance.now(),
  ) {
    this.msgTokens = msgBurst;
    this.byteTokens = byteBurst;
    this.last = now;
  }

  /** Takes one message of `bytes`; false when either bucket is empty. */
  take(bytes: number, now = performance.now()): boolean {
    const dt = (now - this.last) / 1000;
    if (dt > 0) {
      this.msgTokens = Math.min(this.msgBurst, this.msgTokens + dt * this.msgRate);
      this.byteTokens = Math.min(this.byteBurst, this.byteTokens + dt * this.byteRate);
      this.last = now;
    }
    // A single message larger than the burst could never pass; it only has to drain the bucket.
    const cost = Math.min(bytes, this.byteBurst);
    if (this.msgTokens < 1 || this.byteTokens < cost) return false;
    this.msgTokens -= 1;
    this.byteTokens -= cost;
    return true;
  }
}
