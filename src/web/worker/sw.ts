// The service worker: keeps the app shell (page, script, styles, icons, manifest) in a cache so that
// the app opens at once, and opens at all while the relay or the network is down; the page then says
// so. It never caches anything else, and never sees terminal traffic (WebSockets bypass it). A new
// relay version ships a new worker (its shell version changes), which replaces the cache. It also shows
// the alerts pushed while the page is closed, and answers a permission request from its notification.

import { openResult, parseAnswerReply, sealDecision } from '../../protocol/answer.js';
import { fromBase64Url } from '../../protocol/encoding.js';
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

/** An alert the agent pushed, as far as it checks out (anything else is left out). */
interface PushedAlert {
  agent: string | undefined;
  name: string;
  terminal: number | undefined;
  session: string | undefined;
  kind: string;
  message: string | undefined;
  permission: { id: string; tool: string; detail: string } | undefined;
  /** This device's way to answer the permission request (a device with full access only). */
  answer: { answer: string; key: string } | undefined;
  reminder: boolean;
}

function readAlert(data: PushMessageData | null): PushedAlert {
  let raw: Record<string, unknown> = {};
  try {
    const value: unknown = data?.json();
    if (typeof value === 'object' && value !== null) raw = value as Record<string, unknown>;
  } catch {
    // Not JSON: shown as a plain alert.
  }
  const text = (value: unknown, max: number): string | undefined => (typeof value === 'string' ? value.slice(0, max) : undefined);
  const token = (value: unknown, length: number): string | undefined => (typeof value === 'string' && value.length === length && /^[A-Za-z0-9_-]+$/.test(value) ? value : undefined);
  const permission = raw.permission as Record<string, unknown> | undefined;
  const answer = raw.answer as Record<string, unknown> | undefined;
  const ask = permission && token(permission.id, 22) ? { id: token(permission.id, 22)!, tool: text(permission.tool, 64) ?? 'a tool', detail: text(permission.detail, 500) ?? '' } : undefined;
  const answerId = answer ? token(answer.answer, 22) : undefined;
  const answerKey = answer ? token(answer.key, 43) : undefined;
  return {
    agent: token(raw.agent, 22),
    name: text(raw.name, 64) ?? 'ccremote',
    terminal: typeof raw.terminal === 'number' && Number.isSafeInteger(raw.terminal) ? raw.terminal : undefined,
    session: text(raw.session, 64),
    kind: text(raw.kind, 16) ?? 'notification',
    message: text(raw.message, 500),
    permission: ask,
    answer: ask && answerId && answerKey ? { answer: answerId, key: answerKey } : undefined,
    reminder: raw.reminder === true,
  };
}

/** One notification per session: the page's own alerts use the same tag, so whichever comes last is the one shown. */
function tagOf(agent: string | undefined, terminal: number | undefined): string {
  return `ccremote-attention ${agent ?? ''} ${terminal ?? ''}`;
}

/** What a notification keeps, to act on a tap. */
interface NotificationData {
  url: string;
  terminal: number | undefined;
  agent?: string;
  name?: string;
  session?: string;
  permission?: { id: string; tool: string; detail: string };
  answer?: { answer: string; key: string };
}

// An alert while the page is closed: the agent encrypted it for this device (the push service and the relay
// saw only ciphertext; the browser decrypted it). One notification per session: a newer one replaces it. A
// permission request shows what it wants and, for a device that may answer, Allow and Deny.
sw.addEventListener('push', (event) => {
  const alert = readAlert(event.data);
  const path = alert.agent ? `a/${alert.agent}${alert.terminal !== undefined ? `?session=${alert.terminal}` : ''}` : '';
  const data: NotificationData = { url: new URL(path, BASE).href, terminal: alert.terminal };
  const options: NotificationOptions & { actions?: Array<{ action: string; title: string }>; renotify?: boolean } = {
    tag: tagOf(alert.agent, alert.terminal),
    icon: 'icon-192.png',
    badge: 'icon-192.png',
    data,
  };
  const prefix = alert.session ? `${alert.session}: ` : '';
  if (alert.permission) {
    const { tool, detail } = alert.permission;
    options.body = `${prefix}${alert.reminder ? 'Still waiting: ' : ''}Claude Code asks to use ${tool}${detail ? `\n${detail}` : ''}`;
    // It waits for an answer: it stays until answered, and alerts again when it replaces another.
    options.requireInteraction = true;
    options.renotify = true;
    if (alert.answer) {
      options.actions = [
        { action: 'allow', title: 'Allow' },
        { action: 'deny', title: 'Deny' },
      ];
      Object.assign(data, { agent: alert.agent, name: alert.name, session: alert.session, permission: alert.permission, answer: alert.answer });
    }
  } else {
    const said = alert.message ?? (alert.kind === 'stop' ? 'Claude finished and is waiting for you.' : 'Claude is waiting for you.');
    options.body = `${prefix}${said}`;
  }
  event.waitUntil(sw.registration.showNotification(alert.name, options));
});

// A tap on Allow or Deny answers that request without opening the app: the decision is sealed with the key
// that came with this request for this device, and the agent's sealed word on it replaces the notification.
// A tap elsewhere shows the session it is about: in the agent's open window (asked to switch), or in a new
// one opened on that session (or the start page, for a notification without one).
sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data as NotificationData | null;
  if ((event.action === 'allow' || event.action === 'deny') && data?.answer && data.agent && data.permission) {
    event.waitUntil(answer(event.notification, data, event.action));
    return;
  }
  event.waitUntil(openSession(data));
});

async function answer(notification: Notification, data: NotificationData, decision: 'allow' | 'deny'): Promise<void> {
  const agent = data.agent!;
  const { answer: answerId, key: keyText } = data.answer!;
  const key = fromBase64Url(keyText);
  let said: string;
  try {
    const sealed = sealDecision(key, agent, answerId, { decision, sent_at: Date.now() });
    const response = await fetch(new URL('api/answer', BASE), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: agent, answer: answerId, sealed }),
    });
    const body: unknown = await response.json().catch(() => ({}));
    if (response.ok) {
      said = openResult(key, agent, answerId, parseAnswerReply(body).sealed).message;
    } else {
      const reason = typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : `the relay answered ${response.status}`;
      said = `Nothing was done: ${reason.slice(0, 200)} Open ccremote to answer.`;
    }
  } catch (error) {
    said = `Nothing was done: ${(error as Error).message.slice(0, 200)}. Open ccremote to answer.`;
  }
  const result: NotificationData = { url: data.url, terminal: data.terminal };
  await sw.registration.showNotification(data.name ?? notification.title, {
    body: `${data.session ? `${data.session}: ` : ''}${data.permission!.tool}: ${said}`,
    tag: notification.tag,
    icon: 'icon-192.png',
    badge: 'icon-192.png',
    data: result,
  });
}

async function openSession(data: NotificationData | null): Promise<void> {
  const target = typeof data?.url === 'string' && new URL(data.url, BASE).origin === BASE.origin ? new URL(data.url, BASE) : BASE;
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const agent = agentIdOfPath(target.pathname);
  const open = windows.find((w) => new URL(w.url).pathname === target.pathname) ?? windows.find((w) => w.url.startsWith(BASE.href));
  if (open && (agent === undefined || new URL(open.url).pathname === target.pathname)) {
    // The window switches first: whether it may also come to the front is the browser's call (it refuses
    // focus outside a tap on the notification), and a refusal must not keep the session from showing.
    if (agent !== undefined && typeof data?.terminal === 'number') open.postMessage({ type: 'open-session', agent, terminal: data.terminal });
    await open.focus().catch((error: Error) => console.warn(`ccremote: the window could not be brought to the front: ${error.message}`));
    return;
  }
  await sw.clients.openWindow(target.href);
}
