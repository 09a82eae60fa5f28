import { rateLimited } from '../errors.js';

/**
 * Counts failed attempts per account (not per IP: an attacker rotating addresses must
 * still hit the same wall). @fastify/rate-limit handles the per-IP side; it counts
 * requests, not failures, so it cannot express "5 wrong passwords then wait".
 */
export class FailedAttemptLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  assertAllowed(key: string): void {
    const now = Date.now();
    const list = this.recent(key, now);
    if (list.length >= this.maxFailures) throw rateLimited(Math.ceil((list[0]! + this.windowMs - now) / 1000));
  }

  recordFailure(key: string): void {
    const now = Date.now();
    this.failures.set(key, [...this.recent(key, now), now]);
    // Keep memory bounded under a flood of distinct keys.
    if (this.failures.size > 10_000) {
      for (const k of this.failures.keys()) {
        this.recent(k, now);
        if (this.failures.size <= 5_000) break;
      }
    }
  }

  reset(key: string): void {
    this.failures.delete(key);
  }
}
