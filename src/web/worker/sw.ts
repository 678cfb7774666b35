// The service worker: keeps the app shell (page, script, styles, icons, manifest) in a cache so that
// the app opens at once, and opens at all while the relay or the network is down; the page then says
// so. It never caches anything else, and never sees terminal traffic (WebSockets bypass it). A new
// relay version ships a new worker (its shell version changes), which replaces the cache.

import { agentIdOfPath } from '../../protocol/link.js';

const sw = globalThis as unknown as ServiceWorkerGlobalScope;
/** Filled in by the build: a hash of the shell's files, and their names. */
declare const SHELL_VERSION: string;
declare const SHELL_FILES: string[];

const CACHE = `ccremote-shell-${SHELL_VERSION}`;
/** The app's base URL: the worker lives at its root. */
const BASE = new URL('./', sw.location.href);

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL_FILES.map((file) => new Request(new URL(file, BASE), { cache: 'reload' })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith('ccremote-shell-') && name !== CACHE) await caches.delete(name);
      await sw.clients.claim();
    })(),
  );
});

/** The cached file that answers `url`, if it is part of the shell: pages are index.html; /a/app.js is app.js. */
function shellFile(url: URL): string | undefined {
  if (url.origin !== BASE.origin || !url.pathname.startsWith(BASE.pathname)) return undefined;
  const rest = url.pathname.slice(BASE.pathname.length);
  if (rest === '' || rest === 'index.html' || agentIdOfPath(url.pathname) !== undefined) return 'index.html';
  const file = rest.startsWith('a/') ? rest.slice(2) : rest;
  return SHELL_FILES.includes(file) ? file : undefined;
}

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const file = shellFile(new URL(request.url));
  if (!file) return;
  event.respondWith(
    (async () => {
      const cached = await caches.match(new URL(file, BASE).href, { cacheName: CACHE });
      return cached ?? fetch(request);
    })(),
  );
});

// An alert while the page is closed: the agent encrypted it for this device (the push service and the relay
// saw only ciphertext; the browser decrypted it). One notification per session: a newer one replaces it.
sw.addEventListener('push', (event) => {
  let alert: { agent?: unknown; name?: unknown; terminal?: unknown; session?: unknown; kind?: unknown; message?: unknown } = {};
  try {
    alert = (event.data?.json() ?? {}) as typeof alert;
  } catch {
    // Not JSON: shown as a plain alert below.
  }
  const agent = typeof alert.agent === 'string' && /^[A-Za-z0-9_-]{22}$/.test(alert.agent) ? alert.agent : undefined;
  const terminal = typeof alert.terminal === 'number' && Number.isSafeInteger(alert.terminal) ? alert.terminal : undefined;
  const session = typeof alert.session === 'string' ? alert.session.slice(0, 64) : undefined;
  const said = typeof alert.message === 'string' ? alert.message.slice(0, 500) : alert.kind === 'stop' ? 'Claude finished and is waiting for you.' : 'Claude is waiting for you.';
  const path = agent ? `a/${agent}${terminal !== undefined ? `?session=${terminal}` : ''}` : '';
  event.waitUntil(
    sw.registration.showNotification(typeof alert.name === 'string' ? alert.name.slice(0, 64) : 'ccremote', {
      body: session ? `${session}: ${said}` : said,
      tag: `ccremote-attention ${agent ?? ''} ${terminal ?? ''}`,
      icon: 'icon-192.png',
      badge: 'icon-192.png',
      data: { url: new URL(path, BASE).href, terminal },
    }),
  );
});

// A tap on a notification shows the session it is about: in the agent's open window (asked to switch), or
// in a new one opened on that session (or the start page, for a notification without one).
sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data as { url?: unknown; terminal?: unknown } | null;
  const target = typeof data?.url === 'string' && new URL(data.url, BASE).origin === BASE.origin ? new URL(data.url, BASE) : BASE;
  event.waitUntil(
    (async () => {
      const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const agent = agentIdOfPath(target.pathname);
      const open = windows.find((w) => new URL(w.url).pathname === target.pathname) ?? windows.find((w) => w.url.startsWith(BASE.href));
      if (open && (agent === undefined || new URL(open.url).pathname === target.pathname)) {
        await open.focus();
        if (agent !== undefined && typeof data?.terminal === 'number') open.postMessage({ type: 'open-session', agent, terminal: data.terminal });
        return;
      }
      await sw.clients.openWindow(target.href);
    })(),
  );
});

