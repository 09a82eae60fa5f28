import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { afterAll, describe, expect, it } from 'vitest';
import { inboxDocName, INBOX_ARRAY } from '../notifications/inbox.js';
import { runCli, startTestServer, tempDir } from './helpers/hearth.js';

const script = fileURLToPath(new URL('./helpers/jobs-crash-server.mjs', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Child { child: ChildProcess; url: string; familyId: string; memberId: string; jobId: string; effect: Promise<void> }

function start(dataDir: string, env: Record<string, string> = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    children.push(child);
    let out = '';
    let effectSeen: () => void = () => {};
    const effect = new Promise<void>((r) => (effectSeen = r));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('EFFECT')) effectSeen();
      const m = /READY (\S+) (\S+) (\S+) (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, familyId: m[2]!, memberId: m[3]!, jobId: m[4]!, effect });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
}

const stop = async (child: ChildProcess, signal: NodeJS.Signals) => {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
};

const jobsCli = async (dataDir: string, ...args: string[]) => {
  const r = await runCli(['jobs', ...args, '--data', dataDir, '--json']);
  if (r.code !== 0) throw new Error(`hearth jobs ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

describe('jobs across kill -9, and the jobs CLI', () => {
  it('kill -9 during a job: it runs again after restart and the inbox still holds one copy', async () => {
    const dataDir = tempDir('hearth-jobs-crash-');
    const first = await start(dataDir, { CRASHY_HANG: '1' });
    await first.effect; // the inbox entry is written, the completion is not
    await stop(first.child, 'SIGKILL');

    const second = await start(dataDir);
    // The lease of the dead process is reclaimed at start (same host, pid gone): no 5-minute wait.
    let job: { status: string; attempts: number } = { status: '', attempts: 0 };
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      job = await jobsCli(dataDir, 'show', second.jobId);
      if (job.status === 'done') break;
    }
    expect(job).toMatchObject({ status: 'done', attempts: 2 });
    await stop(second.child, 'SIGTERM');

    const t = await startTestServer({}, dataDir);
    try {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, await t.server.sync.service.docs.encodeState(first.familyId, inboxDocName(first.memberId)));
      const inbox = doc.getArray<{ id: string }>(INBOX_ARRAY).toArray();
      expect(inbox.map((n) => n.id)).toEqual([`crashy-${first.jobId}`]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('hearth jobs list|show|run|retry|cancel act on the running server through its admin socket, and on the database without one', async () => {
    const dataDir = tempDir('hearth-jobs-cli-');
    const live = await start(dataDir, { CRASHY_DELAY_MS: '3600000' }); // parked an hour ahead
    const parked = await runCli(['jobs', 'list', '--data', dataDir, '--family', live.familyId, '--kind', 'test.crashy', '--json']);
    expect(parked.code).toBe(0);
    expect(JSON.parse(parked.stdout).jobs.map((j: { id: string }) => j.id)).toEqual([live.jobId]);

    // Cancel, then retry, then run now: each answers with the job's new state.
    const cancelled = await jobsCli(dataDir, 'cancel', live.jobId);
    expect(cancelled.status).toBe('cancelled');
    const again = await runCli(['jobs', 'cancel', live.jobId, '--data', dataDir]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/only pending or running jobs are cancelled/);
    expect((await jobsCli(dataDir, 'retry', live.jobId)).status).toMatch(/pending|running|done/);
    const missing = await runCli(['jobs', 'show', 'no-such-job', '--data', dataDir]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no job no-such-job/);
    const bad = await runCli(['jobs', 'list', '--status', 'sleeping', '--data', dataDir]);
    expect(bad.code).not.toBe(0);

    // The retried job ran on the live server.
    let done = '';
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && done !== 'done'; await new Promise((r) => setTimeout(r, 50))) {
      done = (await jobsCli(dataDir, 'show', live.jobId)).status;
    }
    expect(done).toBe('done');
    const table = await runCli(['jobs', 'list', '--data', dataDir]);
    expect(table.stdout).toMatch(/test\.crashy/);
    expect(table.stdout).not.toMatch(/Once only/); // payloads and content stay out
    await stop(live.child, 'SIGTERM');

    // With no server: `run` only queues it in the table; the next start runs it.
    const queued = await jobsCli(dataDir, 'run', live.jobId);
    expect(queued.status).toBe('pending');
    const restarted = await start(dataDir);
    let status = '';
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && status !== 'done'; await new Promise((r) => setTimeout(r, 50))) {
      status = (await jobsCli(dataDir, 'show', live.jobId)).status;
    }
    expect(status).toBe('done');
    await stop(restarted.child, 'SIGTERM');
  }, 60_000);
});
