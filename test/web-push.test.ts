// Alerts while the page is closed, in Chromium at phone size: the menu's Alerts subscribes this paired
// device (headless Chromium has no push service: PushManager.subscribe is stood in with keys the test
// holds, at a local push service); a session waiting for the person reaches the push service as ciphertext
// only this device's keys open; delivered into the service worker (through the DevTools protocol, as a
// push service would), it shows a notification naming the session. Forgetting the terminal on the start
// page takes the subscription back.

import { expect, it } from 'vitest';
import { describeBrowser, phoneSuite, screenshotPath, waitForScreen, waitForState } from './helpers/browser.js';
import { decryptPush, startPushService } from './helpers/push-service.js';
import { pushDelivery, standInPushManager } from './helpers/browser-push.js';
import { claudeStandIn } from './helpers/fake-anthropic.js';
import { atCleanup, startAgent, startRelay, TestClient } from './helpers/system.js';

describeBrowser('alerts while the page is closed', () => {
  const browser = phoneSuite();

  it('the menu subscribes this device; an alert arrives encrypted for it and shows a notification naming the session', async () => {
    const service = await startPushService();
    atCleanup(() => service.close());
    const relay = await startRelay({ push: { services: [service.url] } });
    const claude = claudeStandIn();
    const agent = await startAgent(relay.url, { command: claude });
    const device = service.subscribe();
    await browser.context.grantPermissions(['notifications'], { origin: relay.url });
    const page = await browser.open(agent.url);
    await standInPushManager(page, device);
    await waitForState(page, 'online');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await waitForScreen(page, 'waiting-for-enter');
    // Paired on opening the link: the menu offers alerts.
    await page.getByRole('button', { name: 'Menu' }).tap();
    const alerts = page.locator('#alerts-toggle');
    await expect.poll(() => alerts.textContent()).toBe('Turn on alerts');
    await alerts.tap();
    await expect.poll(() => alerts.textContent(), { timeout: 10_000 }).toBe('Alerts on');
    await page.screenshot({ path: screenshotPath('push-alerts-on') });
    // The session waits for the person: the push service gets ciphertext only this device can read.
    await page.getByRole('button', { name: 'Menu' }).tap();
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.press('Enter');
    const delivery = await service.deliveries.next(() => true, 15_000, 'the push');
    expect(delivery.vapid).toMatchObject({ ok: true });
    expect(delivery.body.includes('permission')).toBe(false);
    const alert = JSON.parse(decryptPush(device, delivery.body)) as { session: string; message: string };
    expect(alert).toMatchObject({ terminal: 1, kind: 'notification', message: 'Claude needs your permission to use Bash' });
    // The push service delivers it into the service worker (what the browser does after decrypting it).
    const { deliver } = await pushDelivery(page.context(), page, relay.url);
    // The page was open: it showed its own notice, not a system notification; none is there before the push.
    await page.evaluate(async () => {
      for (const n of await (await navigator.serviceWorker.ready).getNotifications()) n.close();
    });
    await deliver(alert);
    const shown = (): Promise<string[]> => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => `${n.title}: ${n.body}`));
    await expect.poll(async () => (await shown()).length, { timeout: 10_000 }).toBe(1);
    expect((await shown())[0]!.endsWith(`: ${alert.session}: Claude needs your permission to use Bash`)).toBe(true);

    // The page shows another session now; a tap on the notification (its body) shows the one it is about.
    const other = new TestClient(agent.url);
    await other.waitForState('online');
    const second = await other.session.startSession({ kind: 'shell' });
    await page.locator('#sessions-toggle').tap();
    await page.locator(`#session-list .session[data-terminal="${second}"] .session-open`).tap();
    await expect.poll(() => page.locator('#session-name').textContent()).not.toBe(alert.session);
    const worker = page.context().serviceWorkers()[0]!;
    await worker.evaluate(async () => {
      const scope = globalThis as unknown as { registration: ServiceWorkerRegistration; dispatchEvent(event: Event): boolean };
      const [notification] = await scope.registration.getNotifications();
      if (!notification) throw new Error('no notification to tap');
      const event = new Event('notificationclick') as Event & { waitUntil(p: Promise<unknown>): void };
      const work: Array<Promise<unknown>> = [];
      Object.defineProperties(event, { notification: { value: notification }, action: { value: '' } });
      event.waitUntil = (promise) => void work.push(promise);
      scope.dispatchEvent(event);
      await Promise.all(work);
    });
    await expect.poll(() => page.locator('#session-name').textContent(), { timeout: 10_000 }).toBe(alert.session);
    other.close();

    // Forgetting this terminal on the start page takes the subscription back from the agent.
    const desk = new TestClient(agent.url);
    await desk.waitForState('online');
    const alertsOf = async (): Promise<boolean | undefined> => {
      const from = desk.deviceLists.items.length;
      desk.session.listDevices();
      const list = await desk.deviceLists.next(() => true, 10_000, 'the devices', from);
      return list.find((d) => d.name !== undefined)?.alerts;
    };
    expect(await alertsOf()).toBe(true);
    const start = await browser.open(`${relay.url}/`);
    start.on('dialog', (dialog) => void dialog.accept());
    await start.locator('.agents .forget').tap();
    await expect.poll(alertsOf, { timeout: 15_000 }).toBe(false);
    // It was the last terminal this device knew: the start page reloads into the relay's own words.
    await expect.poll(() => start.locator('#message-title').textContent().catch(() => null), { timeout: 10_000 }).toBe('ccremote relay');
    expect(await start.locator('#start').isHidden()).toBe(true);
  });
});
