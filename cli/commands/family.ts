import type { Command } from 'commander';
import { createFamily, listFamilies } from '../../server/identity/families.js';
import { CLI_ACTOR } from '../../server/identity/context.js';
import { addDataOption, withContext } from '../context.js';
import { runLive } from '../admin-client.js';
import { CliError, printJson, printLine, printTable } from '../output.js';

export function registerFamily(program: Command): void {
  const family = program.command('family').description('families hosted on this server');

  addDataOption(family.command('create').description('create a family').argument('<name>', 'display name, e.g. "The Smiths"'))
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { data?: string; json?: boolean }) => {
      const trimmed = name.trim();
      if (!trimmed || trimmed.length > 100) throw new CliError('family name must be 1-100 characters');
      await withContext(opts, ({ identity }) => {
        const created = createFamily(identity, trimmed, CLI_ACTOR);
        if (opts.json) printJson(created);
        else printLine(`created family ${created.id} (${created.name})`);
      });
    });

  addDataOption(family.command('list').description('list families'))
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; json?: boolean }) =>
      withContext(opts, ({ identity }) => {
        const rows = listFamilies(identity).map((f) => ({ ...f, created: new Date(f.createdAt).toISOString() }));
        if (opts.json) printJson(listFamilies(identity));
        else printTable(rows, ['id', 'name', 'created']);
      }, { readOnly: true }),
    );

  addDataOption(
    family
      .command('delete')
      .description('erase a family: every row, document and media file (through the running server, so its sockets close)')
      .argument('<familyId>', 'family id')
      .option('--yes', 'really: this cannot be undone (older backups keep it until retention removes them)')
      .option('--json', 'machine-readable output'),
  ).action(async (familyId: string, opts: { data?: string; yes?: boolean; json?: boolean }) => {
    if (!opts.yes) throw new CliError(`this erases family ${familyId} and everything in it; run again with --yes (consider \`hearth export\` first)`);
    const { result, live } = await runLive(opts, 'family.delete', { familyId });
    const r = result as { members: number; documents: number; mediaFiles: number };
    if (opts.json) printJson({ ...r, live });
    else {
      printLine(`erased family ${familyId}: ${r.members} members, ${r.documents} documents, ${r.mediaFiles} media files${live ? ' (applied to the running server)' : ''}`);
      printLine('older backups still hold it until retention removes those backups (docs/portability.md)');
    }
  });
}
