/**
 * A bounded in-memory queue of media ids to derive. Its durable state is the table
 * (rows with thumbnail = 'pending'): after a restart the repair pass refills it, so
 * nothing is lost when the process dies with work queued.
 */
export class WorkQueue {
  private readonly waiting: string[] = [];
  private readonly queued = new Set<string>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly work: (id: string) => Promise<void>,
    private readonly onError: (id: string, err: unknown) => void,
  ) {}

  get size(): number {
    return this.waiting.length + this.running;
  }

  push(id: string): void {
    if (this.stopped || this.queued.has(id)) return;
    this.queued.add(id);
    this.waiting.push(id);
    this.pump();
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes nothing new; resolves once the running items are done (the rest stays pending in the table). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    this.queued.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.running++;
      void this.work(id)
        .catch((err: unknown) => this.onError(id, err))
        .finally(() => {
          this.running--;
          this.queued.delete(id);
          this.pump();
          if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }
}
