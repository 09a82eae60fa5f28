// Group-commit cost against document size: hearth's own storage layer (dist/), no server.
//   node src/commit-cost.js            (after `npm run build` in the repo root)
// Prints, per snapshot size, the time and WAL pages of one commit that appends one small
// update to a document holding a snapshot of that size. Both should stay flat: a commit
// must not touch the snapshot (it did while the snapshot sat inline in the row whose
// counters every commit updates).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { REPO_DIR } from './servers.js'

const { openStorage } = await import(path.join(REPO_DIR, 'dist/storage/database.js'))
const { DocumentStore } = await import(path.join(REPO_DIR, 'dist/storage/document-store.js'))

const COMMITS = 500
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-commit-cost-'))
const storage = openStorage(path.join(dir, 'hearth.db'))
storage.sqlite.prepare("INSERT INTO families (id, name, created_at) VALUES ('fam_bench', 'bench', 0)").run()
const store = new DocumentStore(storage)
const rows = []
for (const bytes of [1_000, 100_000, 1_000_000, 5_000_000]) {
  const name = `doc-${bytes}`
  const id = store.ensure('fam_bench', name)
  store.compact('fam_bench', id, new Uint8Array(bytes).fill(7))
  storage.sqlite.pragma('wal_checkpoint(TRUNCATE)')
  storage.sqlite.pragma('wal_autocheckpoint = 0')
  const t0 = performance.now()
  for (let i = 0; i < COMMITS; i++) store.append([{ familyId: 'fam_bench', name, documentId: id, chunks: [new Uint8Array(30).fill(i & 255)] }])
  const ms = (performance.now() - t0) / COMMITS
  const pages = fs.statSync(path.join(dir, 'hearth.db-wal')).size / 4096 / COMMITS
  storage.sqlite.pragma('wal_autocheckpoint = 1000')
  rows.push({ snapshot: bytes.toLocaleString('en-US') + ' B', 'ms per commit': ms.toFixed(3), 'WAL pages per commit': pages.toFixed(1) })
}
storage.close()
fs.rmSync(dir, { recursive: true, force: true })
console.table(rows)
