import fs from 'node:fs';
import type { Command } from 'commander';
import { exportFamilyToFile, ExportError, importFamily, ImportError } from '../../portability/index.js';
import { recordAudit } from '../../storage/audit.js';
import { CLI_ACTOR } from '../../server/identity/context.js';
import { createPairingToken } from '../../server/identity/pairing.js';
import { versionInfo } from '../../server/version-info.js';
import { addDataOption, withContext } from '../context.js';
import { CliError, printJson, printLine } from '../output.js';
import { byteReporter, mb } from '../progress.js';
import { lanUrl } from '../lan-url.js';
import { socketIsLive } from '../../server/admin-socket.js';
import { reindexFamily } from '../search-reindex.js';

/** Sign-in links after an import last three days: long enough to reach every member. */
const SIGN_IN_TTL_S = 3 * 86_400;

export function registerPortability(program: Command): void {
  addDataOption(
    program
      .command('export')
      .description("export one family (rows without secrets, documents, vault ciphertexts, media) as a tar file; works while the server runs")
      .requiredOption('--family <id>', 'family id')
      .requiredOption('--out <file>', 'the .tar file to write')
      .option('--no-derived', 'leave thumbnails and previews out (the importing server makes them again)')
      .option('--json', 'machine-readable output'),
  ).action(async (opts: { data?: string; family: string; out: string; derived: boolean; json?: boolean }) => {
    if (fs.existsSync(opts.out)) throw new CliError(`${opts.out} exists; give a new file name`);
    const report = byteReporter(Boolean(opts.json), 'export');
    await withContext(
      opts,
      async ({ layout, storage }) => {
        try {
          // The database is read on a connection of its own (one read transaction), so this is consistent while a server writes.
          const r = await exportFamilyToFile({
            layout,
            familyId: opts.family,
            now: Date.now(),
            hearthVersion: versionInfo().version,
            derived: opts.derived,
            out: opts.out,
            onProgress: (p) => report.update(p),
          });
          report.stop();
          recordAudit(storage.db, 'family.export', CLI_ACTOR, { familyId: opts.family, target: opts.family, details: { bytes: r.bytes } });
          if (opts.json) printJson(r);
          else
            printLine(
              `exported family ${r.familyId}: ${r.documents} documents, ${r.rows.vault_entries ?? 0} vault entries (${r.vaultFiles} files, ${mb(r.vaultBytes)}), ${r.mediaFiles} media files (${mb(r.mediaBytes)}), ${mb(r.bytes)} in ${r.file}`,
            );
        } catch (err) {
          report.stop();
          if (err instanceof ExportError) throw new CliError(err.message);
          throw err;
        }
      },
      { readOnly: true },
    );
  });

  addDataOption(
    program
      .command('import')
      .description('recreate an exported family on this server (same ids; refused if any of them is already here)')
      .argument('<file>', 'a .tar made by `hearth export` or GET /v1/families/:id/export')
      .option('--url <url>', 'server URL for the sign-in links (default: $HEARTH_PUBLIC_URL or this machine’s LAN address)')
      .option('--json', 'machine-readable output'),
  ).action(async (file: string, opts: { data?: string; url?: string; json?: boolean }) => {
    if (!fs.existsSync(file)) throw new CliError(`no file ${file}`);
    await withContext(opts, async ({ layout, storage, identity, config }) => {
      let result;
      try {
        result = await importFamily({
          storage,
          layout,
          input: fs.createReadStream(file),
          now: Date.now(),
          actor: CLI_ACTOR,
          onProgress: opts.json || !process.stderr.isTTY ? undefined : (p) => process.stderr.write(`\rimport: ${p.entries} entries, ${mb(p.bytes)}`),
        });
        if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
      } catch (err) {
        if (err instanceof ImportError) throw new CliError(`import refused, nothing changed: ${err.message}`);
        throw err;
      }
      // A running server only catches its search index up at start: have it index the new
      // family now, so its documents are found without a restart. Without a server, the next
      // start indexes them (they have no search rows yet). A failure here leaves the import
      // done: say so, and how to finish.
      let searchIndexed: number | null = null;
      if (await socketIsLive(layout.adminSocket)) {
        try {
          searchIndexed = await reindexFamily(opts, result.familyId);
        } catch (err) {
          process.stderr.write(`import: done, but the running server did not index the family for search (${(err as Error).message}); run: hearth search reindex --family ${result.familyId}\n`);
        }
      }
      // No secret travelled: every member gets a one-time sign-in link (a pairing token) to pair a device again.
      const server = opts.url ?? config.publicUrl ?? lanUrl(config.port);
      const signIn = result.members.map((m) => {
        const { token, expiresAt } = createPairingToken(identity, result.familyId, m.id, CLI_ACTOR, SIGN_IN_TTL_S);
        return { memberId: m.id, displayName: m.displayName, role: m.role, link: `hearth://pair?server=${encodeURIComponent(server)}&token=${token}`, expiresAt };
      });
      if (opts.json) return printJson({ ...result, searchIndexed, signIn });
      printLine(
        `imported family ${result.familyId} (${result.familyName}): ${result.members.length} members, ${result.documents} documents, ${result.rows.vault_entries ?? 0} vault entries (${result.vaultFiles} files), ${result.mediaFiles} media files`,
      );
      if (searchIndexed !== null) printLine(`the running server indexed its ${searchIndexed} documents for search`);
      printLine('no passwords or device credentials travel; each member signs in again with their one-time link (valid 3 days):');
      if (result.rows.vault_keys) printLine('vault keys travelled wrapped: after signing in, each member restores theirs with their vault passphrase');
      for (const s of signIn) printLine(`  ${s.displayName} (${s.role}, ${s.memberId}): ${s.link}`);
      printLine('to give a member a password login: hearth member password <memberId>');
    });
  });
}
