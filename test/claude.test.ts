// The program ccremote exists for: the real Claude Code CLI running inside the agent, against a local
// fake of the Messages API, driven from a phone-sized browser.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { describeBrowser, phoneSuite, screenshotPath, screenText, waitForScreen, waitForState } from './helpers/browser.js';
import { CLAUDE, claudeEnv, startClaudeAgent, type FakeAnthropic, type FakeRequest } from './helpers/fake-anthropic.js';
import { listShown, recordShown } from './helpers/browser-push.js';
import { atCleanup, childProcesses, startRelay } from './helpers/system.js';

/** The next message request at the API that holds `text`; if none comes, the error shows what the page showed. */
async function messageAtApi(api: FakeAnthropic, page: Page, text: string, what: string): Promise<FakeRequest> {
  try {
    return await api.requests.next((r) => r.path === '/v1/messages' && JSON.stringify(r.body?.messages ?? '').includes(text), 30_000, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}; the page showed:\n${await screenText(page)}`);
  }
}

/** The process of the Claude Code this test process started (through an agent) in `project`. */
function claudeProcess(project: string): number {
  const folder = realpathSync(project);
  const found = childProcesses().filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === folder;
    } catch {
      return false; // it ended while we looked
    }
  });
  expect(found).toHaveLength(1);
  return found[0]!;
}

describeBrowser('Claude Code through ccremote', () => {
  const browser = phoneSuite();

  it('a prompt typed in the browser reaches the API and the reply shows on the page', async () => {
    const relay = await startRelay();
    const { api, agent } = await startClaudeAgent(relay.url, (request) => {
      const text = JSON.stringify(request.body?.messages ?? '');
      return text.includes('ping-from-phone') ? 'PONG-FROM-FAKE-API 42' : 'ok';
    });
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    // Claude Code's prompt box is up when its shortcut hint shows.
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    await page.keyboard.type('ping-from-phone');
    await waitForScreen(page, 'ping-from-phone');
    await page.keyboard.press('Enter');
    const request = await messageAtApi(api, page, 'ping-from-phone', 'the prompt at the API');
    expect(request.body?.stream).toBe(true);
    await waitForScreen(page, 'PONG-FROM-FAKE-API 42', 30_000);
    await page.screenshot({ path: screenshotPath('claude-code-phone') });
  });

  it('a prompt sent from the composer gets its reply, and Claude Code waiting for the person reaches the hidden page as an alert', async () => {
    const relay = await startRelay();
    const { api, agent } = await startClaudeAgent(relay.url, (request) => {
      const text = JSON.stringify(request.body?.messages ?? '');
      return text.includes('composed-prompt') ? 'REPLY-TO-COMPOSER 7' : 'ok';
    });
    await browser.context.grantPermissions(['notifications'], { origin: relay.url });
    // What the page asks the browser to show is recorded in it (recordShown).
    const page = await browser.open(agent.url, recordShown);
    await waitForState(page, 'online');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    // The person switches to another app: the page is hidden.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.hasFocus = () => false;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.getByRole('button', { name: 'Compose text', exact: true }).tap();
    await page.getByRole('textbox', { name: 'Text to send' }).fill('composed-prompt: say hi');
    await page.getByRole('button', { name: 'Send', exact: true }).tap();
    await messageAtApi(api, page, 'composed-prompt', 'the composed prompt at the API');
    await waitForScreen(page, 'REPLY-TO-COMPOSER 7', 30_000);
    // Claude Code's Stop hook reached the agent, and the page shows it: notice, title, system notification.
    await page.waitForSelector('#attention:not([hidden])', { timeout: 30_000 });
    expect(await page.textContent('#attention')).toBe('Claude finished and is waiting for you.');
    expect(await page.title()).toMatch(/^● /);
    await expect
      .poll(async () => (await page.evaluate(listShown)).map((n) => `${n.body} (${n.outcome})`), { timeout: 10_000 })
      .toEqual([expect.stringMatching(/Claude finished and is waiting for you\. \(shown\)$/)]);
    await page.screenshot({ path: screenshotPath('attention-phone') });
    // The person comes back: the marks go away.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.waitForSelector('#attention', { state: 'hidden' });
    expect(await page.title()).not.toMatch(/^● /);
  }, 120_000);

  it('a message sent from the composer while Claude Code is too busy to read reaches it whole once it reads again', async () => {
    const relay = await startRelay();
    const { api, agent, project } = await startClaudeAgent(relay.url, (request) => {
      const text = JSON.stringify(request.body?.messages ?? '');
      return text.includes('sent-while-busy') ? 'ANSWER-AFTER-THE-WAIT 5' : 'ok';
    });
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    // Claude Code is stopped, as if busy: the paste waits at the terminal, with nothing printed. The
    // Enter must not go before Claude Code read the paste (read together, Claude Code takes the Enter as
    // part of the paste and the message stays in its prompt box).
    const claude = claudeProcess(project);
    process.kill(claude, 'SIGSTOP');
    const resume = (): void => {
      try {
        process.kill(claude, 'SIGCONT');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // it has ended
      }
    };
    atCleanup(resume);
    await page.getByRole('button', { name: 'Compose text', exact: true }).tap();
    await page.getByRole('textbox', { name: 'Text to send' }).fill('sent-while-busy: two lines\nof text');
    await page.getByRole('button', { name: 'Send', exact: true }).tap();
    await expect.poll(() => page.getByRole('textbox', { name: 'Text to send' }).inputValue()).toBe('');
    // Busy for 1.5 s: longer than the page used to wait (1 s), well inside the 5 s it waits for the paste
    // to show, so that Claude Code has time to draw its screen and the paste on a slow machine too.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    resume();
    const request = await messageAtApi(api, page, 'sent-while-busy', 'the message at the API');
    expect(JSON.stringify(request.body?.messages)).toContain('of text');
    await waitForScreen(page, 'ANSWER-AFTER-THE-WAIT 5', 30_000);
  }, 120_000);

  it('a second session resumes a conversation the API answered before, chosen from the folder\'s conversations; a third starts a new one', async () => {
    const relay = await startRelay();
    const { api, agent, project } = await startClaudeAgent(
      relay.url,
      (request) => {
        const text = JSON.stringify(request.body?.messages ?? '');
        if (text.includes('third-prompt-new-conversation')) return text.includes('first-prompt-to-resume') ? 'NEW-WITH-OLD-HISTORY' : 'NEW-CONVERSATION 5';
        if (text.includes('second-prompt-after-resume')) return text.includes('first-prompt-to-resume') ? 'RESUMED-WITH-HISTORY 9' : 'RESUMED-WITHOUT-HISTORY';
        return text.includes('first-prompt-to-resume') ? 'FIRST-ANSWER 3' : 'ok';
      },
      {
        // An earlier conversation in the project, as Claude Code keeps it.
        before: async ({ home, project: folder, api: fake }) => {
          const { stdout } = await promisify(execFile)(CLAUDE, ['-p', 'first-prompt-to-resume'], { cwd: folder, env: claudeEnv(home, fake.url), encoding: 'utf8', timeout: 60_000 });
          expect(stdout).toContain('FIRST-ANSWER 3');
        },
      },
    );
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    await page.locator('#sessions-toggle').click();
    await page.getByRole('button', { name: 'New session', exact: true }).click();
    await page.getByLabel('Claude Code, resume a conversation').check();
    // The recent folders start with the agent's own: the project.
    await page.locator('#folder-list').getByRole('button', { name: realpathSync(project), exact: true }).click();
    const conversation = page.locator('#conversation-list label', { hasText: 'first-prompt-to-resume' });
    await conversation.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: screenshotPath('claude-resume-sheet') });
    await conversation.locator('input').check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.locator('#new-session-form').isHidden(), { timeout: 15_000 }).toBe(true);
    await waitForScreen(page, /for shortcuts|Try "|first-prompt-to-resume/, 30_000);
    await page.keyboard.type('second-prompt-after-resume');
    await waitForScreen(page, 'second-prompt-after-resume');
    await page.keyboard.press('Enter');
    await messageAtApi(api, page, 'second-prompt-after-resume', 'the second prompt at the API');
    await waitForScreen(page, 'RESUMED-WITH-HISTORY 9', 30_000);

    // A third: Claude Code in a new conversation, in the same folder, started from the sheet.
    await page.locator('#sessions-toggle').click();
    await page.getByRole('button', { name: 'New session', exact: true }).click();
    await page.getByLabel('Claude Code, new conversation').check();
    await page.locator('#folder-list').getByRole('button', { name: realpathSync(project), exact: true }).click();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => page.locator('#new-session-form').isHidden(), { timeout: 15_000 }).toBe(true);
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    await page.keyboard.type('third-prompt-new-conversation');
    await waitForScreen(page, 'third-prompt-new-conversation');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'NEW-CONVERSATION 5', 30_000);
    // Three sessions, each its own: the resumed one's screen is not this one's.
    await page.locator('#sessions-toggle').click();
    await expect.poll(() => page.locator('#session-list .session').count()).toBe(3);
    await page.locator('#session-list .session').nth(1).locator('.session-open').click();
    await waitForScreen(page, 'RESUMED-WITH-HISTORY 9', 30_000);
    expect(await page.locator('.xterm-rows').innerText()).not.toContain('third-prompt-new-conversation');
  }, 120_000);

  it('a permission prompt reaches the page with what it wants; the "1" action answers it at the terminal, and the page\'s prompt goes', async () => {
    const relay = await startRelay();
    const { api, agent, project } = await startClaudeAgent(relay.url, (request) => {
      const text = JSON.stringify(request.body?.messages ?? '');
      if (text.includes('tool_result')) return text.includes('tool-ran-11') ? 'TOOL-DONE 11' : 'TOOL-OUTPUT-MISSING';
      return text.includes('run-the-tool') ? { tool: 'Bash', input: { command: 'touch made-by-tool && echo tool-ran-$((5+6))', description: 'Make a file' } } : 'ok';
    });
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    await page.keyboard.type('run-the-tool please');
    await waitForScreen(page, 'run-the-tool please');
    await page.keyboard.press('Enter');
    // Claude Code asks before running the command, and its PermissionRequest hook says so on the page: the
    // tool and the command, with Allow and Deny.
    await waitForScreen(page, /Do you want to proceed/, 30_000);
    await page.waitForSelector('#permission:not([hidden])', { timeout: 30_000 });
    expect(await page.textContent('#permission-title')).toMatch(/asks to use Bash/);
    expect(await page.textContent('#permission-detail')).toContain('touch made-by-tool && echo tool-ran-$((5+6)) (Make a file)');
    expect(await page.getByRole('button', { name: 'Allow', exact: true }).isVisible()).toBe(true);
    await page.screenshot({ path: screenshotPath('permission-phone') });
    // "1" is "Yes", typed at the terminal: the command runs and Claude goes on; the page's prompt says it
    // was answered there.
    await page.getByRole('button', { name: 'Choose 1', exact: true }).tap();
    await expect.poll(() => page.textContent('#permission-note'), { timeout: 10_000 }).toBe('It was answered at the terminal.');
    await messageAtApi(api, page, 'tool-ran-11', 'the tool result at the API');
    await waitForScreen(page, 'TOOL-DONE 11', 30_000);
    expect(existsSync(join(project, 'made-by-tool'))).toBe(true);
  }, 120_000);
  it('a photo sent from the composer lands in the session folder, and Claude Code gets the prompt naming it', async () => {
    const relay = await startRelay();
    const { api, agent, project } = await startClaudeAgent(relay.url, () => 'SEEN-THE-PHOTO 3');
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await waitForScreen(page, /for shortcuts|Try "/, 30_000);
    await page.getByRole('button', { name: 'Compose text', exact: true }).tap();
    const photo = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    await page.locator('#composer-files').setInputFiles([{ name: 'bug on the phone.png', mimeType: 'image/png', buffer: photo }]);
    const composer = page.getByRole('textbox', { name: 'Text to send' });
    await expect.poll(() => composer.inputValue(), { timeout: 15_000 }).toBe('@.ccremote/uploads/bug on the phone.png ');
    expect(readFileSync(join(project, '.ccremote', 'uploads', 'bug on the phone.png')).equals(photo)).toBe(true);
    await composer.press('End');
    await composer.type('what is wrong here?');
    await page.getByRole('button', { name: 'Send', exact: true }).tap();
    const request = await messageAtApi(api, page, 'what is wrong here?', 'the prompt at the API');
    expect(JSON.stringify(request.body?.messages)).toContain('bug on the phone.png');
    await waitForScreen(page, 'SEEN-THE-PHOTO 3', 30_000);
  }, 120_000);
});
