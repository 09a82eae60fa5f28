// hearth in its own process for bench/media.js (so its RSS is its own): built dist/ code,
// seeds a family, prints "READY <url> <familyId> <token...>" with one token per device.
// usage: node media-server.mjs <dataDir> <devices>
import { loadConfig } from '../dist/server/config.js';
import { startServer } from '../dist/server/runtime.js';
import { createLogger } from '../dist/server/logger.js';
import { createFamily } from '../dist/server/identity/families.js';
import { addMember } from '../dist/server/identity/members.js';
import { CLI_ACTOR } from '../dist/server/identity/context.js';

const [dataDir, devicesArg] = process.argv.slice(2);
const config = { ...loadConfig({ env: {} }), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', adminSocket: false, familyQuotaBytes: 1024 ** 4, mediaMaxFileBytes: 64 * 1024 ** 3 };
const server = await startServer(config, { logger: createLogger('silent') });
const family = createFamily(server.identity, 'Bench', CLI_ACTOR);
const password = 'correct horse battery staple';
await addMember(server.identity, family.id, { username: 'mum', role: 'owner', password }, CLI_ACTOR);
const tokens = [];
for (let i = 0; i < Number(devicesArg ?? 1); i++) {
  const res = await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ familyId: family.id, username: 'mum', password, deviceName: `bench ${i}` }),
  });
  tokens.push((await res.json()).accessToken);
}
process.stdout.write(`READY ${server.url} ${family.id} ${tokens.join(' ')}\n`);
