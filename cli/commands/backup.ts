import fs from 'node:fs';
import path from 'node:path';
import { recordAudit } from '../../storage/audit.js';
import { CLI_ACTOR } from '../../server/identity/context.js';
import type { Command } from 'commander';
import { applyRetention, createBackup, restoreBackup, RestoreError } from '../../backup/index.js';
import { versionInfo } from '../../server/version-info.js';
import { addDataOption, cliConfig, withContext } from '../context.js';
import { CliError, printJson, printLine } from '../output.js';
import { readPassword } from '../password-input.js';
import { byteReporter, mb } from '../progress.js';

type PassOpts = {
  passphraseFile?: string;
};

/** A passphrase from a file or stdin/prompt, never argv. */
async function passphrase(o: PassOpts): Promise<string> {
  if (o.passphraseFile) {
    const line = fs.readFileSync(o.passphraseFile, 'utf8').split(/\r?\n/)[0] ?? '';
    if (!line) throw new CliError(`--passphrase-file ${o.passphraseFile} is empty`);
    return line;
  }
  return readPassword('backup passphrase: ');
}

export function registerBackup(program: Command): void {
  addDataOption(
    program
      .command('backup')
      .description('make a verified backup: database (consistent while clients write), keys, and media copied incrementally')
      .option('--to <dir>', 'where backup dirs go (default: <data>/backups)')
      .option('--encrypt', 'encrypt everything with a passphrase (stdin or prompt, or --passphrase-file)')
      .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
      .option('--keep-daily <n>', 'then keep this many daily backups', (v) => Number(v))
      .option('--keep-weekly <n>', 'and this many weekly ones', (v) => Number(v))
      .option('--verify-all', 'also re-read every file linked from the previous backup, and copy afresh any that no longer matches')
      .option('--json', 'machine-readable output'),
  ).action(async (opts: { data?: string; to?: string; encrypt?: boolean; json?: boolean; keepDaily?: number; keepWeekly?: number; verifyAll?: boolean } & PassOpts) => {
    const pass = opts.encrypt || opts.passphraseFile ? await passphrase(opts) : undefined;
    const report = byteReporter(Boolean(opts.json), 'backup');
    await withContext(opts, async ({ storage, layout }) => {
      const result = await createBackup({
        sqlite: storage.sqlite,
        layout,
        to: opts.to,
        now: Date.now(),
        hearthVersion: versionInfo().version,
        passphrase: pass,
        verifyLinked: Boolean(opts.verifyAll),
        onProgress: (p) => report.update(p),
      });
      report.stop();
      recordAudit(storage.db, 'backup.create', CLI_ACTOR, {
        details: { name: result.name, files: result.files, bytes: result.bytes, copied: result.copied, linked: result.linked, encrypted: Boolean(pass) },
      });
      let removed: string[] = [];
      if (opts.keepDaily !== undefined || opts.keepWeekly !== undefined) {
        removed = applyRetention(opts.to ?? layout.backups, { daily: opts.keepDaily ?? 7, weekly: opts.keepWeekly ?? 4 });
      }
      if (opts.json) printJson({ ...result, removed });
      else {
        printLine(`backup ${result.name}: ${result.files} files, ${mb(result.bytes)} (${result.copied} copied, ${result.linked} linked), verified, in ${result.dir}`);
        for (const f of result.damaged) printLine(`warning: ${f} no longer matches its content hash in the data dir (disk damage?); backed up as it is`);
      }
    });
  });

  program
    .command('restore')
    .description('restore a backup dir into an empty data dir (or, with --force, move the old one aside first)')
    .argument('<from>', 'a backup dir, e.g. /var/lib/hearth/backups/20261202T031700Z')
    .requiredOption('--data <dir>', 'the data dir to restore into')
    .option('--force', 'the data dir is not empty: move it aside, then restore')
    .option('--passphrase-file <file>', 'passphrase of an encrypted backup (else stdin or a prompt)')
    .option('--json', 'machine-readable output')
    .action(async (from: string, opts: { data: string; force?: boolean; json?: boolean } & PassOpts) => {
      cliConfig(opts); // validates --data like every command
      if (!fs.existsSync(from)) throw new CliError(`no backup at ${from}`);
      let pass: string | undefined;
      try {
        const header = JSON.parse(fs.readFileSync(`${from}/backup.json`, 'utf8')) as { encrypted?: boolean };
        if (header.encrypted) pass = await passphrase(opts);
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`${from} is not a hearth backup (no readable backup.json)`);
      }
      try {
        const r = await restoreBackup({ from, dataDir: opts.data, force: opts.force, passphrase: pass, now: Date.now() });
        // Recorded in the restored database, after its hashes were verified: the trail says where it came from.
        await withContext({ ...opts, data: r.dataDir }, ({ storage }) =>
          recordAudit(storage.db, 'backup.restore', CLI_ACTOR, { details: { from: path.basename(from), files: r.files, movedAside: Boolean(r.movedAside) } }),
        );
        if (opts.json) printJson(r);
        else printLine(`restored ${r.files} files into ${r.dataDir}${r.movedAside ? ` (the old data dir is now ${r.movedAside})` : ''}`);
      } catch (err) {
        if (err instanceof RestoreError || err instanceof Error) throw new CliError(err.message);
        throw err;
      }
    });
}
