import type { Command } from 'commander';
import { migrationStatus } from '../../storage/migrate.js';
import { addDataOption, withContext } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';

export function registerInit(program: Command): void {
  addDataOption(program.command('init').description('create the data dir, database and signing keys (safe to run again)'))
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; json?: boolean }) =>
      withContext(opts, ({ layout }) => {
        const result = { dataDir: layout.root, database: layout.database, keys: layout.keys };
        if (opts.json) return printJson(result);
        printLine(`hearth data dir ready at ${layout.root}`);
        printLine('next: hearth family create "Your Family"  then  hearth member add --family <id> --name <you> --role owner');
      }),
    );

  addDataOption(program.command('migrate').description('apply pending database migrations'))
    .option('--status', 'only show which migrations are applied')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; json?: boolean; status?: boolean }) =>
      // Opening the database applies pending migrations; --status reports afterwards too,
      // since a hearth that cannot migrate refuses to open at all.
      withContext(opts, ({ storage }) => {
        const status = migrationStatus(storage.sqlite).map((m) => ({
          ...m,
          applied: m.appliedAt !== null,
          appliedAt: m.appliedAt ? new Date(m.appliedAt).toISOString() : null,
        }));
        if (opts.json) return printJson(status);
        printTable(status, ['version', 'name', 'applied', 'appliedAt']);
      }),
    );
}
