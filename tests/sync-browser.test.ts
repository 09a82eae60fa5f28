import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { seedFamily, startTestServer, type Family, type TestServer } from './helpers/hearth.js';
import { waitFor } from './helpers/sync-harness.js';

// The stock y-websocket client in a real browser (Debian's Chromium, headless), served
// from an origin of its own as a family's web app would be, against the real server.
// CI installs Chromium (.ci/run); elsewhere the suite skips this file when there is none.

const CHROMIUM = [process.env.HEARTH_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => !!p && fs.existsSync(p),
);
const REQUIRED = process.env.CI === 'true';

/** What the page exposes to the test: the stock provider and a Y.Doc, nothing of hearth's. */
const PAGE_ENTRY = `
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
const sessions = {};
window.hearthTest = {
  connect(id, serverUrl, room, token, name) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(serverUrl, room, doc, { params: { token } });
    provider.awareness.setLocalStateField('user', { name });
    const s = (sessions[id] = { doc, provider, closes: [] });
    provider.on('connection-close', (ev) => s.closes.push(ev ? ev.code : null));
    return new Promise((resolve) => provider.once('sync', () => resolve(doc.clientID)));
  },
  push(id, value) { sessions[id].doc.getArray('items').push([value]); },
  items(id) { return sessions[id].doc.getArray('items').toArray(); },
  synced(id) { return sessions[id].provider.synced; },
  closes(id) { return sessions[id] ? sessions[id].closes : []; },
  status(id, value) { sessions[id].provider.awareness.setLocalStateField('status', value); },
  peers(id) {
    return [...sessions[id].provider.awareness.getStates().values()].map((s) => s.user && s.user.name).filter(Boolean).sort();
  },
  leave(id) { sessions[id].provider.destroy(); },
};
`;

describe.skipIf(!CHROMIUM && !REQUIRED)('sync with the stock y-websocket client in a browser', () => {
  let t: TestServer;
  let fam: Family;
  let appServer: http.Server;
  let appUrl: string;
  let browser: Browser;
  let page: Page;
  const providers: WebsocketProvider[] = [];

  beforeAll(async () => {
    // The stock client logs the URL (token included) on some errors: keep tokens out of CI output.
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    t = await startTestServer();
    fam = await seedFamily(t, 'The Smiths', ['owner', 'adult', 'guest']);
    const bundle = await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: path.resolve(import.meta.dirname, '..'), loader: 'js' },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const js = bundle.outputFiles[0]!.text;
    appServer = http.createServer((req, res) => {
      if (req.url === '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>family app</title><script src="/app.js"></script>');
    });
    await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
    appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}/`;
    if (!CHROMIUM) throw new Error('CI=true but no Chromium found (/usr/bin/chromium); .ci/run installs it');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage();
    await page.goto(appUrl);
    await page.waitForFunction(() => 'hearthTest' in window);
  }, 60_000);

  afterAll(async () => {
    for (const p of providers) p.destroy();
    await browser?.close();
    await new Promise<void>((r) => (appServer ? appServer.close(() => r()) : r()));
    await t?.close();
    vi.restoreAllMocks();
  });

  const nodeClient = (docName: string, token: string, name: string) => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`${t.url.replace('http', 'ws')}/sync`, `${fam.familyId}/${docName}`, doc, {
      params: { token },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    provider.awareness.setLocalStateField('user', { name });
    providers.push(provider);
    return { doc, provider, synced: new Promise<void>((r) => provider.once('sync', () => r())) };
  };

  it('edits and presence flow both ways between a browser and a Node client, and are stored', async () => {
    const wsUrl = `${t.url.replace('http', 'ws')}/sync`;
    const room = `${fam.familyId}/lists/shopping`;
    const browserClientId = await page.evaluate(
      ([u, r, tok]) => (window as any).hearthTest.connect('adult', u, r, tok, 'Browser'),
      [wsUrl, room, fam.members.adult!.token] as const,
    );
    expect(typeof browserClientId).toBe('number');

    const node = nodeClient('lists/shopping', fam.members.owner!.token, 'Node');
    await node.synced;
    await page.evaluate(() => (window as any).hearthTest.push('adult', 'milk from the browser'));
    await waitFor(() => node.doc.getArray('items').toArray().includes('milk from the browser'), 5000, 'browser edit in Node');

    node.doc.getArray('items').push(['eggs from node']);
    await page.waitForFunction(() => (window as any).hearthTest.items('adult').includes('eggs from node'), null, { timeout: 5000 });
    const inBrowser = (await page.evaluate(() => (window as any).hearthTest.items('adult'))) as string[];
    expect(inBrowser).toEqual(node.doc.getArray('items').toArray());

    // Presence: each side sees the other; when the tab leaves, it disappears.
    await page.waitForFunction(() => (window as any).hearthTest.peers('adult').includes('Node'), null, { timeout: 5000 });
    await waitFor(() => (node.provider.awareness.getStates().get(browserClientId) as any)?.user?.name === 'Browser', 5000, 'browser presence');
    await page.evaluate(() => (window as any).hearthTest.leave('adult'));
    await waitFor(() => !node.provider.awareness.getStates().has(browserClientId), 5000, 'browser presence removed');

    // What the browser wrote is on disk, not just in memory.
    const late = nodeClient('lists/shopping', fam.members.owner!.token, 'Late');
    await late.synced;
    expect([...late.doc.getArray('items').toArray()].sort()).toEqual(['eggs from node', 'milk from the browser']);
  });

  it('a guest in the browser receives everything and cannot change the document', async () => {
    const wsUrl = `${t.url.replace('http', 'ws')}/sync`;
    const node = nodeClient('notes/fridge', fam.members.owner!.token, 'Owner');
    await node.synced;
    node.doc.getArray('items').push(['buy bread']);
    const guestId = await page.evaluate(
      ([u, r, tok]) => (window as any).hearthTest.connect('guest', u, r, tok, 'Guest'),
      [wsUrl, `${fam.familyId}/notes/fridge`, fam.members.guest!.token] as const,
    );
    await page.waitForFunction(() => (window as any).hearthTest.items('guest').includes('buy bread'), null, { timeout: 5000 });
    await page.evaluate(() => {
      (window as any).hearthTest.push('guest', 'guest was here');
      (window as any).hearthTest.status('guest', 'pushed');
    });
    // The presence change left the tab after the edit on the same socket: once the owner
    // sees it, the server has dealt with the edit too.
    await waitFor(() => (node.provider.awareness.getStates().get(guestId) as any)?.status === 'pushed', 5000, 'guest presence');
    expect(node.doc.getArray('items').toArray()).toEqual(['buy bread']);
    node.doc.getArray('items').push(['after the guest']);
    await page.waitForFunction(() => (window as any).hearthTest.items('guest').includes('after the guest'), null, { timeout: 5000 });
    const late = nodeClient('notes/fridge', fam.members.owner!.token, 'Late');
    await late.synced;
    expect(late.doc.getArray('items').toArray()).toEqual(['buy bread', 'after the guest']);
  });

  it('a wrong token in the browser never syncs: the upgrade is refused', async () => {
    const wsUrl = `${t.url.replace('http', 'ws')}/sync`;
    // Never resolves (no sync ever comes); the page is closed at the end.
    page
      .evaluate(
        ([u, r]) => (window as any).hearthTest.connect('stranger', u, r, 'not-a-token', 'Stranger'),
        [wsUrl, `${fam.familyId}/lists/shopping`] as const,
      )
      .catch(() => {});
    await page.waitForFunction(() => (window as any).hearthTest.closes?.('stranger')?.length >= 1, null, { timeout: 5000 });
    expect(await page.evaluate(() => (window as any).hearthTest.synced('stranger'))).toBe(false);
    // 1006: the browser never got a WebSocket (hearth answered the upgrade with 401).
    expect(await page.evaluate(() => (window as any).hearthTest.closes('stranger')[0])).toBe(1006);
    await page.evaluate(() => (window as any).hearthTest.leave('stranger'));
  });
});
