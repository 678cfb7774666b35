// Answering Claude Code from the notification itself, in Chromium at phone size, with the real Claude
// Code (fake Messages API): its permission request reaches the local push service as ciphertext only this
// device opens; delivered into the service worker (through the DevTools protocol, as a push service would),
// it shows a notification with the tool, the command, Allow and Deny; the worker's own handler for a tap on
// Allow makes the tool run, on Deny makes Claude Code report the refusal, both without opening a page; an
// answer to a request already answered at the terminal does nothing and says so. Where push cannot work (a
// plain-HTTP LAN address) the menu says why.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { closePhone, describeBrowser, phone, phoneSuite, screenshotPath, waitForScreen, waitForState } from './helpers/browser.js';
import { startClaudeAgent, type FakeRequest } from './helpers/fake-anthropic.js';
import { decryptPush, startPushService, type TestSubscription } from './helpers/push-service.js';
import { atCleanup, startAgent, startRelay, TestClient } from './helpers/system.js';
import { pushDelivery, recordNotifications, standInPushManager, type ShownNotification } from './helpers/browser-push.js';

/** The tool results a request to the Messages API carries. */
const toolResults = (request: FakeRequest): Array<{ content?: unknown; is_error?: boolean }> =>
  ((request.body?.messages as Array<{ content?: unknown }> | undefined) ?? []).flatMap((m) =>
    Array.isArray(m.content) ? (m.content as Array<{ type?: string; content?: unknown; is_error?: boolean }>).filter((b) => b.type === 'tool_result') : [],
  );

describeBrowser('answering Claude Code from the notification', () => {
  const browser = phoneSuite();

  it('Allow runs the tool, Deny makes Claude Code report the refusal, and an answer after the terminal answered does nothing', async () => {
    const service = await startPushService();
    atCleanup(() => service.close());
    const relay = await startRelay({ push: { services: [service.url] } });
    const commands: Record<string, string> = { alpha: 'touch made-by-allow && echo tool-ran-$((5+6))', bravo: 'touch made-by-deny', charlie: 'touch made-at-terminal' };
    // The fake API: each prompt word gets its tool call once; a tool's result (run, or refused) gets a reply once.
    const replied = new Set<string>();
    const once = (key: string): boolean => !replied.has(key) && replied.add(key) !== undefined;
    const { api, agent, project } = await startClaudeAgent(relay.url, (request) => {
      const text = JSON.stringify(request.body?.messages ?? '');
      if (text.includes('Write the title')) return 'ok';
      if (text.includes('denied this from their phone') && once('denied')) return 'DENIED-DONE';
      if (text.includes('tool-ran-11') && once('allowed')) return 'ALLOWED-DONE';
      const word = Object.keys(commands).find((w) => text.includes(`run-${w}`) && !replied.has(w));
      return word && once(word) ? { tool: 'Bash', input: { command: commands[word]!, description: `Step ${word}` } } : 'ok';
    });
    const device: TestSubscription = service.subscribe();
    await browser.context.grantPermissions(['notifications'], { origin: relay.url });
    const page = await browser.open(agent.url);
    await standInPushManager(page, device);
    await waitForState(page, 'online');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    await page.getByRole('button', { name: 'Menu' }).tap();
    await page.screenshot({ path: screenshotPath('push-turn-on') });
    await page.locator('#alerts-toggle').tap();
    await expect.poll(() => page.locator('#alerts-toggle').textContent(), { timeout: 10_000 }).toBe('Alerts on');
    await page.screenshot({ path: screenshotPath('push-on') });
    await page.getByRole('button', { name: 'Menu' }).tap();

    /** The next permission alert pushed to the device, checked to be ciphertext without the command in it. */
    const seen = new Set<number>();
    const nextPermission = async (word: string): Promise<Record<string, unknown>> => {
      const delivery = await service.deliveries.next(
        (d, i = service.deliveries.items.indexOf(d)) => !seen.has(i) && (JSON.parse(decryptPush(device, d.body)) as { kind: string }).kind === 'permission',
        60_000,
        () => `the permission alert for ${word} (pushed: ${service.deliveries.items.map((d) => (JSON.parse(decryptPush(device, d.body)) as { kind: string }).kind).join(', ') || 'nothing'}; the API had ${api.requests.items.length} requests)`,
      );
      seen.add(service.deliveries.items.indexOf(delivery));
      expect(delivery.vapid).toMatchObject({ ok: true });
      expect(delivery.body.includes(commands[word]!)).toBe(false);
      expect(delivery.body.includes('Bash')).toBe(false);
      const alert = JSON.parse(decryptPush(device, delivery.body)) as Record<string, unknown>;
      expect(alert).toMatchObject({ kind: 'permission', permission: { tool: 'Bash', detail: `${commands[word]} (Step ${word})` }, answer: { answer: expect.any(String), key: expect.any(String) } });
      return alert;
    };

    // The first request: asked on the page, then the page closes; the person is elsewhere.
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('run-alpha please');
    await waitForScreen(page, 'run-alpha please');
    await page.keyboard.press('Enter');
    const first = await nextPermission('alpha');
    await page.waitForSelector('#permission:not([hidden])', { timeout: 30_000 });
    await page.close();
    const context: BrowserContext = browser.context;
    const blank = await context.newPage();
    const pagesBefore = context.pages().length;
    const worker = context.serviceWorkers()[0]!;
    const push = await pushDelivery(context, blank, relay.url);
    const notifications = await recordNotifications(worker);
    /** Delivers `alert`; what it showed, the only notification since the last. */
    const deliver = async (alert: Record<string, unknown>): Promise<ShownNotification> => {
      const before = (await notifications.shown()).length;
      await push.deliver(alert);
      await expect.poll(async () => (await notifications.shown()).slice(before).map((n) => n.outcome), { timeout: 10_000 }).toEqual(['shown']);
      return (await notifications.shown())[before]!;
    };
    /** Taps `action` on the last notification; what the worker showed in its place. */
    const tap = async (action: string): Promise<ShownNotification> => {
      const before = (await notifications.shown()).length;
      await notifications.tap(action);
      const after = (await notifications.shown()).slice(before);
      expect(after.map((n) => n.outcome)).toEqual(['shown']);
      return after[0]!;
    };
    const shown = await deliver(first);
    expect(shown.body).toMatch(/Claude Code asks to use Bash\ntouch made-by-allow && echo tool-ran-\$\(\(5\+6\)\) \(Step alpha\)/);
    expect(shown.actions).toEqual([
      { action: 'allow', title: 'Allow' },
      { action: 'deny', title: 'Deny' },
    ]);
    // Allow, from the notification: the command runs and Claude Code goes on; no page was opened for it.
    const allowed = await tap('allow');
    await api.requests.next((r) => toolResults(r).some((t) => JSON.stringify(t.content).includes('tool-ran-11')), 30_000, 'the tool result at the API');
    expect(existsSync(join(project, 'made-by-allow'))).toBe(true);
    expect(allowed.tag).toBe(shown.tag);
    expect(allowed.body).toMatch(/Bash: Allowed from .+'s notification\./);
    expect(allowed.actions).toEqual([]);
    expect(context.pages()).toHaveLength(pagesBefore);

    // Deny: Claude Code is told the person refused, and says so to the API.
    const desk = new TestClient(agent.url);
    await desk.waitForState('online');
    desk.type('run-bravo please');
    await desk.waitForOutput('run-bravo', 15_000);
    desk.type('\r');
    const second = await nextPermission('bravo');
    await deliver(second);
    const denied = await tap('deny');
    const denial = await api.requests.next((r) => toolResults(r).some((t) => JSON.stringify(t.content).includes('denied this from their phone')), 30_000, 'the refusal at the API');
    expect(toolResults(denial).find((t) => JSON.stringify(t.content).includes('denied this from their phone'))).toMatchObject({ is_error: true });
    expect(existsSync(join(project, 'made-by-deny'))).toBe(false);
    expect(denied.body).toMatch(/Bash: Denied from /);

    // Answered at the terminal first ("3" is No): the notification's Allow does nothing, and says so.
    await desk.waitForOutput('DENIED-DONE', 30_000);
    desk.type('run-charlie please');
    await desk.waitForOutput('run-charlie', 15_000);
    desk.type('\r');
    const third = await nextPermission('charlie');
    await desk.waitForOutput(/proceed\?/, 30_000);
    desk.type('3');
    await desk.settlements.next((s) => s.outcome === 'gone', 15_000, 'answered at the terminal');
    await deliver(third);
    expect((await tap('allow')).body).toMatch(/Nothing was done: this request is no longer waiting\. It was answered at the terminal\./);
    expect(existsSync(join(project, 'made-at-terminal'))).toBe(false);
    await push.cdp.detach();
  }, 180_000);
});

describeBrowser('where alerts cannot reach a closed page', () => {
  let context: BrowserContext | undefined;
  afterAll(async () => {
    if (context) await closePhone(context);
  });

  it('a plain-HTTP LAN address: the menu says why instead of offering a switch that does nothing', async () => {
    // lan.test is this machine, reached by a name that is not localhost: a page that is not a secure context.
    context = await phone(['--host-resolver-rules=MAP lan.test 127.0.0.1']);
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { linkBase: relay.url.replace('127.0.0.1', 'lan.test') });
    const page: Page = await context.newPage();
    await page.goto(agent.url);
    await waitForState(page, 'online', 20_000);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).tap();
    const button = page.locator('#alerts-toggle');
    expect(await button.textContent()).toBe('Alerts unavailable');
    expect(await button.isDisabled()).toBe(true);
    expect(await page.locator('#alerts-why').textContent()).toMatch(/plain HTTP \(lan\.test:\d+\): browsers send alerts only to https pages/);
    await page.screenshot({ path: screenshotPath('push-unavailable-lan') });
  });
});
