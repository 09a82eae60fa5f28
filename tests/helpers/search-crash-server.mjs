// A sync server with search in its own process, for the kill -9 test: run with
// `process.execPath` on the built dist/ code. Prints "PORT <n>" once listening and
// "CAUGHT_UP" once the start-up catch-up is indexed. Killed with SIGKILL by the test.
// usage: node search-crash-server.mjs <dbFile> <debounceMs>
import http from 'node:http';
import pino from 'pino';
import { openStorage } from '../../dist/storage/database.js';
import { createSyncService } from '../../dist/sync/service.js';
import { createSearchService } from '../../dist/search/service.js';

const [dbFile, debounceArg] = process.argv.slice(2);
const storage = openStorage(dbFile);
storage.sqlite.prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run('fam1', 'fam1', Date.now());

const service = createSyncService({
  storage,
  logger: pino({ level: process.env.HEARTH_TEST_LOG ?? 'silent' }),
  authenticate: async (_req, token) => (token === 'tok-writer' ? { familyId: 'fam1', memberId: 'w', deviceId: 'dev-w', role: 'adult' } : null),
  familyExists: (id) => id === 'fam1',
});
const search = createSearchService({ sqlite: storage.sqlite, docs: service.docs, debounceMs: Number(debounceArg) });

const server = http.createServer((_req, res) => res.writeHead(404).end());
server.on('upgrade', (req, socket, head) => service.handleUpgrade(req, socket, head));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
  void search.start().then(() => process.stdout.write('CAUGHT_UP\n'));
});
