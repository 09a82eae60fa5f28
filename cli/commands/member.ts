import type { Command } from 'commander';
import { ROLES, type Role } from '../../storage/schema.js';
import { addMember, listMembers } from '../../server/identity/members.js';
import { familyOfMember } from '../../server/identity/lookup.js';
import { getFamily } from '../../server/identity/families.js';
import { CLI_ACTOR } from '../../server/identity/context.js';
import { addDataOption, withContext } from '../context.js';
import { runLive } from '../admin-client.js';
import { readPassword } from '../password-input.js';
import { CliError, printJson, printLine, printTable } from '../output.js';

export function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new CliError(`role must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

export function registerMember(program: Command): void {
  const member = program.command('member').description('members of a family');

  addDataOption(member.command('add').description('add a member; the password is read from stdin or a prompt'))
    .requiredOption('--family <id>', 'family id')
    .requiredOption('--name <username>', 'login name (lowercase letters, digits, . _ -)')
    .requiredOption('--role <role>', ROLES.join(' | '), parseRole)
    .option('--display-name <name>', 'name shown to the family')
    .option('--no-password', 'device-only member (e.g. a child’s tablet): pair a device instead')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: { data?: string; family: string; name: string; role: Role; displayName?: string; password: boolean; json?: boolean }) => {
        const password = opts.password ? await readPassword(`password for ${opts.name}: `) : null;
        await withContext(opts, async ({ identity }) => {
          const created = await addMember(
            identity,
            opts.family,
            { username: opts.name, displayName: opts.displayName, role: opts.role, password },
            CLI_ACTOR,
          );
          if (opts.json) printJson(created);
          else printLine(`added ${created.role} ${created.username} (${created.id})`);
        });
      },
    );

  addDataOption(member.command('list').description('list the members of a family'))
    .requiredOption('--family <id>', 'family id')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family: string; json?: boolean }) =>
      withContext(opts, ({ identity }) => {
        getFamily(identity, opts.family); // a mistyped id is an error, not an empty list
        const rows = listMembers(identity, opts.family);
        if (opts.json) printJson(rows);
        else printTable(rows, ['id', 'username', 'displayName', 'role', 'hasPassword']);
      }, { readOnly: true }),
    );

  addDataOption(member.command('role').description("change a member's role (applies to live connections at once)"))
    .argument('<memberId>', 'member id')
    .argument('<role>', ROLES.join(' | '), parseRole)
    .option('--json', 'machine-readable output')
    .action(async (memberId: string, role: Role, opts: { data?: string; json?: boolean }) => {
      const familyId = await withContext(opts, ({ identity }) => familyOfMember(identity, memberId));
      const { result, live } = await runLive(opts, 'member.role', { familyId, memberId, role });
      if (opts.json) printJson(result);
      else printLine(`${memberId} is now ${role}${live ? ' (applied to the running server)' : ''}`);
    });

  addDataOption(member.command('remove').description('remove a member, their devices and sessions; with --erase also everything of theirs (GDPR erasure)'))
    .argument('<memberId>', 'member id')
    .option('--erase', 'also erase their private documents, inbox, uploads, channels, vault entries; the audit trail keeps a pseudonym (docs/portability.md)')
    .option('--json', 'machine-readable output')
    .action(async (memberId: string, opts: { data?: string; erase?: boolean; json?: boolean }) => {
      const familyId = await withContext(opts, ({ identity }) => familyOfMember(identity, memberId));
      const { result, live } = await runLive(opts, 'member.remove', { familyId, memberId, ...(opts.erase ? { erase: true } : {}) });
      const erased = (result as { erased?: { documents: number; mediaRows: number; mediaFiles: number; pseudonym: string } }).erased;
      if (opts.json) printJson({ removed: memberId, live, ...(erased ? { erased } : {}) });
      else if (erased) {
        printLine(`erased ${memberId}: ${erased.documents} documents, ${erased.mediaRows} uploads (${erased.mediaFiles} files deleted); the audit trail now calls them ${erased.pseudonym}${live ? ' (applied to the running server)' : ''}`);
        printLine('older backups still hold them until retention removes those backups (docs/portability.md)');
      } else printLine(`removed ${memberId}${live ? ' (applied to the running server)' : ''}`);
    });

  addDataOption(member.command('password').description("set a member's password (read from stdin or a prompt); optionally sign out their devices"))
    .argument('<memberId>', 'member id')
    .option('--revoke-sessions', 'also revoke every device of the member (live connections close at once)')
    .option('--json', 'machine-readable output')
    .action(async (memberId: string, opts: { data?: string; revokeSessions?: boolean; json?: boolean }) => {
      const familyId = await withContext(opts, ({ identity }) => familyOfMember(identity, memberId), { readOnly: true });
      const password = await readPassword(`new password for ${memberId}: `);
      const { result, live } = await runLive(opts, 'member.password', { familyId, memberId, password, revokeSessions: opts.revokeSessions ?? false });
      const r = result as { revokedDevices: number };
      if (opts.json) printJson(result);
      else printLine(`password set for ${memberId}${r.revokedDevices ? `, ${r.revokedDevices} device(s) revoked` : ''}${live ? ' (applied to the running server)' : ''}`);
    });
}
