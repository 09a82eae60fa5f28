import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { runLive } from '../admin-client.js';
import { reindexFamily } from '../search-reindex.js';
import { addDataOption } from '../context.js';
import { printJson, printLine } from '../output.js';

interface FamilyDocs {
  familyId: string;
  docs: number;
}

/** A bar on a terminal, a line per family otherwise, nothing with --json. */
function reporter(json: boolean, total: number) {
  if (json) return { family: (_f: string) => {}, tick: (_n: number) => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: 'reindex {family} [{bar}] {percentage}% | {value}/{total} documents | ETA {eta_formatted}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, total), 0, { family: '' });
    return { family: (f: string) => bar.update({ family: f }), tick: (n: number) => bar.increment(n), stop: () => bar.stop() };
  }
  let done = 0;
  return {
    family: (f: string) => process.stderr.write(`search reindex: family ${f}\n`),
    tick: (n: number) => {
      done += n;
      process.stderr.write(`search reindex: ${done}/${total} documents\n`);
    },
    stop: () => {},
  };
}

export function registerSearch(program: Command): void {
  const search = program.command('search').description('the full-text search index (on the running server when one runs)');

  addDataOption(search.command('reindex').description('rebuild the search index from scratch: every document and media record'))
    .option('--family <id>', 'only this family')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family?: string; json?: boolean }) => {
      const { result, live } = await runLive(opts, 'search.families', opts.family ? { familyId: opts.family } : {});
      const families = result as FamilyDocs[];
      const progress = reporter(Boolean(opts.json), families.reduce((n, f) => n + f.docs, 0));
      const summary: Array<{ familyId: string; documents: number }> = [];
      try {
        for (const f of families) {
          progress.family(f.familyId);
          const documents = await reindexFamily(opts, f.familyId, (n) => progress.tick(n));
          summary.push({ familyId: f.familyId, documents });
        }
      } finally {
        progress.stop();
      }
      if (opts.json) return printJson({ live, families: summary });
      for (const s of summary) printLine(`reindexed family ${s.familyId}: ${s.documents} documents and its media${live ? ' (on the running server)' : ''}`);
    });
}
