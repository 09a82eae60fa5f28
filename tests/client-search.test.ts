import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHearthClient, HearthApiError, memoryStorage, type SearchPage } from '../client/index.js';
import { highlightParts } from '../web/src/lib/highlight.js';
import { backupSummary } from '../web/src/lib/backup.js';

// The search and backup-status contracts are built by other helpers in parallel, so these run
// against a stub fetch: what the client sends, what it hands back, how a 422 surfaces; and the
// web app's pure parts (highlight cutting, the backup panel's wording).

const session = {
  accessToken: 'access-1',
  refreshToken: 'refresh-1',
  accessExpiresAt: Date.now() + 3_600_000,
  expiresIn: 3600,
  familyId: 'fam_0000000000000001',
  memberId: 'mem_0000000000000001',
  deviceId: 'dev_0000000000000001',
  role: 'adult',
};

function stub(answer: (url: URL, init: RequestInit) => { status: number; body: unknown }) {
  const calls: { url: URL; init: RequestInit }[] = [];
  const f = async (input: string, init: RequestInit = {}) => {
    const url = new URL(input);
    calls.push({ url, init });
    const { status, body } = answer(url, init);
    return new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' } });
  };
  const client = createHearthClient({ baseUrl: 'http://hearth.test:8470', storage: memoryStorage({ ...session }), fetch: f });
  return { client, calls };
}

const PAGE: SearchPage = {
  results: [
    { kind: 'doc', doc: 'lists/abc', mediaId: null, title: 'Groceries', snippet: 'buy milk and <b>bread</b>', highlights: [[4, 8]], updatedAt: 1_764_000_000_000 },
    { kind: 'media', doc: null, mediaId: 'med_0000000000000001', title: 'milk.jpg', snippet: 'milk.jpg', highlights: [[0, 4]], updatedAt: 1_764_000_000_001 },
  ],
  nextCursor: 'c2',
};

describe('client.search', () => {
  it('sends q, limit and cursor to the family search route with the bearer token, and returns the page', async () => {
    const { client, calls } = stub(() => ({ status: 200, body: PAGE }));
    const page = await client.search('milk & bread', { limit: 20, cursor: 'c1' });
    expect(page).toEqual(PAGE);
    expect(calls).toHaveLength(1);
    const { url, init } = calls[0]!;
    expect(init.method).toBe('GET');
    expect(url.pathname).toBe('/v1/families/fam_0000000000000001/search');
    expect(Object.fromEntries(url.searchParams)).toEqual({ q: 'milk & bread', limit: '20', cursor: 'c1' });
    expect((init.headers as Record<string, string>).authorization).toBe('Bearer access-1');
  });

  it('leaves out what was not given', async () => {
    const { client, calls } = stub(() => ({ status: 200, body: { results: [], nextCursor: null } }));
    expect(await client.search('x')).toEqual({ results: [], nextCursor: null });
    expect([...calls[0]!.url.searchParams.keys()]).toEqual(['q']);
  });

  it('a bad query is a HearthApiError with the 422 code and details', async () => {
    const { client } = stub(() => ({
      status: 422,
      body: { error: { code: 'VALIDATION_FAILED', message: 'request querystring is invalid', details: [{ path: 'querystring/q', message: 'must NOT have fewer than 1 characters' }] } },
    }));
    const err = await client.search('').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HearthApiError);
    expect(err).toMatchObject({ status: 422, code: 'VALIDATION_FAILED', requestId: 'req-1', details: [{ path: 'querystring/q' }] });
  });

  it('a server without search answers 404, which the web app shows as not available', async () => {
    const { client } = stub(() => ({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no route', details: [] } } }));
    await expect(client.search('milk')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('an aborted search rejects (a newer query replaced it)', async () => {
    const ctl = new AbortController();
    const client = createHearthClient({
      baseUrl: 'http://hearth.test',
      storage: memoryStorage({ ...session }),
      fetch: (_input, init) =>
        // As fetch does: an already-aborted signal rejects at once, a later abort when it comes.
        new Promise((_resolve, reject) => {
          const fail = () => reject(new DOMException('aborted', 'AbortError'));
          if (init?.signal?.aborted) fail();
          init?.signal?.addEventListener('abort', fail);
        }),
    });
    const pending = client.search('milk', { signal: ctl.signal });
    ctl.abort();
    await expect(pending).rejects.toThrow(/no answer/);
  });

  it('backupStatus calls the family route and hands back its body', async () => {
    const body = { lastAttempt: null, lastVerified: null, verifiedCount: 0, nightly: null };
    const { client, calls } = stub(() => ({ status: 200, body }));
    expect(await client.backupStatus()).toEqual(body);
    expect(calls[0]!.url.pathname).toBe('/v1/families/fam_0000000000000001/backup-status');
  });
});

describe('search highlights (web/src/lib/highlight.ts)', () => {
  it('cuts the snippet at [start, end) offsets, marking the hits', () => {
    expect(highlightParts('buy milk and bread', [[4, 8], [13, 18]])).toEqual([
      { text: 'buy ', mark: false },
      { text: 'milk', mark: true },
      { text: ' and ', mark: false },
      { text: 'bread', mark: true },
    ]);
  });

  it('markup in the snippet stays text', () => {
    const parts = highlightParts('<img src=x onerror=alert(1)>', [[1, 4]]);
    expect(parts.map((p) => p.text).join('')).toBe('<img src=x onerror=alert(1)>');
    expect(parts[1]).toEqual({ text: 'img', mark: true });
  });

  it('clamps, sorts and merges untrusted offsets', () => {
    expect(highlightParts('abcdef', [[4, 99], [-3, 1], [0, 2], [3, 3], [5, 2]])).toEqual([
      { text: 'ab', mark: true },
      { text: 'cd', mark: false },
      { text: 'ef', mark: true },
    ]);
    expect(highlightParts('', [[0, 3]])).toEqual([{ text: '', mark: false }]);
  });

  it('for any snippet and offsets, the pieces join back to the snippet and marks never touch', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.array(fc.tuple(fc.integer({ min: -5, max: 50 }), fc.integer({ min: -5, max: 50 })), { maxLength: 8 }), (s, hs) => {
        const parts = highlightParts(s, hs);
        expect(parts.map((p) => p.text).join('')).toBe(s);
        for (let i = 1; i < parts.length; i++) expect(parts[i]!.mark && parts[i - 1]!.mark).toBe(false);
        for (const p of parts) if (p.mark) expect(p.text.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('backup panel wording (web/src/lib/backup.ts)', () => {
  const fmt = (ms: number) => `t${ms}`;
  it('404 is unknown; no backup warns; a failing nightly or an unfinished newer attempt is bad; old warns; fresh verified is ok', () => {
    const at = '2026-12-01T03:30:00.000Z';
    const good = { name: '20261201T033000Z', at, ageS: 3 * 3600, encrypted: true };
    const base = { lastAttempt: { name: good.name, at, result: 'verified' as const }, lastVerified: good, verifiedCount: 3, nightly: { status: 'pending', lastRunAt: 1, lastError: null } };
    expect(backupSummary(null, fmt)).toMatchObject({ tone: 'unknown', headline: 'Backup status: unknown' });
    expect(backupSummary({ lastAttempt: null, lastVerified: null, verifiedCount: 0, nightly: null }, fmt)).toMatchObject({ tone: 'warn', headline: 'No backup yet' });
    expect(backupSummary(base, fmt)).toEqual({
      tone: 'ok',
      headline: 'Backed up',
      lines: [`Last verified backup t${Date.parse(at)} (3 hours ago).`, 'Encrypted.', '3 verified backups kept.'],
    });
    expect(backupSummary({ ...base, nightly: { status: 'pending', lastRunAt: 2, lastError: 'disk full' } }, fmt)).toMatchObject({ tone: 'bad', lines: ['Error: disk full', expect.any(String), 'Encrypted.', expect.any(String)] });
    expect(backupSummary({ ...base, lastAttempt: { name: 'x', at: '2026-12-02T03:30:00.000Z', result: 'incomplete' } }, fmt).headline).toBe('The last backup did not finish');
    expect(backupSummary({ ...base, lastVerified: { ...good, ageS: 50 * 3600, encrypted: false } }, fmt)).toMatchObject({ tone: 'warn', headline: 'The last backup is old', lines: [expect.stringMatching(/50 hours ago/), 'Not encrypted.', '3 verified backups kept.'] });
  });
});
