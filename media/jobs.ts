import type { JobHandler, JobScheduler } from '../jobs/types.js';
import type { MediaService } from './service.js';

export const MEDIA_REPAIR_JOB = 'media.repair';
export const MEDIA_GC_JOB = 'media.gc';

/** The repair pass as a job: re-queues missing thumbnails/previews; payload `{ retryFailed?: boolean }`. */
export function mediaRepairHandler(media: MediaService): JobHandler {
  return (run) => {
    const payload = (run.job.payload ?? {}) as { retryFailed?: unknown };
    media.repair({ retryFailed: payload.retryFailed === true });
  };
}

/** The GC pass as a job: deleted bytes past the grace period, orphaned and stale temp files. */
export function mediaGcHandler(media: MediaService): JobHandler {
  return () => {
    media.gc();
  };
}

/**
 * Registers both and schedules them nightly. Re-declaring a keyed cron job with the same
 * rule keeps its armed slot, so this runs at every start and a night missed while the
 * machine was off still runs once after it comes back.
 */
export function registerMediaJobs(scheduler: JobScheduler, media: MediaService): void {
  scheduler.register(MEDIA_REPAIR_JOB, mediaRepairHandler(media));
  scheduler.register(MEDIA_GC_JOB, mediaGcHandler(media));
  scheduler.schedule({ kind: MEDIA_REPAIR_JOB, key: MEDIA_REPAIR_JOB, cron: '17 3 * * *' });
  scheduler.schedule({ kind: MEDIA_GC_JOB, key: MEDIA_GC_JOB, cron: '47 3 * * *' });
}
