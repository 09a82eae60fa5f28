// A backup in its own process, for the kill -9 test: run with `process.execPath` on the
// built dist/ code. After <stopAfter> files have been copied it prints "MIDCOPY <name>"
// and blocks its thread, so the test kills it -9 in the middle of the copy, every time.
// usage: node backup-crash-child.mjs <dataDir> <stopAfter>
import path from 'node:path';
import { openStorage } from '../../dist/storage/database.js';
import { dataDirLayout } from '../../dist/storage/data-dir.js';
import { createBackup, listBackups } from '../../dist/backup/index.js';

const [dataDir, stopAfter] = process.argv.slice(2);
const layout = dataDirLayout(dataDir);
const storage = openStorage(layout.database);
await createBackup({
  sqlite: storage.sqlite,
  layout,
  now: Date.now(),
  hearthVersion: 'crash-test',
  onProgress(p) {
    if (p.phase === 'files' && p.files === Number(stopAfter)) {
      const mine = listBackups(layout.backups).find((b) => b.incomplete);
      process.stdout.write(`MIDCOPY ${mine ? path.basename(mine.dir) : '?'}\n`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  },
});
process.stdout.write('FINISHED\n');
