// A sync server in its own process, for crash tests: run with `process.execPath` on
// the built dist/ code. Prints "PORT <n>" once listening. Killed with SIGKILL by the test.
// usage: node sync-crash-server.mjs <dbFile> [port]
import http from 'node:http';
import pino from 'pino';
import { openStorage } from '../../dist/storage/database.js';
import { createSyncService } from '../../dist/sync/service.js';

const [dbFile, portArg] = process.argv.slice(2);
const storage = openStorage(dbFile);
storage.sqlite
  .prepare('INSERT INTO families (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
  .run('fam1', 'fam1', Date.now());

const principals = {
  'tok-writer': { familyId: 'fam1', memberId: 'w', deviceId: 'dev-w', role: 'adult' },
  'tok-reader': { familyId: 'fam1', memberId: 'r', deviceId: 'dev-r', role: 'adult' },
  'tok-fresh': { familyId: 'fam1', memberId: 'f', deviceId: 'dev-f', role: 'adult' },
};

const service = createSyncService({
  storage,
  logger: pino({ level: process.env.HEARTH_TEST_LOG ?? 'silent' }),
  authenticate: async (_req, token) => (token && principals[token]) || null,
  familyExists: (id) => id === 'fam1',
});

const server = http.createServer((_req, res) => res.writeHead(404).end());
server.on('upgrade', (req, socket, head) => service.handleUpgrade(req, socket, head));
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
