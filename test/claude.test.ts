// The program ccremote exists for: the real Claude Code CLI running inside the agent, against a local
// fake of the Messages API, driven from a phone-sized browser.

import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { describeBrowser, phone, screenshotPath, waitForScreen, waitForState } from './helpers/browser.js';
import { claudeEnv, claudeHome, startFakeAnthropic } from './helpers/fake-anthropic.js';
import { cleanup, startAgent, startRelay, tempDir } from './helpers/system.js';

const CLAUDE = fileURLToPath(new URL('../node_modules/.bin/claude', import.meta.url));

describeBrowser('Claude Code through ccremote', () => {
  let context: BrowserContext;
  beforeAll(async () => {
    context = await phone();
  });
  afterAll(async () => {
    await context?.close();
  });
  afterEach(cleanup);

  it('a prompt typed in the browser reaches the API and the reply shows on the page', async () => {
    const api = await startFakeAnthropic((request) => {
      const text = JSON.stringify(request.body?.messages ?? '');
      return text.includes('ping-from-phone') ? 'PONG-FROM-FAKE-API 42' : 'ok';
    });
    const home = tempDir('ccremote-claude-home-');
    const project = tempDir('ccremote-claude-project-');
    claudeHome(home, project);
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: CLAUDE, args: [], cwd: project, env: claudeEnv(home, api.url) });
    const page = await context.newPage();
    try {
      await page.goto(agent.url);
      await waitForState(page, 'online');
      // Claude Code's prompt box is up when its shortcut hint shows.
      await waitForScreen(page, /for shortcuts|Try "/, 30_000);
      await page.keyboard.type('ping-from-phone');
      await waitForScreen(page, 'ping-from-phone');
      await page.keyboard.press('Enter');
      const request = await api.requests.next((r) => r.path === '/v1/messages' && JSON.stringify(r.body?.messages ?? '').includes('ping-from-phone'), 30_000, 'the prompt at the API');
      expect(request.body?.stream).toBe(true);
      await waitForScreen(page, 'PONG-FROM-FAKE-API 42', 30_000);
      await page.screenshot({ path: screenshotPath('claude-code-phone') });
    } finally {
      await page.close();
      await api.close();
    }
  });
});
