import type { Command } from 'commander';
import { getFamily } from '../../server/identity/families.js';
import { listAudit } from '../../storage/audit.js';
import { addDataOption, withContext } from '../context.js';
import { CliError, printJson, printLine, printTable } from '../output.js';

/** An ISO 8601 time or a relative one (`24h`, `7d`) as ms since the epoch. */
export function parseWhen(flag: string, value: string, now = Date.now()): number {
  const rel = /^(\d+)([mhd])$/.exec(value);
  if (rel) return now - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) throw new CliError(`${flag} must be an ISO 8601 time (2026-12-01T08:00Z) or like 24h / 7d`);
  return t;
}

export function registerAudit(program: Command): void {
  addDataOption(program.command('audit').description("a family's audit trail, newest first (read from the database)"))
    .requiredOption('--family <id>', 'family id')
    .option('--since <when>', 'from this time: ISO 8601, or 24h / 7d ago')
    .option('--until <when>', 'before this time')
    .option('--action <action>', 'e.g. login.failure, or login for every login.*')
    .option('--member <id>', 'events by or on this member')
    .option('--device <id>', 'events by or on this device')
    .option('--limit <n>', 'at most this many (1-10000)', (v) => Number(v), 100)
    .option('--before <id>', 'the next page: events older than this id', (v) => Number(v))
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family: string; since?: string; until?: string; action?: string; member?: string; device?: string; limit: number; before?: number; json?: boolean }) => {
      if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 10_000) throw new CliError('--limit must be a whole number 1-10000');
      if (opts.before !== undefined && (!Number.isInteger(opts.before) || opts.before < 1)) throw new CliError('--before must be an event id');
      const since = opts.since === undefined ? undefined : parseWhen('--since', opts.since);
      const until = opts.until === undefined ? undefined : parseWhen('--until', opts.until);
      await withContext(opts, ({ identity, storage }) => {
        getFamily(identity, opts.family); // a mistyped id is an error, not an empty list
        const rows = listAudit(storage.db, opts.family, {
          limit: opts.limit, before: opts.before, action: opts.action, memberId: opts.member, deviceId: opts.device, since, until,
        });
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((r) => ({ ...r, at: new Date(r.at).toISOString(), actor: r.actorMemberId ?? r.ip ?? '', device: r.actorDeviceId ?? '', target: r.target ?? '' })),
          ['id', 'at', 'action', 'actor', 'device', 'target'],
        );
        const last = rows[rows.length - 1];
        if (rows.length === opts.limit && last) printLine(`more: --before ${last.id}`);
      }, { readOnly: true });
    });
}
