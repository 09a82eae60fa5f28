import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseMember, exportFamilyToFile, importFamily, registerErasureHook, registerPortableTable } from '../portability/index.js';
import { CLI_ACTOR } from '../server/identity/context.js';
import { seedFamily, startTestServer, tempDir, type Family, type TestServer } from './helpers/hearth.js';

// The hook the vault (migration 8, another branch) will use: one registerPortableTable call
// puts a table into export, import and erasure. Shown here with a stand-in table, created
// by hand in both servers' databases (this worker's registry only).
const CIPHER = Buffer.from([0, 1, 2, 250, 251, 252, 255]);
const SQL = `CREATE TABLE test_vault_entries (
  id TEXT PRIMARY KEY, family_id TEXT NOT NULL, owner_member_id TEXT NOT NULL, ciphertext BLOB, sealed TEXT NOT NULL, secret_note TEXT)`;

describe('the table registry (vault hook)', () => {
  let a: TestServer;
  let b: TestServer;
  let fam: Family;
  const hooked: string[] = [];

  beforeAll(async () => {
    a = await startTestServer();
    b = await startTestServer();
    for (const t of [a, b]) t.server.storage.sqlite.exec(SQL);
    registerPortableTable({ name: 'test_vault_entries', columns: ['id', 'family_id', 'owner_member_id', 'ciphertext', 'sealed'], memberWhere: 'owner_member_id = ?' });
    registerErasureHook((_sqlite, scope) => void hooked.push(`${scope.familyId}/${scope.memberId ?? '*'}`));
    fam = await seedFamily(a, 'Vault family', ['owner', 'adult']);
    const ins = a.server.storage.sqlite.prepare('INSERT INTO test_vault_entries (id, family_id, owner_member_id, ciphertext, sealed, secret_note) VALUES (?, ?, ?, ?, ?, ?)');
    ins.run('ve_1', fam.familyId, fam.members.owner!.id, CIPHER, 'c2VhbGVkLWZvci1vd25lcg', 'server-side secret');
    ins.run('ve_2', fam.familyId, fam.members.adult!.id, Buffer.alloc(0), 'c2VhbGVkLWZvci1hZHVsdA', 'server-side secret');
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('one call adds a table to export (listed columns only), import and member erasure', async () => {
    expect(() => registerPortableTable({ name: 'test_vault_entries', columns: ['id'] })).toThrow(/twice/);
    const out = path.join(tempDir('hearth-registry-'), 'f.tar');
    const r = await exportFamilyToFile({ layout: a.server.layout, familyId: fam.familyId, now: Date.now(), hearthVersion: 'test', out });
    expect(r.rows.test_vault_entries).toBe(2);
    expect(fs.readFileSync(out).includes('server-side secret')).toBe(false);
    await importFamily({ storage: b.server.storage, layout: b.server.layout, input: fs.createReadStream(out), now: Date.now() });
    const imported = b.server.storage.sqlite.prepare('SELECT id, owner_member_id, ciphertext, sealed, secret_note FROM test_vault_entries ORDER BY id').all();
    expect(imported).toEqual([
      { id: 've_1', owner_member_id: fam.members.owner!.id, ciphertext: CIPHER, sealed: 'c2VhbGVkLWZvci1vd25lcg', secret_note: null },
      { id: 've_2', owner_member_id: fam.members.adult!.id, ciphertext: Buffer.alloc(0), sealed: 'c2VhbGVkLWZvci1hZHVsdA', secret_note: null },
    ]);

    const report = eraseMember({ storage: a.server.storage, layout: a.server.layout }, fam.familyId, fam.members.adult!.id, CLI_ACTOR);
    expect(report.rows.test_vault_entries).toBe(1);
    expect(hooked).toEqual([`${fam.familyId}/${fam.members.adult!.id}`]);
    expect(a.server.storage.sqlite.prepare('SELECT id FROM test_vault_entries').pluck().all()).toEqual(['ve_1']);
  });
});
