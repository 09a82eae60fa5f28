// The real hearth server in its own process, for the jobs kill -9 test (built dist/ code).
// Seeds a family and member on first start and schedules one `test.crashy` job due now.
// That job's handler puts a notification in the member's inbox, then, on the first
// run only (CRASHY_HANG=1), prints "EFFECT" and never finishes: the test kills the
// process there. Prints "READY <url> <familyId> <memberId> <jobId>".
// usage: node jobs-crash-server.mjs <dataDir>
import { startSeededServer } from './crash-child.mjs';

const [dataDir] = process.argv.slice(2);
const { server, seed, saveSeed } = await startSeededServer(dataDir);
server.scheduler.register('test.crashy', async ({ job }) => {
  await server.notifier.notify(job.familyId, seed.memberId, { id: `crashy-${job.id}`, kind: 'test', title: 'Once only', body: 'from a job' });
  if (process.env.CRASHY_HANG === '1') {
    process.stdout.write('EFFECT\n');
    await new Promise(() => {});
  }
});
if (!seed.jobId) {
  seed.jobId = server.scheduler.schedule({ kind: 'test.crashy', familyId: seed.familyId, runAt: Date.now() + Number(process.env.CRASHY_DELAY_MS ?? 500), maxAttempts: 3 }).id;
  saveSeed();
}
process.stdout.write(`READY ${server.url} ${seed.familyId} ${seed.memberId} ${seed.jobId}\n`);
