import { createHash } from 'node:crypto';
import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';

/**
 * The service worker is written at build time with the exact list of hashed files to
 * precache, and a version that changes whenever any of them does (so a new hearth
 * replaces the old cache on the next visit).
 */
function serviceWorker(): Plugin {
  return {
    name: 'hearth-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((f) => !f.endsWith('.map') && !f.startsWith('.vite/'));
      const precache = ['/', ...files.filter((f) => f !== 'index.html').map((f) => `/${f}`), '/manifest.webmanifest', '/icons/icon-192.png'];
      const version = createHash('sha256').update(files.sort().join('\n')).digest('hex').slice(0, 12);
      this.emitFile({
        type: 'asset',
        fileName: 'sw.js',
        source: SW_SOURCE.replace('__VERSION__', version).replace('__PRECACHE__', JSON.stringify(precache)),
      });
    },
  };
}

// Network first for the app shell (a running server always wins), cache first for hashed
// assets; the API, sync and media are never cached here (y-indexeddb keeps documents).
const SW_SOURCE = `const VERSION = 'hearth-__VERSION__';
const PRECACHE = __PRECACHE__;
self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(VERSION).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin) return;
  if (/^\\/(v1|sync|health|ready|metrics)(\\/|$)/.test(url.pathname)) return;
  if (url.pathname.startsWith('/assets/')) {
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
    return;
  }
  if (e.request.mode === 'navigate') {
    e.respondWith(fetch(e.request).catch(() => caches.match('/')));
    return;
  }
  e.respondWith(fetch(e.request).catch(() => caches.match(e.request)));
});
`;

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), serviceWorker()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    // One file per screen group is plenty; inline nothing (CSP forbids inline).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
