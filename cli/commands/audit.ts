import type { Command } from 'commander';
import { getFamily } from '../../server/identity/families.js';
import { listAudit } from '../../storage/audit.js';
import { addDataOption, withContext } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';

/** `hearth audit`: the family's audit trail, newest first, read-only from the database. */
export function registerAudit(program: Command): void {
  addDataOption(program.command('audit').description("a family's audit trail, newest first (read-only)"))
    .requiredOption('--family <id>', 'family id')
    .option('--since <iso>', 'only events at or after this time (ISO date or ms)')
    .option('--action <kind>', 'an action (device.revoke) or its prefix (device)')
    .option('--limit <n>', 'how many events', '100')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family: string; since?: string; action?: string; limit: string; json?: boolean }) =>
      withContext(opts, ({ identity }) => {
        getFamily(identity, opts.family);
        const limit = Number(opts.limit);
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new CliError('--limit must be a whole number from 1 to 10000');
        const since = opts.since === undefined ? undefined : /^\d+$/.test(opts.since) ? Number(opts.since) : Date.parse(opts.since);
        if (since !== undefined && !Number.isFinite(since)) throw new CliError('--since must be an ISO date or ms since epoch');
        if (opts.action !== undefined && !/^[a-z]+(\.[a-z]+)*$/.test(opts.action)) throw new CliError('--action must look like device or device.revoke');
        const rows = listAudit(identity.storage.db, opts.family, { limit, since, kind: opts.action });
        if (opts.json) printJson(rows);
        else printTable(rows.map((r) => ({ ...r, at: new Date(r.at).toISOString(), details: r.details ? JSON.stringify(r.details) : '' })), ['id', 'at', 'action', 'actorMemberId', 'actorDeviceId', 'target', 'ip', 'details']);
      }, { readOnly: true }),
    );
}
