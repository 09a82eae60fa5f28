export type { Clock, JobSpec, JobStatus, JobRecord, JobRun, JobHandler, JobScheduler } from './types.js';
export { systemClock, createManualClock, type ManualClock } from './clock.js';
export { createScheduler, type PersistentScheduler, type SchedulerOptions, type RegisterOptions, type JobDetail, type JobListFilter } from './scheduler.js';
export { nextCronSlot, checkCron } from './cron.js';
