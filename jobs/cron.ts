import { Cron } from 'croner';

/** Throws a readable error for a bad expression or zone (scheduling validates with it). */
export function checkCron(expr: string, timezone?: string | null): void {
  nextCronSlot(expr, timezone ?? null, Date.now());
}

const cache = new Map<string, Cron>();

function cronFor(expr: string, timezone: string | null): Cron {
  const k = `${timezone ?? ''}\u0000${expr}`;
  let c = cache.get(k);
  if (!c) {
    c = new Cron(expr, { timezone: timezone ?? 'UTC', paused: true });
    if (cache.size > 1000) cache.clear();
    cache.set(k, c);
  }
  return c;
}

/**
 * The first slot strictly after `afterMs`, read in the IANA zone (UTC when none). A slot
 * that does not exist on a DST spring-forward day runs at the first instant after the gap
 * (croner's rule); an ambiguous autumn hour runs once. null when the expression has no
 * further slot.
 */
export function nextCronSlot(expr: string, timezone: string | null, afterMs: number): number | null {
  const next = cronFor(expr, timezone).nextRun(new Date(afterMs));
  return next ? next.getTime() : null;
}
