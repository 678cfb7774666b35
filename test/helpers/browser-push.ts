// Web Push in headless Chromium, which has no push service: the page's PushManager is stood in with a
// subscription the test holds the keys of (at the local push service, push-service.ts), and a push is
// delivered into the service worker through the DevTools protocol, as a push service would.

import type { BrowserContext, CDPSession, Page } from 'playwright-core';
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
