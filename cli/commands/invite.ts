import type { Command } from 'commander';
import { createInvite, listInvites, type InviteRole } from '../../server/identity/invites.js';
import { CLI_ACTOR } from '../../server/identity/context.js';
import { getFamily } from '../../server/identity/families.js';
import { familyOfInvite } from '../../server/identity/lookup.js';
import { runLive } from '../admin-client.js';
import { addDataOption, withContext } from '../context.js';
import { CliError, printJson, printLine, printTable } from '../output.js';

const INVITE_ROLES = ['admin', 'adult', 'child', 'guest'];

export function registerInvite(program: Command): void {
  const invite = program.command('invite').description('invitations for new members');

  addDataOption(invite.command('create').description('create an invite code a new member redeems in the app'))
    .requiredOption('--family <id>', 'family id')
    .requiredOption('--role <role>', INVITE_ROLES.join(' | '))
    .option('--name <displayName>', 'who the invite is for')
    .option('--ttl-hours <hours>', 'how long the code stays valid', '72')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family: string; role: string; name?: string; ttlHours: string; json?: boolean }) => {
      if (!INVITE_ROLES.includes(opts.role)) throw new CliError(`role must be one of ${INVITE_ROLES.join(', ')}`);
      const ttlHours = Number(opts.ttlHours);
      if (!Number.isInteger(ttlHours) || ttlHours < 1 || ttlHours > 720) throw new CliError('--ttl-hours must be a whole number from 1 to 720');
      await withContext(opts, ({ identity }) => {
        const created = createInvite(identity, opts.family, { role: opts.role as InviteRole, displayName: opts.name, ttlHours }, CLI_ACTOR);
        if (opts.json) return printJson(created);
        printLine(`invite ${created.id} for a new ${created.role}, valid until ${new Date(created.expiresAt).toISOString()}`);
        printLine(`code: ${created.code}`);
      });
    });

  addDataOption(invite.command('list').description('list invites of a family'))
    .requiredOption('--family <id>', 'family id')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family: string; json?: boolean }) =>
      withContext(opts, ({ identity }) => {
        getFamily(identity, opts.family); // a mistyped id is an error, not an empty list
        const rows = listInvites(identity, opts.family);
        if (opts.json) printJson(rows);
        else printTable(rows.map((r) => ({ ...r, used: r.usedAt ? 'yes' : 'no', expires: new Date(r.expiresAt).toISOString() })), ['id', 'role', 'displayName', 'used', 'expires']);
      }, { readOnly: true }),
    );

  addDataOption(invite.command('revoke').description('revoke an open invite so its code no longer works'))
    .argument('<inviteId>', 'invite id (see `hearth invite list`)')
    .option('--json', 'machine-readable output')
    .action(async (inviteId: string, opts: { data?: string; json?: boolean }) => {
      const familyId = await withContext(opts, ({ identity }) => familyOfInvite(identity, inviteId), { readOnly: true });
      const { result } = await runLive(opts, 'invite.revoke', { familyId, inviteId });
      if (opts.json) printJson(result);
      else printLine(`revoked invite ${inviteId}`);
    });
}
