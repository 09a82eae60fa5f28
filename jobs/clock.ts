import type { Clock } from './types.js';

/**
 * The machine's wall clock. Its onChange never fires: the scheduler notices steps of the
 * system clock (NTP, a Pi booting in 1970) through its sleep cap instead (jobs/scheduler.ts).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  onChange: () => () => {},
};

export interface ManualClock extends Clock {
  /** Moves time forward (or back, with a negative ms) and wakes every listener. */
  advance(ms: number): void;
  /** Jumps to an absolute time and wakes every listener. */
  set(ms: number): void;
}

/** A clock that moves only when told to: tests move it instead of sleeping. */
export function createManualClock(startMs: number): ManualClock {
  let t = startMs;
  const listeners = new Set<() => void>();
  const fire = () => {
    for (const l of [...listeners]) l();
  };
  return {
    manual: true,
    now: () => t,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    advance(ms) {
      t += ms;
      fire();
    },
    set(ms) {
      t = ms;
      fire();
    },
  };
}
