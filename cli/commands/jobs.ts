import type { Command } from 'commander';
import type { JobDetail } from '../../jobs/scheduler.js';
import { runLive } from '../admin-client.js';
import { addDataOption } from '../context.js';
import { CliError, printJson, printLine, printTable } from '../output.js';

const STATUSES = ['pending', 'running', 'done', 'dead', 'cancelled'];
const when = (t: number | null) => (t === null ? '' : new Date(t).toISOString());

/** One line a person reads: payloads stay out (they may hold family content). */
function describe(job: JobDetail): Record<string, unknown> {
  return {
    id: job.id,
    kind: job.kind,
    family: job.familyId ?? '',
    status: job.status,
    runAt: when(job.runAt),
    schedule: job.cron ? `${job.cron} ${job.timezone ?? 'UTC'}` : '',
    attempts: `${job.attempts}/${job.maxAttempts}`,
    lastError: job.lastError ?? '',
  };
}

function printJob(job: JobDetail, json: boolean | undefined, verb?: string): void {
  if (json) return printJson(job);
  if (verb) printLine(`${verb} job ${job.id} (${job.kind}): ${job.status}, runs at ${when(job.runAt)}`);
  else for (const [k, v] of Object.entries({ ...describe(job), lastRunAt: when(job.lastRunAt), finishedAt: when(job.finishedAt) })) printLine(`${k.padEnd(10)} ${v}`);
}

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('scheduled work: reminders, digests, backups, media repair (on the running server when one runs)');

  addDataOption(jobs.command('list').description('list jobs, newest first'))
    .option('--family <id>', 'only this family’s jobs')
    .option('--status <status>', `only jobs in this state (${STATUSES.join(', ')})`)
    .option('--kind <kind>', 'only jobs of this kind, e.g. backup.nightly')
    .option('--limit <n>', 'at most this many (1-500)', (v) => Number(v), 50)
    .option('--cursor <cursor>', 'the next page, from an earlier --json answer')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family?: string; status?: string; kind?: string; limit: number; cursor?: string; json?: boolean }) => {
      if (opts.status && !STATUSES.includes(opts.status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}`);
      if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 500) throw new CliError('--limit must be a whole number 1-500');
      const args = { familyId: opts.family, status: opts.status, kind: opts.kind, limit: opts.limit, cursor: opts.cursor };
      const { result } = await runLive(opts, 'jobs.list', Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)), { readOnly: true });
      const page = result as { jobs: JobDetail[]; nextCursor: string | null };
      if (opts.json) return printJson(page);
      printTable(page.jobs.map(describe), ['id', 'kind', 'family', 'status', 'runAt', 'schedule', 'attempts', 'lastError']);
      if (page.nextCursor) printLine(`more: --cursor ${page.nextCursor}`);
    });

  const single = (name: string, description: string, op: 'jobs.show' | 'jobs.run' | 'jobs.retry' | 'jobs.cancel', verb?: string) =>
    addDataOption(jobs.command(name).description(description))
      .argument('<id>', 'job id (from `hearth jobs list`)')
      .option('--json', 'machine-readable output')
      .action(async (id: string, opts: { data?: string; json?: boolean }) => {
        const { result } = await runLive(opts, op, { id }, { readOnly: op === 'jobs.show' });
        printJob(result as JobDetail, opts.json, verb);
      });

  single('show', 'one job: schedule, attempts, last error', 'jobs.show');
  single('run', 'run a pending, done or dead job now', 'jobs.run', 'queued');
  single('retry', 'give a dead or cancelled job a fresh set of attempts', 'jobs.retry', 'retrying');
  single('cancel', 'cancel a pending or running job (a cron job stops recurring)', 'jobs.cancel', 'cancelled');
}
