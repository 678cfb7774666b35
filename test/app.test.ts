// The installable app at phone size: the manifest and service worker are served and valid, the shell
// opens from the cache while the relay is down (and says so), and the start page lists the agents this
// device opened, with their online state, and forgets them on request.

import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeBrowser, phoneSuite, screenshotPath, waitForScreen, waitForState } from './helpers/browser.js';
import { startAgent, startRelay, tempDir } from './helpers/system.js';
import { parseAccessLink } from '../src/protocol/index.js';

/** Width and height from a PNG's IHDR chunk, after checking its signature. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describeBrowser('installable app', () => {
  const browser = phoneSuite();
  let page: Page;
  const open = async (url: string): Promise<Page> => (page = await browser.open(url));

  it('serves a valid manifest and service worker; the shell opens from the cache while the relay is down', async () => {
    const dataDir = tempDir();
    const relay = await startRelay({ dataDir });
    const agent = await startAgent(relay.url);
    await open(agent.url);
    await waitForState(page, 'online');

    // The manifest: linked from the page at the app's root, with what installing needs.
    expect(await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel=manifest]')?.href)).toBe(`${relay.url}/manifest.webmanifest`);
    const response = await fetch(`${relay.url}/manifest.webmanifest`);
    expect(response.headers.get('content-type')).toMatch(/^application\/manifest\+json/);
    const manifest = (await response.json()) as {
      name: string;
      short_name: string;
      start_url: string;
      scope: string;
      display: string;
      theme_color: string;
      background_color: string;
      icons: Array<{ src: string; sizes: string; type: string; purpose: string }>;
    };
    expect(manifest).toMatchObject({ name: 'ccremote', short_name: 'ccremote', start_url: './', scope: './', display: 'standalone' });
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/);
    expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/);
    const purposes = new Set<string>();
    for (const icon of manifest.icons.filter((i) => i.type === 'image/png')) {
      const bytes = Buffer.from(await (await fetch(new URL(icon.src, `${relay.url}/manifest.webmanifest`))).arrayBuffer());
      const [width, height] = icon.sizes.split('x').map(Number);
      expect(pngSize(bytes), icon.src).toEqual({ width, height });
      purposes.add(`${icon.purpose} ${icon.sizes}`);
    }
    expect(purposes).toEqual(new Set(['any 192x192', 'any 512x512', 'maskable 512x512']));
    // iOS reads its own tags.
    expect(pngSize(Buffer.from(await (await fetch(`${relay.url}/apple-touch-icon.png`)).arrayBuffer()))).toEqual({ width: 180, height: 180 });
    expect(await page.getAttribute('meta[name=apple-mobile-web-app-capable]', 'content')).toBe('yes');
    expect(await page.getAttribute('meta[name=viewport]', 'content')).toContain('viewport-fit=cover');

    // The service worker: served as script, active, controlling the page, with the shell cached.
    const sw = await fetch(`${relay.url}/sw.js`);
    expect(sw.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL)).toBe(`${relay.url}/sw.js`);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const cached = await page.evaluate(async () => {
      const names = await caches.keys();
      const cache = await caches.open(names.find((n) => n.startsWith('ccremote-shell-'))!);
      return (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
    });
    expect(cached).toEqual(expect.arrayContaining(['/index.html', '/app.js', '/app.css', '/manifest.webmanifest', '/icon-192.png']));

    // The relay goes away; the app still opens, from the cache, and says what is going on.
    await relay.close();
    await page.reload();
    // Read in one go while it waits: the next attempt (a moment later) says "Connecting…".
    const offline = await page.waitForFunction(() =>
      document.body.dataset.state === 'waiting' && document.body.dataset.network === 'unreachable'
        ? { state: document.getElementById('state-text')!.textContent, notice: document.getElementById('notice')!.textContent }
        : undefined,
    );
    const shown = (await offline.jsonValue())!;
    expect(await page.isVisible('.xterm-screen')).toBe(true);
    expect(shown.state).toMatch(/^Relay unreachable · retry in \d+ s$/);
    expect(shown.notice).toMatch(/relay cannot be reached/);
    await page.screenshot({ path: screenshotPath('offline-phone') });
    // It comes back by itself, with the secret remembered on this device (the address no longer has it).
    expect(page.url()).not.toContain('#');
    await startRelay({ dataDir, port: relay.port });
    await waitForState(page, 'online', 15_000);
    await page.keyboard.type('echo back-$((5*5))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^back-25\s*$/m);
  });

  it('a relay serving a newer app replaces the cached one: the page reloads into it once by itself', async () => {
    const dataDir = tempDir();
    const webRoot = tempDir('ccremote-web-');
    cpSync(fileURLToPath(new URL('../dist/web/', import.meta.url)), webRoot, { recursive: true });
    const relay = await startRelay({ dataDir, webRoot });
    const agent = await startAgent(relay.url);
    await open(agent.url);
    await waitForState(page, 'online');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const cacheNames = () => page.evaluate(() => caches.keys()).catch(() => [] as string[]);
    const [oldCache] = await cacheNames();
    expect(oldCache).toMatch(/^ccremote-shell-[0-9a-f]{16}$/);

    // A new release: another shell version, and a script that says which it is.
    await relay.close();
    const sw = join(webRoot, 'sw.js');
    writeFileSync(sw, readFileSync(sw, 'utf8').replace(/ccremote-shell-[0-9a-f]{16}/, 'ccremote-shell-0123456789abcdef'));
    appendFileSync(join(webRoot, 'app.js'), '\nwindow.shellRelease = 2;\n');
    await startRelay({ dataDir, webRoot, port: relay.port });
    // The app is opened again: the old shell comes from the cache at once, finds the new one, and reloads into it.
    await page.reload();
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { shellRelease?: number }).shellRelease).catch(() => undefined), { timeout: 20_000 })
      .toBe(2);
    expect(await cacheNames()).toEqual(['ccremote-shell-0123456789abcdef']);
    await waitForState(page, 'online');
  });

  it('the start page lists the agents this device opened, shows when they go offline, and forgets one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { name: 'laptop <b>' });
    const other = await startAgent(relay.url, { name: 'desktop' });
    await open(other.agent.viewUrl!);
    await waitForState(page, 'online');
    await page.goto(agent.url);
    await waitForState(page, 'online');
    // Once the agent accepted it, the device pairs: it keeps a key of its own (on this device only), forgets
    // the link's secret, and the address bar drops it.
    await page.waitForFunction(() => location.hash === '');
    const secret = agent.url.split('#')[1]!;
    await agent.events.next((e) => e.event === 'paired', 10_000, 'the phone paired');
    // This agent's entry (the other one paired already, read-only, when it was opened).
    await page.waitForFunction(
      (agentId) => (JSON.parse(localStorage.getItem('ccremote.agents.v2') ?? '[]') as Array<{ agentId: string; credential: { kind: string } }>).some((a) => a.agentId === agentId && a.credential.kind === 'device'),
      parseAccessLink(agent.url).agentId,
    );
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    expect(stored).not.toContain(secret);
    const deviceSecret = (JSON.parse(JSON.parse(stored)['ccremote.agents.v2']) as Array<{ agentId: string; credential: { secret: string } }>).find(
      (a) => a.agentId === parseAccessLink(agent.url).agentId,
    )!.credential.secret;

    await page.goto(`${relay.url}/`);
    const row = (name: string) => page.locator('li.agent', { hasText: name });
    await page.waitForFunction(() => document.querySelectorAll('li.agent[data-presence="online"]').length === 2);
    expect(await page.locator('li.agent .agent-name').allTextContents()).toEqual(['laptop <b>', 'desktop']);
    expect(await page.locator('li.agent b').count()).toBe(0);
    expect(await row('desktop').locator('.access').textContent()).toBe('View only');
    expect(await row('laptop').locator('.agent-state').textContent()).toBe('Online');
    expect(await row('laptop').locator('.dot').evaluate((dot) => getComputedStyle(dot).backgroundColor)).toBe('rgb(63, 185, 80)');
    await page.screenshot({ path: screenshotPath('start-phone') });

    // Opening it from the list needs no link: this device remembers it.
    await row('laptop').locator('a').tap();
    await waitForState(page, 'online');
    await page.keyboard.type('echo from-list-$((6*6))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^from-list-36\s*$/m);
    await page.locator('#menu-toggle').tap();
    await page.getByRole('link', { name: 'All terminals' }).tap();
    await page.waitForSelector('li.agent');

    // The agent stops: the list says so without a reload.
    await agent.close();
    await page.waitForFunction(() => document.querySelector('li.agent[data-presence="offline"] .agent-name')?.textContent === 'laptop <b>', undefined, {
      timeout: 15_000,
    });
    expect(await row('laptop').locator('.agent-state').textContent()).toBe('Offline');
    expect(await row('desktop').getAttribute('data-presence')).toBe('online');

    // Forget it: asked first, then gone, its key included.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Forget laptop <b>' }).tap();
    await page.waitForFunction(() => document.querySelectorAll('li.agent').length === 1);
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(deviceSecret);
  });
});
