// The real hearth server in its own process, for the jobs kill -9 test (built dist/ code).
// Seeds a family and member on first start and schedules one `test.crashy` job due now.
// That job's handler puts a notification in the member's inbox, then, on the first
// run only (CRASHY_HANG=1), prints "EFFECT" and never finishes: the test kills the
// process there. Prints "READY <url> <familyId> <memberId> <jobId>".
// usage: node jobs-crash-server.mjs <dataDir>
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../dist/server/config.js';
import { startServer } from '../../dist/server/runtime.js';
import { createLogger } from '../../dist/server/logger.js';
import { createFamily } from '../../dist/server/identity/families.js';
import { addMember } from '../../dist/server/identity/members.js';
import { CLI_ACTOR } from '../../dist/server/identity/context.js';

const [dataDir] = process.argv.slice(2);
const config = { ...loadConfig({ env: {} }), dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' };
const server = await startServer(config, { logger: createLogger('silent') });
const seedFile = path.join(dataDir, 'seed.json');
let seed;
if (fs.existsSync(seedFile)) seed = JSON.parse(fs.readFileSync(seedFile, 'utf8'));
else {
  const family = createFamily(server.identity, 'Crash', CLI_ACTOR);
  const member = await addMember(server.identity, family.id, { username: 'mum', role: 'owner', password: 'correct horse battery staple' }, CLI_ACTOR);
  seed = { familyId: family.id, memberId: member.id, jobId: null };
  fs.writeFileSync(seedFile, JSON.stringify(seed));
}
server.scheduler.register('test.crashy', async ({ job }) => {
  await server.notifier.notify(job.familyId, seed.memberId, { id: `crashy-${job.id}`, kind: 'test', title: 'Once only', body: 'from a job' });
  if (process.env.CRASHY_HANG === '1') {
    process.stdout.write('EFFECT\n');
    await new Promise(() => {});
  }
});
if (!seed.jobId) {
  seed.jobId = server.scheduler.schedule({ kind: 'test.crashy', familyId: seed.familyId, runAt: Date.now() + Number(process.env.CRASHY_DELAY_MS ?? 500), maxAttempts: 3 }).id;
  fs.writeFileSync(seedFile, JSON.stringify(seed));
}
process.stdout.write(`READY ${server.url} ${seed.familyId} ${seed.memberId} ${seed.jobId}\n`);
