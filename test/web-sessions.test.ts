// The phone page and the computer's sessions, in Chromium at phone size against real relays, agents and
// PTYs: the session button and list, switching in one tap without a page load, the New session sheet (a
// shell, in a folder browsed under the agent's roots, in a new worktree), ending one with a confirmation,
// an ended session's last screen, a read-only link that can only watch, and an alert about another session
// that names it and shows it when tapped.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeBrowser, phoneSuite, screenshotPath, terminalSize, waitForScreen, waitForState } from './helpers/browser.js';
import { claudeStandIn } from './helpers/fake-anthropic.js';
import { shellEnv, startAgent, startRelay, TestClient } from './helpers/system.js';

describeBrowser('sessions on the phone', () => {
  const browser = phoneSuite();
  const button = (page: Page, name: string | RegExp) => page.getByRole('button', { name, exact: typeof name === 'string' });

  it('lists the sessions, switches in one tap without a page load, starts a shell in a browsed folder, and ends one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    mkdirSync(join(agent.cwd, 'projects', 'website'), { recursive: true });
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await page.keyboard.type('echo first-session-$((2*3))\r');
    await waitForScreen(page, 'first-session-6');
    const loads: string[] = [];
    page.on('framenavigated', (frame) => frame === page.mainFrame() && loads.push(frame.url()));

    // New session: a shell, in a folder chosen by browsing.
    await page.locator('#sessions-toggle').click();
    await button(page, 'New session').click();
    await page.getByLabel('A shell').check();
    await page.locator('#folder-list').getByRole('button', { name: realpathSync(agent.cwd), exact: true }).click();
    await page.locator('#folder-list').getByRole('button', { name: 'projects', exact: true }).click();
    await page.locator('#folder-list').getByRole('button', { name: 'website', exact: true }).click();
    await expect.poll(() => page.locator('#new-folder').textContent()).toBe(realpathSync(join(agent.cwd, 'projects', 'website')));
    await page.screenshot({ path: screenshotPath('sessions-new-sheet') });
    await button(page, 'Start').click();
    await expect.poll(() => page.locator('#new-session-form').isHidden()).toBe(true);
    // The new session is shown at once: its shell runs in the chosen folder.
    await page.keyboard.type('pwd; echo second-session-$((3*3))\r');
    await waitForScreen(page, 'second-session-9');
    await waitForScreen(page, realpathSync(join(agent.cwd, 'projects', 'website')));
    expect(await page.locator('#session-name').textContent()).toBe('website · sh');

    // The list names both; one tap goes back to the first, whose screen comes back.
    await page.locator('#sessions-toggle').click();
    const rows = page.locator('#session-list .session');
    await expect.poll(() => rows.count()).toBe(2);
    await page.screenshot({ path: screenshotPath('sessions-list') });
    const texts = await rows.allInnerTexts();
    expect(texts[0]).toMatch(/Running/);
    expect(texts[1]).toMatch(/website · sh[\s\S]*Running[\s\S]*projects\/website/);
    await rows.nth(0).locator('.session-open').click();
    await waitForScreen(page, 'first-session-6');
    expect(await page.locator('#session-name').textContent()).not.toBe('website · sh');
    expect(loads).toEqual([]); // no page load
    // Keys typed now go to the first session only.
    await page.keyboard.type('echo back-in-first > back.txt\r');
    await expect.poll(() => { try { return readFileSync(join(agent.cwd, 'back.txt'), 'utf8'); } catch { return ''; } }).toBe('back-in-first\n');

    // End the second, after a confirmation; its last screen stays readable, then it is dismissed.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('#sessions-toggle').click();
    await page.getByRole('button', { name: 'End website · sh' }).click();
    await expect.poll(() => rows.nth(1).innerText()).toMatch(/Ended/);
    await rows.nth(1).locator('.session-open').click();
    await waitForScreen(page, 'second-session-9');
    await page.locator('#sessions-toggle').click();
    // The list changes under the panel's buttons and they stay where they were: a finger about to tap
    // New session never lands on what moved there.
    const before = await button(page, 'New session').boundingBox();
    await page.getByRole('button', { name: 'Dismiss website · sh' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(before).not.toBeNull();
    expect(await button(page, 'New session').boundingBox()).toEqual(before);
  });

  it('an alert that comes and goes moves nothing: the terminal keeps its size, and the tap that dismisses it lands where it was aimed', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await page.keyboard.type('echo ready-$((3*4))\r');
    await waitForScreen(page, 'ready-12');
    const size = () => terminalSize(page);
    const startSize = await size();
    const terminalBox = await page.locator('#terminal').boundingBox();
    await page.locator('#sessions-toggle').click();
    await button(page, 'New session').click();
    const shell = page.getByLabel('A shell');
    const aimed = await shell.boundingBox();
    // The session rings its bell while the sheet is open (typed from another device, so this page is not touched).
    const other = new TestClient(agent.url);
    await other.waitForState('online');
    other.type("printf 'rang-%s\\a\\n' $((7*6))\r");
    await other.waitForOutput('rang-42');
    await page.waitForSelector('#attention:not([hidden])');
    expect(aimed).not.toBeNull();
    expect(await shell.boundingBox()).toEqual(aimed);
    expect(await page.locator('#terminal').boundingBox()).toEqual(terminalBox);
    expect(await size()).toEqual(startSize);
    // The tap dismisses the alert (the person is here) and still chooses what it was aimed at.
    await page.mouse.click(aimed!.x + aimed!.width / 2, aimed!.y + aimed!.height / 2);
    await page.waitForSelector('#attention', { state: 'hidden' });
    expect(await shell.isChecked()).toBe(true);
    expect(await size()).toEqual(startSize);
  });

  it('starts a session in a new git worktree, and says why a start is refused', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { maxSessions: 2 });
    const repo = join(agent.cwd, 'repo');
    mkdirSync(repo);
    const env = { ...shellEnv(agent.cwd), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    for (const args of [['init', '-q', '-b', 'main'], ['commit', '-q', '--allow-empty', '-m', 'first']]) execFileSync('git', args, { cwd: repo, env });
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await page.locator('#sessions-toggle').click();
    await button(page, 'New session').click();
    await page.getByLabel('A shell').check();
    await page.locator('#folder-list').getByRole('button', { name: realpathSync(agent.cwd), exact: true }).click();
    await page.locator('#folder-list').getByRole('button', { name: 'repo (git)', exact: true }).click();
    await page.getByLabel('In a new git worktree, on a new branch').check();
    await page.getByLabel('New branch name').fill('try/phone');
    await button(page, 'Start').click();
    // Once it started, the sheet closes and the new session is on screen (making the worktree takes git a moment).
    await expect.poll(() => page.locator('#new-session-form').isHidden(), { timeout: 15_000 }).toBe(true);
    await page.keyboard.type('git rev-parse --abbrev-ref HEAD\r');
    await waitForScreen(page, 'try/phone');
    // A third one is beyond --max-sessions 2: the sheet says so and stays open.
    await page.locator('#sessions-toggle').click();
    await button(page, 'New session').click();
    await page.getByLabel('A shell').check();
    await button(page, 'Start').click();
    await expect.poll(() => page.locator('#new-error').textContent()).toMatch(/already runs 2 sessions/);
    expect(await page.locator('#new-session-form').isVisible()).toBe(true);
  });

  it('a read-only link lists and watches sessions but offers no New, End or Dismiss', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const owner = new TestClient(agent.url);
    await owner.waitForState('online');
    const second = await owner.session.startSession({ kind: 'shell' });
    owner.session.watch(second);
    owner.type('echo watched-by-viewer-$((4*4))\r');
    await owner.waitForOutput('watched-by-viewer-16');
    const page = await browser.open(agent.agent.viewUrl!);
    await waitForState(page, 'online');
    await page.locator('#sessions-toggle').click();
    await expect.poll(() => page.locator('#session-list .session').count()).toBe(2);
    expect(await page.locator('#new-session').isVisible()).toBe(false);
    expect(await page.locator('#session-list .session-action').count()).toBe(0);
    await page.locator('#session-list .session-open').nth(1).click();
    await waitForScreen(page, 'watched-by-viewer-16');
  });

  it('closing the terminal tears down its connection and every listener it added to the window and the document', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await agent.events.next((e) => e.event === 'clients' && e.count === 1, 10_000, 'the page attached');
    const cdp = await page.context().newCDPSession(page);
    /** The listeners on the window and the document, by event type (as DevTools lists them). */
    const listeners = async (): Promise<Record<string, number>> => {
      const counts: Record<string, number> = {};
      for (const expression of ['window', 'document']) {
        const { result } = await cdp.send('Runtime.evaluate', { expression });
        const { listeners: found } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId! });
        for (const l of found) counts[`${expression}:${l.type}`] = (counts[`${expression}:${l.type}`] ?? 0) + 1;
      }
      return counts;
    };
    const before = await listeners();
    for (const type of ['window:online', 'window:orientationchange', 'window:focus', 'document:visibilitychange']) expect(before[type], type).toBeGreaterThan(0);
    await page.evaluate(() => (window as unknown as { ccremote: { close(): void } }).ccremote.close());
    await agent.events.next((e) => e.event === 'clients' && e.count === 0, 10_000, 'the page gone from the agent');
    const after = await listeners();
    for (const type of ['window:online', 'window:orientationchange', 'window:focus', 'window:keydown', 'document:visibilitychange']) expect(after[type] ?? 0, type).toBeLessThan(before[type] ?? 0);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('closed');
  });

  it('an alert about another session names it, goes when the person touches the screen elsewhere, and a tap on it shows that session', { timeout: 60_000 }, async () => {
    const claude = claudeStandIn();
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { claudeCommand: claude });
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await page.keyboard.type('echo on-session-one\r');
    await waitForScreen(page, 'on-session-one');
    const owner = new TestClient(agent.url, { watch: 'none' });
    await owner.waitForState('online');
    const second = await owner.session.startSession({ kind: 'claude' });
    owner.session.watch(second);
    await owner.waitForOutput('waiting-for-enter');
    owner.type('\r');
    await owner.waitForOutput('hook-ran');
    // The page, on session one, hears that the other one waits: named, marked on the session button.
    const notice = page.locator('#attention');
    await expect.poll(() => notice.textContent(), { timeout: 15_000 }).toMatch(/: Claude needs your permission to use Bash \(tap to show it\)$/);
    const name = owner.session.sessions.find((s) => s.terminal === second)?.name ?? '';
    expect(await notice.textContent()).toContain(name);
    await expect.poll(() => page.locator('#sessions-waiting').textContent()).toBe('1');
    await page.screenshot({ path: screenshotPath('sessions-alert') });
    // A touch elsewhere means the person read it: it stops covering the screen, and the session button
    // still says one session waits.
    const box = (await page.locator('#terminal').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await notice.waitFor({ state: 'hidden' });
    expect(await page.locator('#sessions-waiting').textContent()).toBe('1');
    // It asks again; this time the tap is on the notice.
    owner.type('\r');
    await notice.waitFor({ state: 'visible', timeout: 15_000 });
    await notice.tap();
    await waitForScreen(page, 'hook-ran');
    expect(await page.locator('#session-name').textContent()).toBe(name);
  });
});
