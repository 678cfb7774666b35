// Past sessions on the phone, in Chromium at phone size against a real relay and agent: the sessions list
// offers the computer's recordings, and the player replays one sealed from the agent: to its end, or
// straight to the moment Claude Code waited for the person.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeBrowser, phoneSuite, screenshotPath, waitForScreen, waitForState } from './helpers/browser.js';
import { startAgent, startRelay } from './helpers/system.js';

/** The text the player's terminal shows. */
const playerScreen = (page: Page): Promise<string> => page.locator('#player-terminal .xterm-rows').innerText();

describeBrowser('past sessions on the phone', () => {
  const browser = phoneSuite();

  it('lists the recordings, replays the live session to its end, and jumps to where Claude Code waited', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { name: 'laptop' });
    // An earlier session, recorded while Claude Code asked something.
    mkdirSync(join(agent.configDir, 'recordings'), { recursive: true });
    writeFileSync(
      join(agent.configDir, 'recordings', '20260101T090000Z-api-abc123.cast'),
      [
        JSON.stringify({ version: 2, width: 40, height: 10, timestamp: 1767258000, title: 'api', command: 'claude' }),
        '[0.5,"o","first answer\\r\\n"]',
        '[2.0,"m","waiting: Claude needs your permission to use Bash"]',
        '[2.0,"o","\\u001b[1mAllow make test?\\u001b[0m\\r\\n"]',
        '[4.0,"o","tests passed\\r\\n"]',
        '',
      ].join('\n'),
    );
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await page.keyboard.type('echo replay-me-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^replay-me-42\s*$/m);

    await page.locator('#sessions-toggle').click();
    await page.getByRole('button', { name: 'Past sessions', exact: true }).click();
    const rows = page.locator('#recording-list .recording');
    await expect.poll(() => rows.count()).toBe(2);
    const texts = await rows.allInnerTexts();
    expect(texts[0]).toMatch(/\/bin\/sh/); // the session running now, newest first
    expect(texts[1]).toMatch(/^api\n[\s\S]*0:04\nclaude · 1 KiB$/);
    await page.screenshot({ path: screenshotPath('recordings-list') });

    // The earlier one, straight to where Claude Code waited: what was on the screen then, not what came after.
    await page.getByRole('button', { name: 'Replay api', exact: true }).click();
    await expect.poll(() => page.locator('#player').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Next wait', exact: true }).click();
    await expect.poll(() => playerScreen(page)).toMatch(/first answer\s+Allow make test\?/);
    expect(await playerScreen(page)).not.toContain('tests passed');
    expect(await page.locator('#player-time').textContent()).toBe('0:02 / 0:04');
    await page.screenshot({ path: screenshotPath('recordings-player') });
    // Played on from there, at 8×, to its end.
    await page.locator('#player-speed').selectOption('8');
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await expect.poll(() => page.locator('#player').getAttribute('data-state'), { timeout: 10_000 }).toBe('ended');
    // Ended is where the playback stands; the terminal draws what it was given a moment later.
    await expect.poll(() => playerScreen(page)).toMatch(/first answer\s+Allow make test\?\s+tests passed/);
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    await expect.poll(() => page.locator('#player').isHidden()).toBe(true);

    // The live session's own recording, replayed to its end, shows what the session printed.
    await page.locator('#sessions-toggle').click();
    await page.getByRole('button', { name: 'Past sessions', exact: true }).click();
    await expect.poll(() => rows.count()).toBe(2);
    await rows.nth(0).getByRole('button').click();
    // Its length is known once it is downloaded and the player shows it (the slider keeps the last one's till then).
    await expect.poll(() => page.locator('#player').isVisible()).toBe(true);
    await page.locator('#player-seek').fill(await page.locator('#player-seek').getAttribute('max') ?? '0');
    await expect.poll(() => playerScreen(page)).toMatch(/^replay-me-42\s*$/m);
  });

  it('a read-only link is not offered past sessions', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const page = await browser.open(agent.agent.viewUrl!);
    await waitForState(page, 'online');
    await page.locator('#sessions-toggle').click();
    expect(await page.locator('#past-sessions').isHidden()).toBe(true);
  });
});
