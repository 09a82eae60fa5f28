import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, addTestMember, api, ensureWebBuilt, expectError, startTestServer, startTestServerWith, type TestServer } from './helpers/hearth.js';
import { createManualClock } from '../jobs/clock.js';
import { createFamily } from '../server/identity/families.js';
import { CLI_ACTOR } from '../server/identity/context.js';

// The family's web app in headless Chromium (Debian's package, as tests/sync-browser.test.ts
// launches it) against the real server: setup, sign-in, pairing, offline edits that
// converge, a guest who cannot edit. HEARTH_SCREENSHOTS=1 also refreshes docs/screenshots/.

const CHROMIUM = [process.env.HEARTH_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => !!p && fs.existsSync(p),
);
const REQUIRED = process.env.CI === 'true';
const SHOTS = process.env.HEARTH_SCREENSHOTS === '1' ? path.resolve(import.meta.dirname, '../docs/screenshots') : null;
const PHONE = { width: 390, height: 844 };

describe.skipIf(!CHROMIUM && !REQUIRED)('the web app in a browser', () => {
  let t: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let owner: Page;
  let familyId: string;
  let listUrl: string;

  const newPage = async (): Promise<Page> => {
    const ctx = await browser.newContext({ viewport: PHONE });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    return page;
  };
  /** Every main screen passes through here: each form control must have a label, each image an alt. */
  const shot = async (page: Page, name: string) => {
    await a11y(page, name);
    if (!SHOTS) return;
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  };
  const a11y = async (page: Page, name: string) => {
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLInputElement>('input, select, textarea, button')]
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent!.trim())))
        .map((el) => el.outerHTML.slice(0, 80))
        .concat([...document.querySelectorAll('img:not([alt])')].map((el) => el.outerHTML.slice(0, 80))),
    );
    expect(unlabelled, `${name}: controls without a label`).toEqual([]);
    expect(await lowContrast(page), `${name}: text under WCAG AA contrast`).toEqual([]);
  };
  /**
   * WCAG 2 AA for every visible text node's element: 4.5:1, or 3:1 for large text
   * (24 px, or 18.66 px bold), against the first opaque background up the tree.
   * Disabled controls are exempt (WCAG 1.4.3).
   */
  const lowContrast = (page: Page) =>
    page.evaluate(() => {
      const rgba = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number) as number[];
      const lum = ([r, g, b]: number[]) => {
        const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
      };
      const bgOf = (el: Element | null): number[] => {
        for (; el; el = el.parentElement) {
          const c = rgba(getComputedStyle(el).backgroundColor);
          if (c.length === 3 || (c[3] ?? 0) >= 0.85) return c.slice(0, 3);
        }
        return [255, 255, 255];
      };
      const bad: string[] = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement!;
        if (!n.textContent!.trim() || el.closest('[disabled], .sr-only, [aria-hidden="true"]')) continue;
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (!box.width || !box.height || style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
        const fg = rgba(style.color);
        const l1 = lum(fg);
        const l2 = lum(bgOf(el));
        const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) bad.push(`${ratio.toFixed(2)} ${el.tagName.toLowerCase()}.${el.className}: ${n.textContent!.trim().slice(0, 40)}`);
      }
      return bad;
    });
  const items = (page: Page) => page.locator('ul[aria-label="Items"] .item-text').allTextContents();
  const signIn = async (page: Page, username: string) => {
    await page.goto(`${t.url}/signin`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Hello/ }).waitFor();
  };

  beforeAll(async () => {
    await ensureWebBuilt();
    t = await startTestServer();
    if (!CHROMIUM) throw new Error('CI=true but no Chromium found (/usr/bin/chromium); .ci/run installs it');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await t?.close();
  });

  it('first run: the setup link creates the family and signs the owner in; first render is under 1 s', async () => {
    owner = await newPage();
    expect(t.server.setupUrl).toBeTruthy();
    await owner.goto(t.server.setupUrl!);
    await owner.getByLabel('Family name').fill('The Smiths');
    await owner.getByLabel('Your username').fill('ann');
    await owner.getByLabel('Password').fill(PASSWORD);
    await shot(owner, 'setup');
    await owner.getByRole('button', { name: 'Create family' }).click();
    await owner.getByRole('heading', { name: 'Hello, ann' }).waitFor();
    // The token left the address bar.
    expect(owner.url()).toBe(`${t.url}/`);
    familyId = (await owner.evaluate(() => JSON.parse(localStorage.getItem('hearth.session')!).familyId)) as string;
    expect(familyId).toMatch(/^fam_/);
    await shot(owner, 'home');

    // A fresh load of the app: time from navigation start to the first rendered screen.
    await owner.reload();
    await owner.getByRole('heading', { name: 'Hello, ann' }).waitFor();
    const rendered = (await owner.evaluate(() => performance.getEntriesByName('hearth:rendered')[0]!.startTime)) as number;
    console.log(`web app first render: ${rendered.toFixed(0)} ms`);
    expect(rendered).toBeLessThan(1000);

    // The link is dead now.
    const late = await newPage();
    await late.goto(t.server.setupUrl!);
    await late.getByRole('heading', { name: 'hearth is set up' }).waitFor();
  });

  it('signs in with a password, and refuses a wrong one', async () => {
    await addTestMember(t, familyId, 'bob', 'adult');
    const page = await newPage();
    await page.goto(`${t.url}/`);
    await page.getByRole('heading', { name: 'Sign in to hearth' }).waitFor();
    await shot(page, 'signin');
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Hello, bob' }).waitFor();
  });

  let paired: Page;
  it('pairs a second browser by code, approved from the first', async () => {
    paired = await newPage();
    await paired.goto(`${t.url}/pair-browser`);
    await paired.getByLabel('Name of this device').fill('Kitchen tablet');
    await paired.getByRole('button', { name: 'Show a pairing code' }).click();
    const code = (await paired.getByTestId('user-code').textContent())!.trim();
    expect(code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    await paired.getByRole('img', { name: /QR code/ }).waitFor();
    await shot(paired, 'pair-code');

    await owner.goto(`${t.url}/pair?code=${code}`);
    await owner.getByRole('button', { name: 'Continue' }).click();
    await owner.getByRole('button', { name: 'Approve Kitchen tablet' }).click();
    await owner.getByText('Kitchen tablet is paired.').waitFor();

    // The new browser polls at the server's interval (5 s) and signs in as ann.
    await paired.getByRole('heading', { name: 'Hello, ann' }).waitFor({ timeout: 20_000 });
    await owner.goto(`${t.url}/admin`);
    await owner.getByText('Kitchen tablet').first().waitFor();
    await shot(owner, 'admin');
  }, 40_000);

  it('two browsers edit one list; one goes offline, edits, comes back, and both converge', async () => {
    await owner.goto(`${t.url}/lists`);
    await owner.getByLabel('Name').fill('Shopping');
    await owner.getByRole('button', { name: 'Add', exact: true }).click();
    await owner.getByRole('heading', { name: 'Shopping' }).waitFor();
    listUrl = owner.url();
    expect(listUrl).toMatch(/\/lists\/[a-z0-9]+$/);
    await owner.getByLabel('New item').fill('milk');
    await owner.getByRole('button', { name: 'Add', exact: true }).click();

    await paired.goto(listUrl);
    await paired.getByRole('heading', { name: 'Shopping' }).waitFor();
    await expect.poll(() => items(paired)).toEqual(['milk']);
    // Presence: each sees the other.
    await owner.getByText(/also here: ann/).waitFor();

    await paired.context().setOffline(true);
    await paired.getByText(/Offline: changes are kept/).waitFor();
    await paired.getByLabel('New item').fill('eggs (added offline)');
    await paired.getByRole('button', { name: 'Add', exact: true }).click();
    await owner.getByLabel('New item').fill('bread');
    await owner.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => items(paired)).toEqual(['milk', 'eggs (added offline)']);
    expect(await items(owner)).toEqual(['milk', 'bread']);

    await paired.context().setOffline(false);
    await expect.poll(() => items(owner), { timeout: 15_000 }).toHaveLength(3);
    await expect.poll(() => items(paired), { timeout: 15_000 }).toEqual(await items(owner));
    expect([...(await items(owner))].sort()).toEqual(['bread', 'eggs (added offline)', 'milk']);

    // The offline edit reached the server's disk: a reload with a cleared local copy shows it.
    await owner.getByRole('checkbox', { name: 'milk' }).check();
    await expect.poll(() => paired.getByRole('checkbox', { name: 'milk' }).isChecked()).toBe(true);
    await shot(owner, 'list');
  }, 60_000);

  it('a guest sees the list and cannot edit it', async () => {
    await addTestMember(t, familyId, 'gus', 'guest');
    const guest = await newPage();
    await signIn(guest, 'gus');
    await guest.goto(listUrl);
    await expect.poll(() => items(guest)).toHaveLength(3);
    await guest.getByText('You are a guest').waitFor();
    expect(await guest.getByLabel('New item').count()).toBe(0);
    expect(await guest.getByRole('checkbox', { name: 'bread' }).isDisabled()).toBe(true);
    // Even a write forced past the UI is dropped by the server: nothing changes for the owner.
    await guest.evaluate(() => {
      const box = document.querySelector<HTMLInputElement>('input[type=checkbox]:not(:checked)')!;
      box.disabled = false;
      box.click();
    });
    await owner.getByLabel('New item').fill('after the guest');
    await owner.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => items(guest)).toHaveLength(4);
    expect(await owner.getByRole('checkbox', { checked: true }).count()).toBe(1);
  }, 40_000);

  it('a note edited in two browsers at once converges; the inbox shows what the server wrote', async () => {
    await owner.goto(`${t.url}/notes`);
    await owner.getByLabel('Name').fill('Holiday');
    await owner.getByRole('button', { name: 'Add', exact: true }).click();
    await owner.getByRole('heading', { name: 'Holiday' }).waitFor();
    await paired.goto(owner.url());
    const a = owner.getByLabel('Note text');
    const b = paired.getByLabel('Note text');
    await a.fill('Pack the tent.');
    await expect.poll(() => b.inputValue()).toBe('Pack the tent.');
    await b.press('End');
    await b.pressSequentially(' And the stove.');
    await a.press('Home');
    await a.pressSequentially('TODO: ');
    await expect.poll(() => a.inputValue(), { timeout: 10_000 }).toBe('TODO: Pack the tent. And the stove.');
    await expect.poll(() => b.inputValue(), { timeout: 10_000 }).toBe('TODO: Pack the tent. And the stove.');

    const me = (await owner.evaluate(() => JSON.parse(localStorage.getItem('hearth.session')!).memberId)) as string;
    await t.server.sync.service.docs.transact(familyId, `inbox/${me}`, (doc) =>
      doc.getArray('notifications').push([{ id: 'n1', kind: 'reminder', title: 'Bins out', body: 'Tonight at 19:30', createdAt: new Date().toISOString() }]),
    );
    await owner.goto(`${t.url}/inbox`);
    await owner.getByText('Tonight at 19:30').waitFor();
    await shot(owner, 'inbox');
  }, 40_000);

  it('screens whose server part is missing say so instead of breaking', async () => {
    for (const [route, text, heading] of [
      ['/photos', 'Photos: not available on this server', 'Photos'],
      ['/vault', 'The vault: not available on this server', 'Vault'],
      ['/search', 'Search: not available on this server', 'Search'],
    ] as const) {
      await owner.goto(`${t.url}${route}`);
      // Either the capability is on this server (its screen renders) or it says it is not.
      await owner.getByText(text).or(owner.getByRole('heading', { level: 1, name: heading, exact: true })).waitFor();
      await owner.getByRole('navigation').waitFor();
    }
    await owner.goto(`${t.url}/reminders`);
    await owner.getByLabel('What').fill('Bins out');
    await owner.getByLabel('When').fill('2030-01-07T19:30');
    await owner.getByRole('button', { name: 'Add reminder' }).click();
    await owner.getByText('Bins out').waitFor();
    await shot(owner, 'reminders');
    // Edit, then mark done: the same entry changes, no second one appears.
    await owner.getByRole('button', { name: 'Edit Bins out' }).click();
    await owner.getByLabel('What').fill('Bins and recycling out');
    await owner.getByLabel('Repeat').selectOption('weekly');
    await owner.getByRole('button', { name: 'Save', exact: true }).click();
    await owner.getByRole('checkbox', { name: /Bins and recycling out/ }).check();
    const stored = await t.server.sync.service.docs.read(familyId, "reminders", (doc) => [...doc.getMap("reminders").values()]);
    await expect
      .poll(() => t.server.sync.service.docs.read(familyId, 'reminders', (doc) => [...doc.getMap('reminders').values()]))
      .toEqual([expect.objectContaining({ title: 'Bins and recycling out', recipients: 'family', repeat: 'weekly', done: true })]);
    const [reminder] = (await t.server.sync.service.docs.read(familyId, 'reminders', (doc) => [...doc.getMap('reminders').values()])) as Array<{ dueAt: string }>;
    // ISO 8601 with the browser's offset, as the reminders job expects.
    expect(reminder!.dueAt).toMatch(/^2030-01-07T19:30:00[+-]\d\d:\d\d$/);
  }, 40_000);

  it('search renders the server’s highlights as <mark> text, never as HTML; paging; 422 explained (search route stubbed until it is merged)', async () => {
    const page = owner;
    const seen: URL[] = [];
    const hostile = 'Buy <img src=x onerror="window.__pwned=1"> milk and bread';
    const at = (w: string) => [hostile.indexOf(w), hostile.indexOf(w) + w.length] as [number, number];
    await page.route(/\/v1\/families\/[^/]+\/search\?/, async (route) => {
      const url = new URL(route.request().url());
      seen.push(url);
      if (url.searchParams.get('q') === '((') {
        return route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ error: { code: 'VALIDATION_FAILED', message: 'bad query', details: [{ path: 'querystring/q', message: 'unbalanced parenthesis' }] } }) });
      }
      const first = !url.searchParams.get('cursor');
      const results = first
        ? [{ kind: 'doc', doc: listUrl.replace(/^.*\/lists\//, 'lists/'), mediaId: null, title: 'Shopping', snippet: hostile, highlights: [at('milk'), at('bread')], updatedAt: Date.now() }]
        : [{ kind: 'doc', doc: 'notes/zz', mediaId: null, title: 'Holiday', snippet: 'milk for the trip', highlights: [[0, 4]], updatedAt: Date.now() }];
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ results, nextCursor: first ? 'page2' : null }) });
    });
    try {
      await page.goto(`${t.url}/search`);
      await page.getByLabel("Search the family's lists, notes and files").fill('milk bread');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('link', { name: 'Shopping' }).waitFor();
      expect(await page.locator('.results mark').allTextContents()).toEqual(['milk', 'bread']);
      // The markup in the snippet is text on the screen, not an element.
      await page.getByText('<img src=x onerror="window.__pwned=1">', { exact: false }).waitFor();
      expect(await page.locator('.results img:not(.result-thumb)').count()).toBe(0);
      expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(new URL(page.url()).searchParams.get('q')).toBe('milk bread');
      expect(seen[0]!.searchParams.get('q')).toBe('milk bread');
      expect(seen[0]!.searchParams.get('limit')).toBe('20');
      await shot(page, 'search');
      // The contrast check can fail: a pale grey line is reported.
      await page.evaluate(() => {
        // Through the CSSOM: the page's CSP refuses style attributes in markup.
        const p = document.createElement('p');
        p.id = 'pale';
        p.textContent = 'pale text';
        p.style.color = '#bbb';
        document.querySelector('main')!.append(p);
      });
      expect((await lowContrast(page)).some((l) => l.includes('pale text'))).toBe(true);
      await page.evaluate(() => document.getElementById('pale')!.remove());
      // And the dark scheme passes too.
      await page.emulateMedia({ colorScheme: 'dark' });
      expect(await lowContrast(page)).toEqual([]);
      await page.emulateMedia({ colorScheme: 'light' });

      await page.getByRole('button', { name: 'More results' }).click();
      await page.getByRole('link', { name: 'Holiday' }).waitFor();
      // Keyboard focus went to the first new result, not lost with the vanished button.
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Holiday');
      expect(seen.at(-1)!.searchParams.get('cursor')).toBe('page2');
      expect(await page.getByRole('button', { name: 'More results' }).count()).toBe(0);

      await page.getByLabel("Search the family's lists, notes and files").fill('((');
      await page.keyboard.press('Enter');
      await page.getByRole('alert').filter({ hasText: 'That search cannot be run: unbalanced parenthesis' }).waitFor();

      // A result opens its document.
      await page.getByLabel("Search the family's lists, notes and files").fill('milk');
      await page.keyboard.press('Enter');
      await page.getByRole('link', { name: 'Shopping' }).click();
      await page.getByRole('heading', { name: 'Shopping' }).waitFor();
      expect(page.url()).toBe(listUrl);
    } finally {
      await page.unroute(/\/v1\/families\/[^/]+\/search\?/);
    }
  }, 40_000);

  it('the admin screen’s backup panel: the real status, a failing nightly backup (stubbed), unknown on 404', async () => {
    const page = owner;
    const panel = page.getByTestId('backup-status');
    await page.goto(`${t.url}/admin`);
    // The real route: this test server has never made a backup.
    await panel.getByText('No backup yet').waitFor();
    const backupRoute = /\/v1\/families\/[^/]+\/backup-status$/;
    await page.route(backupRoute, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          lastAttempt: null,
          lastVerified: { name: 'b', at: new Date(Date.now() - 27 * 3_600_000).toISOString(), ageS: 27 * 3600, encrypted: true },
          verifiedCount: 1,
          nightly: { status: 'pending', lastRunAt: Date.now() - 3 * 3_600_000, lastError: 'disk full' },
        }),
      }),
    );
    try {
      await page.reload();
      await panel.getByText('The last backup failed').waitFor();
      await panel.getByText('Error: disk full').waitFor();
      await a11y(page, 'admin with a failed backup');
      await page.emulateMedia({ colorScheme: 'dark' });
      expect(await lowContrast(page)).toEqual([]);
      await page.emulateMedia({ colorScheme: 'light' });
      await panel.scrollIntoViewIfNeeded();
      if (SHOTS) await panel.screenshot({ path: path.join(SHOTS, 'backup.png') });
      await page.unroute(backupRoute);
      await page.route(backupRoute, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no route', details: [] } }) }));
      await page.reload();
      await panel.getByText('Backup status: unknown').waitFor();
    } finally {
      await page.unroute(backupRoute);
    }
  });

  it('vault against the real server and a manual clock: keys from a passphrase with a verification phrase; an entry from A opens for B only after release', async () => {
    const clock = createManualClock(Date.now());
    const v = await startTestServerWith({ clock });
    try {
      const fam = createFamily(v.server.identity, 'Vault family', CLI_ACTOR);
      await addTestMember(v, fam.id, 'ann', 'owner');
      const bobMember = await addTestMember(v, fam.id, 'bob', 'adult');
      const signInAt = async (username: string) => {
        const page = await newPage();
        await page.goto(`${v.url}/signin`);
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: /^Hello/ }).waitFor();
        return page;
      };
      const ann = await signInAt('ann');
      const bob = await signInAt('bob');
      const setUp = async (page: Page, pass: string) => {
        await page.goto(`${v.url}/vault`);
        await page.getByLabel('Vault passphrase').fill(pass);
        await page.getByLabel('Passphrase again').fill(pass);
        await page.getByRole('button', { name: 'Create my vault keys' }).click();
        await expect.poll(() => page.getByTestId('phrase').textContent(), { timeout: 15_000 }).toMatch(/^\w+( \w+){5}$/);
        return (await page.getByTestId('phrase').textContent())!;
      };
      const unlock = async (page: Page, pass: string) => {
        await page.reload();
        await page.getByLabel('Vault passphrase').fill(pass);
        await page.getByRole('button', { name: 'Unlock' }).click();
      };
      // B first, so A can seal to B.
      const bobsPhrase = await setUp(bob, 'bob vault passphrase');
      await setUp(ann, 'ann vault passphrase');
      await shot(ann, 'vault');
      // A reads B's phrase off A's screen: the same words B's own screen shows.
      await ann.getByText("Other members' phrases").click();
      await ann.getByText(`bob: ${bobsPhrase}`).waitFor();

      await ann.getByLabel('Title').fill('For Bob');
      await ann.getByLabel('Text').fill('The spare key is under the blue pot.');
      await ann.getByRole('checkbox', { name: 'bob' }).check();
      const tomorrow = new Date(Date.now() + 86_400_000);
      const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      await ann.getByLabel('Opens at').fill(local);
      await ann.getByRole('button', { name: 'Seal entry' }).click();
      await ann.getByRole('button', { name: 'Cancel entry for bob' }).waitFor();

      // Before release B sees that it exists and cannot open it; the server refuses it too.
      await unlock(bob, 'wrong passphrase!');
      await bob.getByRole('alert').filter({ hasText: 'does not unlock' }).waitFor();
      await bob.getByLabel('Vault passphrase').fill('bob vault passphrase');
      await bob.getByRole('button', { name: 'Unlock' }).click();
      await bob.getByText(/From ann/).waitFor();
      expect(await bob.getByRole('button', { name: /Open entry/ }).count()).toBe(0);
      const bobToken = (await bob.evaluate(() => JSON.parse(localStorage.getItem('hearth.session')!).accessToken)) as string;
      const listed = await api(v.url, 'GET', `/v1/families/${fam.id}/vault/entries`, { token: bobToken });
      const entryId = (listed.body.entries as { id: string }[])[0]!.id;
      expectError(await api(v.url, 'GET', `/v1/families/${fam.id}/vault/entries/${entryId}/sealed`, { token: bobToken }), 409, 'NOT_RELEASED');
      expect(bobMember.id).toBeTruthy();

      // Two days on, the release job has run; B opens it.
      clock.advance(2 * 86_400_000);
      await v.server.scheduler.whenIdle();
      await unlock(bob, 'bob vault passphrase');
      await bob.getByRole('button', { name: 'Open entry from ann' }).click();
      await bob.getByText('The spare key is under the blue pot.').waitFor();
      await a11y(bob, 'vault for bob');

      // An entry that opens on request: B asks for it, A refuses, B may ask again.
      await ann.getByLabel('Title').fill('Ask me first');
      await ann.getByLabel('Text').fill('The safe combination is 4-7-1.');
      await ann.getByRole('checkbox', { name: 'bob' }).check();
      await ann.getByRole('radio', { name: /When they ask for it/ }).check();
      await ann.getByLabel('Days to wait after they ask').fill('3');
      await ann.getByRole('button', { name: 'Seal entry' }).click();
      await ann.getByRole('button', { name: 'Cancel entry for bob' }).waitFor();
      await unlock(bob, 'bob vault passphrase');
      await bob.getByText('it opens 3 days after you ask, unless ann refuses', { exact: false }).waitFor();
      await bob.getByRole('button', { name: 'Ask for release of entry from ann' }).click();
      await bob.getByRole('status').filter({ hasText: /You asked for it .*unless ann refuses/ }).waitFor();
      expect(await bob.getByRole('button', { name: /Ask for release/ }).count()).toBe(0);
      const asked = (await api(v.url, 'GET', `/v1/families/${fam.id}/vault/entries`, { token: bobToken })).body.entries as { id: string; requestedBy: string | null }[];
      const askedId = asked.find((e) => e.requestedBy === bobMember.id)!.id;
      await unlock(ann, 'ann vault passphrase');
      await ann.getByRole('status').filter({ hasText: /bob asked for it .*unless you refuse/ }).waitFor();
      await a11y(ann, 'vault with a pending request');
      await ann.getByRole('button', { name: 'Refuse release request from bob' }).click();
      await expect.poll(() => ann.getByRole('button', { name: /Refuse release request/ }).count()).toBe(0);
      const after = (await api(v.url, 'GET', `/v1/families/${fam.id}/vault/entries/${askedId}`, { token: bobToken })).body;
      expect(after).toMatchObject({ status: 'sealed', requestedBy: null, requestedAt: null });
      await unlock(bob, 'bob vault passphrase');
      await bob.getByRole('button', { name: 'Ask for release of entry from ann' }).waitFor();
      // Nothing the server stored or logged holds the text or a passphrase.
      expect(v.logs.text()).not.toMatch(/blue pot|safe combination|vault passphrase/);
    } finally {
      await v.close();
    }
  }, 90_000);

  it('admin: an invite with a QR that a new browser joins with; revoking a device signs it out', async () => {
    await owner.goto(`${t.url}/admin`);
    await owner.getByLabel('Invite as').selectOption('child');
    await owner.getByRole('button', { name: 'Create invite' }).click();
    await owner.getByRole('img', { name: 'QR code of the invite link' }).waitFor();
    const link = (await owner.locator('.invite code').textContent())!;
    expect(link).toMatch(new RegExp(`^${t.url}/join#`));
    const kid = await newPage();
    await kid.goto(link);
    await kid.getByLabel('Choose a username').fill('kim');
    await kid.getByRole('button', { name: 'Join' }).click();
    await kid.getByRole('heading', { name: 'Hello, kim' }).waitFor();

    await owner.reload();
    await owner.getByRole('button', { name: 'Revoke Kitchen tablet' }).click();
    await owner.getByText(/Kitchen tablet · paired · revoked/).waitFor();
    // The revoked browser's next call fails its refresh and lands on sign-in.
    await paired.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('hearth.session')!);
      localStorage.setItem('hearth.session', JSON.stringify({ ...s, expiresAt: 0 }));
    });
    await paired.goto(`${t.url}/admin`);
    await paired.getByRole('heading', { name: 'Sign in to hearth' }).waitFor();
    // Signed out: the browser's copies of the family's documents are gone.
    await expect
      .poll(() => paired.evaluate(async () => (await indexedDB.databases()).filter((d) => d.name!.startsWith('hearth:')).length))
      .toBe(0);
  }, 40_000);

  it('works offline once loaded: the service worker serves the app and the list from IndexedDB', async () => {
    await owner.goto(`${t.url}/`);
    await owner.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await owner.reload();
    await owner.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await owner.context().setOffline(true);
    try {
      await owner.goto(listUrl);
      await owner.getByRole('heading', { name: 'Shopping' }).waitFor();
      await expect.poll(() => items(owner)).toContain('milk');
      await owner.getByText(/Offline: changes are kept/).waitFor();
    } finally {
      await owner.context().setOffline(false);
    }
  }, 40_000);

  it('uploads two photos with a progress bar each and shows their thumbnails (when the server has media)', async (ctx) => {
    const token = (await owner.evaluate(() => JSON.parse(localStorage.getItem('hearth.session')!).accessToken)) as string;
    const probe = await fetch(`${t.url}/v1/families/${familyId}/media?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    if (probe.status === 404) return ctx.skip();
    const sharp = (await import('sharp')).default;
    const png = (r: number, g: number, b: number) => sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } }).png().toBuffer();
    await owner.goto(`${t.url}/photos`);
    await owner.getByLabel('Upload photos and files').setInputFiles([
      { name: 'red.png', mimeType: 'image/png', buffer: await png(200, 20, 20) },
      { name: 'blue.png', mimeType: 'image/png', buffer: await png(20, 20, 200) },
    ]);
    await owner.getByRole('progressbar', { name: 'Uploading red.png' }).waitFor();
    await owner.getByRole('progressbar', { name: 'Uploading blue.png' }).waitFor();
    await expect.poll(() => owner.locator('.uploads li').filter({ hasText: 'done' }).count(), { timeout: 15_000 }).toBe(2);
    for (const name of ['red.png', 'blue.png']) {
      await expect
        .poll(() => owner.getByRole('img', { name, exact: true }).evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), { timeout: 15_000 })
        .toBe(true);
    }
    await owner.getByRole('button', { name: 'Open red.png' }).click();
    await owner.getByRole('dialog', { name: 'red.png' }).waitFor();
    await shot(owner, 'photos');
    await owner.keyboard.press('Escape');
    await expect.poll(() => owner.getByRole('dialog').count()).toBe(0);
  }, 40_000);
});
