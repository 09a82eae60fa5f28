import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAdminOp } from '../server/admin-ops.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { seedFamily, startTestServer, type TestServer } from './helpers/hearth.js';

// Erasure reaches the vault: rows through the erasure hook, ciphertext files after commit.
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

function plant(familyId: string, owner: string, recipient: string, id: string) {
  const s = t.server.storage.sqlite;
  const now = Date.now();
  const dir = path.join(t.server.layout.vault, familyId);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${id}.bin`), Buffer.from(`ciphertext of ${id}`));
  s.prepare(`INSERT INTO vault_entries (family_id, id, owner_member_id, status, blob, bytes, last_checkin_at, created_at, updated_at)
    VALUES (?, ?, ?, 'sealed', ?, 20, ?, ?, ?)`).run(familyId, id, owner, `${id}.bin`, now, now, now);
  for (const [m, isOwner] of [[owner, 1], [recipient, 0]] as const) {
    s.prepare('INSERT INTO vault_sealed_keys (family_id, entry_id, member_id, sealed_key, is_owner) VALUES (?, ?, ?, ?, ?)').run(familyId, id, m, 'sealed', isOwner);
  }
  for (const m of [owner, recipient]) {
    s.prepare('INSERT OR IGNORE INTO vault_keys (family_id, member_id, public_key, wrapped, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(familyId, m, 'pk', 'wrapped', now, now);
  }
  return path.join(dir, `${id}.bin`);
}

const count = (sql: string, ...args: unknown[]) => (t.server.storage.sqlite.prepare(sql).get(...args) as { n: number }).n;

it('erasing a member takes their entries, files, key and sealed keys; the others keep theirs', async () => {
  const fam = await seedFamily(t, 'Vaulted', ['owner', 'adult', 'child']);
  const [owner, adult, child] = [fam.members.owner!.id, fam.members.adult!.id, fam.members.child!.id];
  const adultsFile = plant(fam.familyId, adult, child, 'ent_adult');
  const ownersFile = plant(fam.familyId, owner, adult, 'ent_owner');
  await runAdminOp(t.server.adminContext, 'member.remove', { familyId: fam.familyId, memberId: adult, erase: true }, CLI_ACTOR);
  expect(fs.existsSync(adultsFile)).toBe(false);
  expect(fs.existsSync(ownersFile)).toBe(true);
  expect(count('SELECT count(*) n FROM vault_entries WHERE owner_member_id = ?', adult)).toBe(0);
  expect(count('SELECT count(*) n FROM vault_sealed_keys WHERE member_id = ? OR entry_id = ?', adult, 'ent_adult')).toBe(0);
  expect(count('SELECT count(*) n FROM vault_keys WHERE member_id = ?', adult)).toBe(0);
  expect(count('SELECT count(*) n FROM vault_entries WHERE id = ?', 'ent_owner')).toBe(1);
  expect(count('SELECT count(*) n FROM vault_sealed_keys WHERE entry_id = ?', 'ent_owner')).toBe(1); // the owner's own

  await runAdminOp(t.server.adminContext, 'family.delete', { familyId: fam.familyId }, CLI_ACTOR);
  for (const table of ['vault_entries', 'vault_sealed_keys', 'vault_keys', 'vault_outbox']) {
    expect(count(`SELECT count(*) n FROM ${table} WHERE family_id = ?`, fam.familyId)).toBe(0);
  }
  expect(fs.existsSync(path.join(t.server.layout.vault, fam.familyId))).toBe(false);
});
