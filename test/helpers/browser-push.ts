// Web Push in headless Chromium, which has no push service: the page's PushManager is stood in with a
// subscription the test holds the keys of (at the local push service, push-service.ts), and a push is
// delivered into the service worker through the DevTools protocol, as a push service would.

import type { BrowserContext, CDPSession, Page, Worker } from 'playwright-core';
import { expect } from 'vitest';
import type { TestSubscription } from './push-service.js';

/** Makes `page`'s PushManager hand out `device` as its subscription. */
export async function standInPushManager(page: Page, device: TestSubscription): Promise<void> {
  await page.evaluate(
    (subscription) => {
      const fake = { endpoint: subscription.endpoint, toJSON: () => ({ endpoint: subscription.endpoint, keys: subscription.keys }) };
      PushManager.prototype.subscribe = async () => fake as unknown as PushSubscription;
      PushManager.prototype.getSubscription = async () => null;
    },
    { endpoint: device.endpoint, keys: device.keys },
  );
}

/** Delivers push messages into the service worker of `origin`, through a DevTools session on `page`. */
export async function pushDelivery(context: BrowserContext, page: Page, origin: string): Promise<{ deliver(data: unknown): Promise<void>; cdp: CDPSession }> {
  const cdp = await context.newCDPSession(page);
  const registrations: Array<{ registrationId: string }> = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (event: { registrations: Array<{ registrationId: string }> }) => registrations.push(...event.registrations));
  await cdp.send('ServiceWorker.enable');
  await expect.poll(() => registrations.length).toBeGreaterThan(0);
  return {
    cdp,
    deliver: async (data) => {
      await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: registrations[0]!.registrationId, data: JSON.stringify(data) });
    },
  };
}

/** A notification the service worker asked the browser to show, and whether the browser took it. */
export interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  actions: Array<{ action: string; title: string }>;
  outcome: string;
}

/**
 * Run in a page (as an init script) or in a service worker: from now on, every notification it asks the
 * browser to show is recorded there (`shownNotifications`), with whether the browser took it. The
 * browser's own list (getNotifications) is no witness: Chromium can drop a notification from it (one its
 * notification centre timed out, or one a late close of an older notification with the same tag removed).
 */
export function recordShown(): void {
  const scope = globalThis as unknown as { shownNotifications?: unknown[] };
  if (scope.shownNotifications) return;
  const record: Array<{ title: string; options: NotificationOptions; outcome: string }> = [];
  scope.shownNotifications = record;
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title: string, options: NotificationOptions = {}) {
    const entry = { title, options, outcome: 'pending' };
    record.push(entry);
    return show.call(this, title, options).then(
      () => void (entry.outcome = 'shown'),
      (error: Error) => {
        entry.outcome = `refused: ${error.message}`;
        throw error;
      },
    );
  };
}

/** Run where recordShown ran: what was asked to be shown there since, in order. */
export function listShown(): ShownNotification[] {
  const record = (globalThis as unknown as { shownNotifications?: Array<{ title: string; options: NotificationOptions & { actions?: Array<{ action: string; title: string }> }; outcome: string }> }).shownNotifications;
  if (!record) throw new Error('nothing was recorded here: the page was loaded, or the worker started, again since');
  return record.map(({ title, options, outcome }) => ({
    title,
    body: options.body ?? '',
    tag: options.tag ?? '',
    actions: (options.actions ?? []).map((a) => ({ action: a.action, title: a.title })),
    outcome,
  }));
}

/**
 * Records every notification the service worker in `worker` asks to show from now on (recordShown), and
 * taps them. The record lives in the worker: DevTools being attached keeps it running, and a restarted
 * worker is an error.
 */
export async function recordNotifications(worker: Worker): Promise<{ shown(): Promise<ShownNotification[]>; tap(action?: string): Promise<void> }> {
  await worker.evaluate(recordShown);
  return {
    shown: () => worker.evaluate(listShown),
    // Runs the worker's own notificationclick handler for the last notification shown, as a tap on `action`
    // (or on its body) would: with the browser's notification if it still lists it, else one like it.
    tap: (action = '') =>
      worker.evaluate(async (action) => {
        const scope = globalThis as unknown as {
          registration: ServiceWorkerRegistration;
          shownNotifications?: Array<{ title: string; options: NotificationOptions }>;
          dispatchEvent(event: Event): boolean;
        };
        const last = scope.shownNotifications?.at(-1);
        if (!last) throw new Error('no notification to tap');
        const listed = (await scope.registration.getNotifications({ tag: last.options.tag })).find((n) => n.body === last.options.body);
        const notification = listed ?? { ...last.options, title: last.title, tag: last.options.tag ?? '', data: last.options.data ?? null, close: () => undefined };
        const event = new Event('notificationclick') as Event & { waitUntil(p: Promise<unknown>): void };
        const work: Array<Promise<unknown>> = [];
        Object.defineProperties(event, { notification: { value: notification }, action: { value: action } });
        event.waitUntil = (promise) => void work.push(promise);
        scope.dispatchEvent(event);
        await Promise.all(work);
      }, action),
  };
}
