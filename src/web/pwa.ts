// Installing the app: the manifest link and the service worker (worker/sw.ts), both at the app's base
// (the relay's root, or its path prefix behind a proxy), so that the start page and every terminal
// page are one app. Service workers need a secure context (HTTPS, or localhost); on a plain-HTTP LAN
// page the app simply runs without one.

import { agentIdOfPath } from '../protocol/index.js';

/** The app's base path: the page's path without `/a/AGENT_ID`, ending in "/". */
export function appBase(pathname = location.pathname): string {
  const base = agentIdOfPath(pathname) !== undefined ? pathname.replace(/\/a\/[^/]+\/?$/, '/') : pathname;
  return base.endsWith('/') ? base : base.replace(/[^/]*$/, '');
}

/** Adds the manifest and registers the service worker; never throws. */
export function installApp(): void {
  const base = appBase();
  const manifest = document.createElement('link');
  manifest.rel = 'manifest';
  manifest.href = `${base}manifest.webmanifest`;
  document.head.append(manifest);
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  // The shell comes from the cache first. When the relay serves a newer one, its worker takes over
  // (skipWaiting): this page then reloads once into it, and the session carries on from where it was.
  const hadWorker = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (hadWorker) location.reload();
  });
  navigator.serviceWorker.register(`${base}sw.js`, { scope: base }).catch((error: Error) => console.warn(`ccremote: no offline support: ${error.message}`));
}
