import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, seedFamily, startTestServer, type TestServer, type Family } from './helpers/hearth.js';

describe('server smoke', () => {
  let t: TestServer;
  let fam: Family;
  beforeAll(async () => {
    t = await startTestServer();
    fam = await seedFamily(t);
  });
  afterAll(() => t.close());

  it('answers health and ready without a token', async () => {
    expect((await api(t.url, 'GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await api(t.url, 'GET', '/ready')).body).toEqual({ status: 'ready', checks: [] });
  });

  it('lists members for a member of the family', async () => {
    const res = await api(t.url, 'GET', `/v1/families/${fam.familyId}/members`, { token: fam.members.adult!.token });
    expect(res.status).toBe(200);
    expect(res.body.map((m: { role: string }) => m.role).sort()).toEqual(['adult', 'admin', 'child', 'guest', 'owner'].sort());
  });
});
