// Alerts while the page is closed, in Chromium at phone size: the menu's Alerts subscribes this paired
// device (headless Chromium has no push service: PushManager.subscribe is stood in with keys the test
// holds, at a local push service); a session waiting for the person reaches the push service as ciphertext
// only this device's keys open; delivered into the service worker (through the DevTools protocol, as a
// push service would), it shows a notification naming the session, and a tap on it shows that session.
// Forgetting the terminal on the start page takes the subscription back.

import { expect, it } from 'vitest';
import { describeBrowser, phoneSuite, screenshotPath, waitForScreen, waitForState } from './helpers/browser.js';
import { decryptPush, startPushService } from './helpers/push-service.js';
import { pushDelivery, recordNotifications, standInPushManager } from './helpers/browser-push.js';
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
    const worker = page.context().serviceWorkers()[0]!;
    const notifications = await recordNotifications(worker);
    await deliver(alert);
    await expect.poll(() => notifications.shown(), { timeout: 10_000 }).toEqual([expect.objectContaining({ outcome: 'shown', actions: [] })]);
    const [shown] = await notifications.shown();
    expect(shown!.body).toBe(`${alert.session}: Claude needs your permission to use Bash`);

    // The page shows another session now; a tap on the notification (its body) shows the one it is about.
    const other = new TestClient(agent.url);
    await other.waitForState('online');
    const second = await other.session.startSession({ kind: 'shell' });
    await page.locator('#sessions-toggle').tap();
    await page.locator(`#session-list .session[data-terminal="${second}"] .session-open`).tap();
    await expect.poll(() => page.locator('#session-name').textContent()).not.toBe(alert.session);
    await notifications.tap();
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
