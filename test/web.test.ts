// The web terminal in headless Chromium at phone size: it opens the printed link, types, shows output,
// interrupts with its Ctrl-C key, renders split UTF-8, never turns names into HTML, and reconnects by
// itself after the relay restarts. (Every key's exact bytes: phone.test.ts.)

import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { describeBrowser, phoneSuite, screenText, screenshotPath, terminalSize, waitForScreen, waitForState } from './helpers/browser.js';
import { existsSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';
import { HostileRelay } from './helpers/hostile-relay.js';
import { redisAvailable, startRedis } from './helpers/redis.js';


/** Resolves once `path` exists (watching its directory). */
function waitForFile(path: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dirname(path), (_event, name) => {
      if (name === basename(path) && existsSync(path)) {
        watcher.close();
        resolve();
      }
    });
    if (existsSync(path)) {
      watcher.close();
      resolve();
    }
  });
}

describeBrowser('web terminal', () => {
  const browser = phoneSuite();
  let page: Page;
  const open = async (url: string, initScript?: () => void): Promise<Page> => (page = await browser.open(url, initScript));

  it('opens the printed link, types a command and shows its output', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    await open(agent.url);
    await waitForState(page, 'online');
    await page.keyboard.type('echo "browser says $((6*7))"');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'browser says 42');
    expect(await page.textContent('#state-text')).toBe('Connected');
    // Its boxes are sealed and opened in WebAssembly, which the relay's page policy allows.
    expect(await page.evaluate(() => (window as unknown as { ccremote: { cipher: string } }).ccremote.cipher)).toBe('WebAssembly');
    // The PTY has the size of the terminal on the page.
    const { rows, cols } = await terminalSize(page);
    const size = `${rows} ${cols}`;
    expect(size).toMatch(/^\d+ \d+$/);
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    await waitForScreen(page, new RegExp(`^${size}\\s*$`, 'm'));
    await page.screenshot({ path: screenshotPath('terminal-phone') });
  });

  it.skipIf(!redisAvailable)('in a relay group whose relays have addresses of their own, the page from relay B connects straight to relay A, which serves the agent', async () => {
    const redis = await startRedis();
    const a = await startRelay({ redis: redis.url, directUrl: true });
    const b = await startRelay({ redis: redis.url, directUrl: true });
    const agent = await startAgent(a.url);
    // The page comes from B; its socket goes to A (B's page policy allows it, A takes B's origin).
    await open(agent.url.replace(/^https?:\/\/[^/]+/, b.url));
    await waitForState(page, 'online');
    await page.keyboard.type('echo "straight to A $((6*7))"');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'straight to A 42');
    expect(b.logs.items).toContainEqual(expect.objectContaining({ event: 'client_directed' }));
    expect(b.logs.items.filter((e) => e.event === 'client_forwarded')).toEqual([]);
    expect(a.relay.stats().clients).toBe(1);
  });

  it('the Ctrl-C key interrupts a running program', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: '/bin/bash', args: ['--norc', '--noprofile', '-i'] });
    await open(agent.url);
    await waitForState(page, 'online');
    await page.keyboard.type('echo "sleeping-$((1+1))"; sleep 60');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^sleeping-2\s*$/m);
    await page.tap('button[data-key="Control C"]');
    await page.keyboard.type('echo interrupted-$((1+1))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^interrupted-2\s*$/m, 5000);
  });

  it('renders a character split across output frames, and shows names as text only', async () => {
    const relay = await startRelay();
    const name = '<img src=x onerror="window.__pwned=1">';
    const agent = await startAgent(relay.url, {
      name,
      command: '/bin/sh',
      args: ['-c', "stty -echo; printf 'ready\\n'; read x; printf '\\344'; read y; printf '\\270\\255\\346\\226\\207 ok\\n'; exec /bin/sh"],
    });
    const watcher = new TestClient(agent.url, { history: 'bytes' });
    await open(agent.url);
    await waitForScreen(page, 'ready');
    await page.keyboard.press('Enter');
    // The page has now received the first byte of 中 on its own.
    await watcher.chunks.until(() => watcher.output[watcher.output.length - 1] === 0xe4, 10_000, 'the lone first byte');
    await page.keyboard.press('Enter');
    await waitForScreen(page, '中文 ok');
    expect(await page.textContent('#agent-name')).toBe(name);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('#agent-name img').count()).toBe(0);
  });

  it('after missing more output than the agent keeps, restores the screen from a snapshot and says so', async () => {
    const dataDir = tempDir();
    const first = await startRelay({ dataDir });
    const agent = await startAgent(first.url, { bufferSize: 64 * 1024 });
    await open(agent.url);
    await waitForState(page, 'online');
    // A short command line, so that nothing waited for is split by line wrapping on the narrow screen.
    writeFileSync(
      join(agent.cwd, 'flood.sh'),
      'echo "waiting $((1+1))"\nwhile [ ! -e go ]; do sleep 0.05; done\nseq 1 40000\necho "after the flood $((1+1))"\ntouch done\n',
    );
    await page.keyboard.type('sh flood.sh');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^waiting 2\s*$/m);
    await first.close();
    await page.waitForFunction(() => document.body.dataset.state !== 'online');
    const done = waitForFile(join(agent.cwd, 'done'));
    writeFileSync(join(agent.cwd, 'go'), '');
    await done;
    await startRelay({ dataDir, port: first.port });
    await waitForState(page, 'online', 15_000);
    await waitForScreen(page, /^39999\s*$[\s\S]*^40000\s*$[\s\S]*after the flood 2/m, 15_000);
    await page.waitForFunction(() => document.body.dataset.resync !== undefined);
    expect(await page.evaluate(() => document.body.dataset.resync)).toBe('restored');
    expect(await page.textContent('#notice')).toMatch(/screen was restored/);
    await page.screenshot({ path: screenshotPath('restored-phone') });
  });

  it('says so when the agent cannot restore the screen, instead of showing a blank one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, {
      args: ['-c', 'printf "\\033[1;1HSTATUS LINE"; seq 1 40000; echo "after the flood $((1+1))"; read x'],
      bufferSize: 64 * 1024,
      mirrorWorker: join(tempDir(), 'no-such-worker.js'),
    });
    await agent.events.next((e) => e.event === 'warning', 10_000, 'the mirror warning');
    const watcher = new TestClient(agent.url, { history: 'bytes' });
    await watcher.waitForOutput('after the flood 2', 20_000);
    await open(agent.url);
    await waitForState(page, 'online');
    await waitForScreen(page, /^40000\s*$[\s\S]*after the flood 2/m);
    await page.waitForFunction(() => document.body.dataset.resync === 'unavailable');
    expect(await page.textContent('#notice')).toMatch(/screen could not be restored/);
    expect(await screenText(page)).not.toContain('STATUS LINE');
    await page.screenshot({ path: screenshotPath('screen-unavailable-phone') });
  });

  it('types through a relay that sees only sealed bytes; a read-only link shows the terminal without keys', async () => {
    const relay = await startRelay();
    const hostile = await HostileRelay.start(relay.url);
    try {
      const agent = await startAgent(hostile.url);
      const through = (url: string): string => url.replace(relay.url, hostile.url);
      await open(through(agent.url));
      await waitForState(page, 'online');
      const typed = 'browser-marker-5d1e';
      // Pasted, so that the whole marker travels in one input record.
      await page.keyboard.insertText(`echo ${typed} | tr a-z A-Z`);
      await page.keyboard.press('Enter');
      await waitForScreen(page, typed.toUpperCase());
      expect(hostile.messages('client', 'up').some((m) => m.binary)).toBe(true);
      expect(hostile.seen.items.filter((m) => m.data.includes(typed) || m.data.includes(typed.toUpperCase()))).toEqual([]);

      const viewer = await browser.context.newPage();
      try {
        await viewer.goto(through(agent.agent.viewUrl!));
        await waitForState(viewer, 'online');
        await waitForScreen(viewer, typed.toUpperCase());
        expect(await viewer.textContent('#access')).toBe('View only');
        expect(await viewer.isVisible('#keys')).toBe(false);
        const inputsBefore = hostile.messages('client', 'up').filter((m) => m.binary).length;
        await viewer.click('#terminal');
        await viewer.keyboard.type('echo from-viewer');
        await viewer.keyboard.press('Enter');
        await page.keyboard.type('echo owner-$((4+4))');
        await page.keyboard.press('Enter');
        await waitForScreen(viewer, /^owner-8\s*$/m);
        expect(await screenText(viewer)).not.toContain('from-viewer');
        // The viewer sent no input at all (only the owner's keystrokes went up).
        const inputs = hostile.messages('client', 'up').filter((m) => m.binary);
        expect(new Set(inputs.slice(inputsBefore).map((m) => m.connection)).size).toBe(1);
        await viewer.screenshot({ path: screenshotPath('read-only-phone') });
      } finally {
        await viewer.close();
      }
    } finally {
      await hostile.close();
    }
  });

  it('asks for the PIN of a link that needs one, says when it is wrong, and opens with the right one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { pin: '424242' });
    await open(agent.url);
    await page.waitForSelector('#pin-form:not([hidden])');
    expect(await page.getAttribute('#pin-input', 'type')).toBe('password');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('pin-input');
    await page.fill('#pin-input', '4242');
    await page.press('#pin-input', 'Enter');
    await page.waitForSelector('#pin-form[data-error]');
    expect(await page.textContent('#pin-text')).toMatch(/at least 6/);
    await page.fill('#pin-input', '424243');
    await page.click('#pin-submit');
    await page.waitForFunction(() => /Wrong PIN/.test(document.getElementById('pin-text')?.textContent ?? ''));
    expect(await page.isVisible('#pin-form')).toBe(true);
    await page.screenshot({ path: screenshotPath('pin-wrong-phone') });
    await page.fill('#pin-input', '424242');
    await page.press('#pin-input', 'Enter');
    await waitForState(page, 'online');
    expect(await page.isVisible('#pin-form')).toBe(false);
    await page.keyboard.type('echo unlocked-$((40+2))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^unlocked-42\s*$/m);
    // The PIN went nowhere: not into the address, storage or cookies.
    expect(page.url()).not.toContain('424242');
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie)).not.toContain('424242');
  });

  it('pairs on opening the link; the menu lists the paired devices and revokes one, which loses access at once', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    await open(agent.url);
    await waitForState(page, 'online');
    const paired = await agent.events.next((e) => e.event === 'paired', 10_000, 'the phone paired');
    expect(paired).toMatchObject({ name: expect.stringMatching(/^Chrome on /), access: 'full' });
    const other = new TestClient(agent.url, { pair: 'old laptop' });
    const otherDevice = await other.pairings.next(() => true);
    other.close();
    const laptop = new TestClient(agent.url, { credential: { kind: 'device', id: otherDevice.id, secret: otherDevice.secret, readOnly: false } });
    await laptop.waitForState('online');

    await page.locator('#menu-toggle').tap();
    await page.getByRole('button', { name: 'Devices' }).tap();
    await page.waitForSelector('li.device[data-device]');
    expect(await page.locator('li.device .device-name').allTextContents()).toEqual([expect.stringMatching(/^Chrome on .* \(this device\)$/), 'old laptop']);
    await page.screenshot({ path: screenshotPath('devices-phone') });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke old laptop' }).tap();
    await page.waitForFunction(() => document.querySelectorAll('li.device[data-device]').length === 1);
    expect(await laptop.waitForState('failed')).toMatchObject({ reason: expect.stringMatching(/not paired/) });
    // This device goes on, under the agent's new output key.
    await page.locator('#devices-close').tap();
    await page.locator('.xterm').tap();
    await page.keyboard.type('echo "still mine $((2+3))"');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'still mine 5');
  });

  it('hostile output cannot write the clipboard (OSC 52) or run script through a hyperlink (OSC 8)', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    await open(agent.url, () => {
      // Record every way a page could write the clipboard.
      const writes: string[] = [];
      Object.assign(window, { clipboardWrites: writes });
      if (navigator.clipboard) {
        navigator.clipboard.writeText = async (text: string) => void writes.push(text);
        navigator.clipboard.write = async () => void writes.push('write');
      }
      const execCommand = document.execCommand.bind(document);
      document.execCommand = (command: string, ...rest: [boolean?, string?]) => {
        if (command === 'copy' || command === 'cut') writes.push(command);
        return execCommand(command, ...rest);
      };
    });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await waitForState(page, 'online');
    writeFileSync(
      join(agent.cwd, 'hostile.sh'),
      "printf '\\033]52;c;cHduZWQ=\\007'\n" +
        "printf '\\033]8;;javascript:window.pwned=1\\007EVIL-LINK\\033]8;;\\007\\n'\n" +
        "printf '\\033]8;;https://example.invalid/x\\007GOOD-LINK\\033]8;;\\007\\n'\n",
    );
    await page.keyboard.type('sh hostile.sh');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^GOOD-LINK/m);
    /** Hovers, then clicks, the start of the screen row that begins with `text`. */
    const clickRow = async (text: string): Promise<void> => {
      const box = await page.evaluate((wanted) => {
        const row = Array.from(document.querySelectorAll('.xterm-rows > div')).find((r) => r.textContent?.startsWith(wanted));
        const rect = row!.getBoundingClientRect();
        return { x: rect.x, y: rect.y, height: rect.height };
      }, text);
      await page.mouse.move(box.x + 20, box.y + box.height / 2);
      await page.mouse.move(box.x + 25, box.y + box.height / 2);
      await page.mouse.click(box.x + 25, box.y + box.height / 2);
    };
    await clickRow('EVIL-LINK');
    await clickRow('GOOD-LINK');
    // The http link asks first (and was dismissed); the javascript: link, clicked before it, was never a link.
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs).toEqual([expect.stringContaining('https://example.invalid/x')]);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.evaluate(() => (window as unknown as { clipboardWrites: string[] }).clipboardWrites)).toEqual([]);
  });

  it('says clearly when the link has no secret, or a wrong one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    await open(agent.url.split('#')[0]!);
    await waitForState(page, 'failed');
    expect(await page.textContent('#message-text')).toMatch(/missing its secret/);
    await page.goto(`${agent.url.split('#')[0]}#${'A'.repeat(43)}`);
    await page.reload();
    await waitForState(page, 'failed');
    expect(await page.textContent('#message-text')).toMatch(/link is not valid/);
    await page.screenshot({ path: screenshotPath('bad-link-phone') });
  });

  it('reconnects by itself after the relay restarts, resumes without losing output, and keeps working', async () => {
    const dataDir = tempDir();
    const first = await startRelay({ dataDir });
    const agent = await startAgent(first.url);
    await open(agent.url);
    await waitForState(page, 'online');
    // Output produced while the relay is down must reach the page afterwards: the command prints once
    // the file "go" exists, then creates "done".
    await page.keyboard.type('while [ ! -e go ]; do sleep 0.05; done; echo "made while away $((20+1))"; touch done');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'touch done');
    await first.close();
    await page.waitForFunction(() => document.body.dataset.state !== 'online');
    expect(await page.textContent('#state-text')).toMatch(/Reconnecting|Connecting/);
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').length > 0);
    expect(await page.textContent('#notice')).toMatch(/restarting|lost/);
    await page.screenshot({ path: screenshotPath('reconnecting-phone') });
    const done = waitForFile(join(agent.cwd, 'done'));
    writeFileSync(join(agent.cwd, 'go'), '');
    await done;
    await startRelay({ dataDir, port: first.port });
    await waitForState(page, 'online', 15_000);
    await waitForScreen(page, 'made while away 21', 15_000);
    await page.waitForFunction(() => document.body.dataset.resync !== undefined);
    expect(await page.evaluate(() => document.body.dataset.resync)).toBe('resumed');
    expect(await page.textContent('#state-text')).toBe('Connected');
    expect(await page.textContent('#notice')).toMatch(/nothing was missed/);
    await page.screenshot({ path: screenshotPath('resumed-phone') });
    await page.keyboard.type('echo again-$((9+9))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'again-18');
    expect((await screenText(page)).match(/made while away 21/g)).toHaveLength(1);
  });
});
