// The start of every kill -9 test's child process: the real server on the built dist/
// code over a data dir that survives the kill, with one family and owner seeded on the
// first start and remembered in <dataDir>/seed.json for the starts after it.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../dist/server/config.js';
import { startServer } from '../../dist/server/runtime.js';
import { createLogger } from '../../dist/server/logger.js';
import { createFamily } from '../../dist/server/identity/families.js';
import { addMember } from '../../dist/server/identity/members.js';
import { CLI_ACTOR } from '../../dist/server/identity/context.js';

export const OWNER = { username: 'mum', password: 'correct horse battery staple' };

/** @returns {Promise<{ server: any, seed: { familyId: string, memberId: string } & Record<string, unknown>, saveSeed: () => void }>} */
export async function startSeededServer(dataDir, configOverrides = {}) {
  const config = { ...loadConfig({ env: {} }), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', ...configOverrides };
  const server = await startServer(config, { logger: createLogger('silent') });
  const seedFile = path.join(dataDir, 'seed.json');
  const saveSeed = () => fs.writeFileSync(seedFile, JSON.stringify(seed));
  let seed;
  if (fs.existsSync(seedFile)) seed = JSON.parse(fs.readFileSync(seedFile, 'utf8'));
  else {
    const family = createFamily(server.identity, 'Crash', CLI_ACTOR);
    const member = await addMember(server.identity, family.id, { username: OWNER.username, role: 'owner', password: OWNER.password }, CLI_ACTOR);
    seed = { familyId: family.id, memberId: member.id };
    saveSeed();
  }
  return { server, seed, saveSeed };
}
