import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAccess } from '../sync/access.js';
import { api, expectError, seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';

// Private documents have the hard cap inbox documents have; doc-access changes,
// document deletes and pairing-token minting are audited.

describe('private documents and audited document/pairing actions', () => {
  let t: TestServer;
  let fam: Family;
  beforeAll(async () => {
    t = await startTestServer({ loginAttemptsPerMinute: 1000 });
    fam = await seedFamily(t, 'Private family', ['owner', 'admin', 'adult']);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(t.dataDir, { recursive: true, force: true });
  });

  const put = (token: string, body: unknown) => api(t.url, 'PUT', `/v1/families/${fam.familyId}/doc-access`, { token, body });

  it('refuses any override on private/ and inbox/ documents, whoever sets it', async () => {
    const { owner, admin, adult } = fam.members as Required<Family['members']>;
    const attempts = [
      // an admin opening the owner's private notes to themselves
      { docName: `private/${owner!.id}/diary`, subjectKind: 'member', subject: admin!.id, access: 'rw' },
      { docName: `private/${owner!.id}/diary`, subjectKind: 'role', subject: 'admin', access: 'ro' },
      // locking the owner out of their own
      { docName: `private/${owner!.id}/diary`, subjectKind: 'member', subject: owner!.id, access: 'none' },
      // another member's inbox
      { docName: `inbox/${adult!.id}`, subjectKind: 'member', subject: admin!.id, access: 'ro' },
    ];
    for (const token of [owner!.token, admin!.token]) {
      for (const body of attempts) expectError(await put(token, body), 403, 'FORBIDDEN');
    }
    expect(t.server.storage.sqlite.prepare('SELECT count(*) n FROM document_access').get()).toEqual({ n: 0 });
  });

  it('ignores override rows on personal documents even if one exists (older data)', () => {
    const me = { familyId: 'f', memberId: 'mem_a', deviceId: 'd', role: 'admin' as const };
    const other = { ...me, memberId: 'mem_b' };
    const rows = [
      { docName: 'private/mem_a/x', subjectKind: 'member' as const, subject: 'mem_b', access: 'rw' as const },
      { docName: 'private/mem_a/x', subjectKind: 'member' as const, subject: 'mem_a', access: 'none' as const },
      { docName: 'inbox/mem_a', subjectKind: 'role' as const, subject: 'admin', access: 'rw' as const },
    ];
    expect(resolveAccess(other, 'private/mem_a/x', rows as never)).toBe('none');
    expect(resolveAccess(me, 'private/mem_a/x', rows as never)).toBe('rw');
    expect(resolveAccess(other, 'inbox/mem_a', rows as never)).toBe('none');
    expect(resolveAccess(me, 'inbox/mem_a', rows as never)).toBe('ro');
  });

  it('audits doc-access set and clear, document delete and pairing-token minting', async () => {
    const { owner, adult } = fam.members;
    const body = { docName: 'lists/groceries', subjectKind: 'role', subject: 'child', access: 'ro' };
    expect((await put(owner!.token, body)).status).toBe(204);
    const cleared = await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/doc-access`, {
      token: owner!.token,
      body: { docName: body.docName, subjectKind: body.subjectKind, subject: body.subject },
    });
    expect(cleared.status).toBe(204);
    await t.server.sync.service.docs.transact(fam.familyId, 'lists/groceries', (doc) => doc.getMap('m').set('k', 'v'));
    expect((await api(t.url, 'DELETE', `/v1/families/${fam.familyId}/docs/lists/groceries`, { token: owner!.token })).status).toBe(204);
    const minted = await api(t.url, 'POST', `/v1/families/${fam.familyId}/members/${adult!.id}/pairing-tokens`, { token: owner!.token });
    expect(minted.status).toBe(201);

    const audit = await api(t.url, 'GET', `/v1/families/${fam.familyId}/audit`, { token: owner!.token });
    const events = (audit.body.events as { action: string; target: string; actorMemberId: string; details: any }[]).filter((e) =>
      ['doc.access.set', 'doc.access.clear', 'doc.delete', 'pairing.token.create'].includes(e.action),
    );
    expect(events.map((e) => [e.action, e.target, e.actorMemberId]).reverse()).toEqual([
      ['doc.access.set', 'lists/groceries', owner!.id],
      ['doc.access.clear', 'lists/groceries', owner!.id],
      ['doc.delete', 'lists/groceries', owner!.id],
      ['pairing.token.create', expect.stringMatching(/^pt_/), owner!.id],
    ]);
    expect(events.find((e) => e.action === 'pairing.token.create')!.details.memberId).toBe(adult!.id);
    // The token itself never lands in the audit trail.
    expect(JSON.stringify(audit.body)).not.toContain(minted.body.token);
  });
});
