import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ensureWebBuilt, expectError, startTestServer, type TestServer } from './helpers/hearth.js';
import { SetupGate } from '../server/identity/setup.js';

// The web app as hearth serves it at `/`, and first-run setup, over real HTTP.

describe('the web app at /', () => {
  let t: TestServer;
  beforeAll(async () => {
    await ensureWebBuilt();
    t = await startTestServer();
  }, 60_000);
  afterAll(async () => t?.close());

  it('serves index.html with a strict policy and no-cache; hashed assets are immutable', async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).not.toMatch(/'unsafe-eval'|'unsafe-inline'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    // No inline script: every <script> has a src.
    expect(html.match(/<script\b[^>]*>/g)!.every((tag) => / src="\/assets\//.test(tag))).toBe(true);
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${t.url}${js}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = asset.headers.get('etag')!;
    const again = await fetch(`${t.url}${js}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('ships a web manifest with icons and a service worker that is revalidated on every load', async () => {
    const manifest = await api(t.url, 'GET', '/manifest.webmanifest');
    expect(manifest.status).toBe(200);
    const m = typeof manifest.body === 'string' ? JSON.parse(manifest.body) : manifest.body;
    expect(m.display).toBe('standalone');
    expect(m.icons.map((i: { sizes: string }) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    for (const icon of m.icons) expect((await fetch(`${t.url}${icon.src}`)).status).toBe(200);
    const sw = await fetch(`${t.url}/sw.js`);
    expect(sw.status).toBe(200);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    const text = await sw.text();
    expect(text).toMatch(/const PRECACHE = \[.*"\/assets\//);
  });

  it('answers app routes with the app and never shadows the API, sync or ops endpoints', async () => {
    for (const route of ['/pair', '/lists/abc', '/setup', '/admin', '/signin', '/notes/x-1']) {
      const res = await fetch(`${t.url}${route}`);
      expect(res.status, route).toBe(200);
      expect(await res.text()).toContain('<div id="app">');
    }
    for (const route of ['/v1/nope', '/sync', '/metrics', '/v1/families/x/nope']) {
      const res = await api(t.url, 'GET', route);
      expect(res.headers.get('content-type'), route).toMatch(/application\/json/);
      expect(res.status, route).toBeGreaterThanOrEqual(400);
    }
    expectError(await api(t.url, 'GET', '/v1/nope'), 404, 'NOT_FOUND');
    expect((await api(t.url, 'GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await api(t.url, 'GET', '/ready')).status).toBe(200);
    // A missing file or an unknown path is a 404, not the app.
    expect((await fetch(`${t.url}/assets/nope.js`)).status).toBe(404);
    expectError(await api(t.url, 'GET', '/nope'), 404, 'NOT_FOUND');
    // A broken escape is refused (fastify answers 400), never a crash.
    expect([400, 404]).toContain((await fetch(`${t.url}/%E0%A4%A`)).status);
  });
});

describe('first-run setup', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.close());

  it('a fresh server offers a one-time link that creates the family and its owner, then dies', async () => {
    expect(t.server.setupUrl).toMatch(new RegExp(`^${t.url}/setup#[A-Za-z0-9_-]{43}$`));
    const token = t.server.setupUrl!.split('#')[1]!;
    expect((await api(t.url, 'GET', '/v1/setup')).body).toEqual({ setupRequired: true, setupLinkLive: true, familyId: null });
    const body = { token, familyName: 'The Smiths', username: 'Ann', password: 'correct horse battery', deviceName: 'laptop' };

    expectError(await api(t.url, 'POST', '/v1/setup', { body: { ...body, token: 'x'.repeat(43) } }), 401, 'UNAUTHORIZED');
    expectError(await api(t.url, 'POST', '/v1/setup', { body: { ...body, password: 'short' } }), 422, 'VALIDATION_FAILED');
    expectError(await api(t.url, 'POST', '/v1/setup', { body: { ...body, familyName: 7 } }), 422, 'VALIDATION_FAILED');
    expect((await api(t.url, 'GET', '/v1/setup')).body.setupRequired).toBe(true);

    const ok = await api(t.url, 'POST', '/v1/setup', { body });
    expect(ok.status).toBe(200);
    expect(ok.body.role).toBe('owner');
    const me = await api(t.url, 'GET', '/v1/me', { token: ok.body.accessToken });
    expect(me.body.member).toMatchObject({ username: 'ann', role: 'owner', hasPassword: true });

    expectError(await api(t.url, 'POST', '/v1/setup', { body }), 401, 'UNAUTHORIZED');
    expect((await api(t.url, 'GET', '/v1/setup')).body).toEqual({ setupRequired: false, setupLinkLive: false, familyId: ok.body.familyId });
    const login = await api(t.url, 'POST', '/v1/auth/login', {
      body: { familyId: ok.body.familyId, username: 'ann', password: body.password, deviceName: 'phone' },
    });
    expect(login.status).toBe(200);
  });

  it('the link expires after 30 minutes and is never offered once a family exists', async () => {
    let now = 1_000_000;
    const gate = new SetupGate(t.server.identity, () => now);
    // t's server has a family now (previous test): no link.
    expect(gate.open()).toBeNull();
    const fresh = await startTestServer();
    try {
      const g = new SetupGate(fresh.server.identity, () => now);
      const token = g.open()!;
      expect(g.live()).toBe(true);
      now += 30 * 60_000;
      expect(g.live()).toBe(false);
      await expect(g.complete({ token, familyName: 'F', username: 'ann', password: 'correct horse battery', deviceName: 'd' }, {})).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
    } finally {
      await fresh.close();
    }
  });
});
