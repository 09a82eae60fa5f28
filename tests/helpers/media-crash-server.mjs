// The real hearth server in its own process, for the media kill -9 test: run with
// `process.execPath` on the built dist/ code. Seeds one family and member on first start,
// prints "READY <url> <familyId> <accessToken>". Killed with SIGKILL by the test.
// usage: node media-crash-server.mjs <dataDir>
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../dist/server/config.js';
import { startServer } from '../../dist/server/runtime.js';
import { createLogger } from '../../dist/server/logger.js';
import { createFamily } from '../../dist/server/identity/families.js';
import { addMember } from '../../dist/server/identity/members.js';
import { CLI_ACTOR } from '../../dist/server/identity/context.js';

const [dataDir] = process.argv.slice(2);
const config = { ...loadConfig({ env: {} }), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', adminSocket: false };
const server = await startServer(config, { logger: createLogger('silent') });
const seedFile = path.join(dataDir, 'seed.json');
let seed;
if (fs.existsSync(seedFile)) seed = JSON.parse(fs.readFileSync(seedFile, 'utf8'));
else {
  const family = createFamily(server.identity, 'Crash', CLI_ACTOR);
  await addMember(server.identity, family.id, { username: 'mum', role: 'owner', password: 'correct horse battery staple' }, CLI_ACTOR);
  seed = { familyId: family.id };
  fs.writeFileSync(seedFile, JSON.stringify(seed));
}
const res = await fetch(`${server.url}/v1/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ familyId: seed.familyId, username: 'mum', password: 'correct horse battery staple', deviceName: 'crash test' }),
});
const { accessToken } = await res.json();
process.stdout.write(`READY ${server.url} ${seed.familyId} ${accessToken}\n`);
