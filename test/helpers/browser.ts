// Headless Chromium for the web client's tests: Debian's chromium driven by playwright-core, with a
// fresh profile per browser. Where Chromium is missing the tests skip, except under CI where that is
// a failure.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { cleanup, finishesWithin } from './system.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}; CI must install it (apt-get install chromium)`);

/** `describe` that skips when no Chromium is installed (never under CI). */
export const describeBrowser = available ? describe : describe.skip;

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Notifications in Chromium's own message centre, never through the machine's desktop (D-Bus).
  '--disable-features=NativeNotifications,SystemNotifications',
];

/** The profile directory of each browser `phone` started and `closePhone` has not closed yet. */
const profiles = new Map<BrowserContext, string>();

/**
 * Chromium's processes for `profile`, found by the --user-data-dir they were started with (Linux's /proc;
 * elsewhere none are found, and a browser that will not close is only reported).
 */
function browserProcesses(profile: string): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(`--user-data-dir=${profile}`)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Kills what is left of the browser on `profile`, and removes the profile. */
function killBrowser(profile: string): void {
  for (const pid of browserProcesses(profile)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  rmSync(profile, { recursive: true, force: true });
}

// A browser left running would outlive the test process and hold the run open: whatever is left is killed.
process.once('exit', () => {
  for (const profile of profiles.values()) killBrowser(profile);
});

/**
 * A phone-sized browser context (390×844, touch) with a fresh profile; `args`: more Chromium flags. The
 * profile lives as long as the browser: `closePhone` closes both.
 */
export async function phone(args: string[] = []): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'ccremote-chromium-'));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [...FLAGS, ...args],
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    })
    .catch((error: Error) => {
      killBrowser(profile);
      throw error;
    });
  profiles.set(context, profile);
  return context;
}

/**
 * Closes a browser `phone` started, and removes its profile. One that does not close in 20 s (Chromium can
 * drop a close that races a navigation's commit, and Playwright then waits forever) is killed, and the
 * returned promise rejects saying so.
 */
export async function closePhone(context: BrowserContext): Promise<void> {
  const profile = profiles.get(context);
  if (profile === undefined) return;
  profiles.delete(context);
  const closed = await finishesWithin(() => context.close(), 20_000);
  killBrowser(profile);
  if (closed === 'stuck') throw new Error('the browser did not close in 20 s; it was killed');
}

/** Each open page's DevTools target id, for closing it again when Chromium dropped a close. */
const targets = new WeakMap<Page, string>();

/**
 * Closes `page`. Chromium can acknowledge a close that races a navigation's commit and drop it (Playwright
 * then waits forever): a close not done in 3 s is asked again of the browser, once a second, up to ten
 * times (one more is enough, nearly always). Resolves false if the page is still open after that.
 */
async function closePage(page: Page): Promise<boolean> {
  const closing = page.close();
  if ((await finishesWithin(() => closing, 3_000)) === 'done') return true;
  const targetId = targets.get(page);
  const browser = page.context().browser();
  if (targetId === undefined || !browser) return false;
  const session = await browser.newBrowserCDPSession();
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      await session.send('Target.closeTarget', { targetId }).catch(() => undefined);
      if ((await finishesWithin(() => closing, 1_000)) === 'done') return true;
    }
    return false;
  } finally {
    await session.detach().catch(() => undefined);
  }
}

/** What a describe block gets from `phoneSuite`. */
export interface PhoneSuite {
  /** The block's browser context (one profile for the whole block). */
  readonly context: BrowserContext;
  /** Opens `url` in a new page, after `initScript` if given; the page is closed after the test. */
  open(url: string, initScript?: () => void): Promise<Page>;
}

/**
 * A phone browser for a describe block: one context for the block, new pages per test, closed after
 * each test together with everything the helpers started. A page error or console error fails the test.
 */
export function phoneSuite(): PhoneSuite {
  let context: BrowserContext | undefined;
  const pages: Page[] = [];
  const problems: string[] = [];
  beforeAll(async () => {
    context = await phone();
  });
  afterAll(async () => {
    if (context) await closePhone(context);
  });
  afterEach(async () => {
    const stuck: string[] = [];
    for (const page of pages.splice(0)) {
      const url = page.url();
      if (!(await closePage(page))) stuck.push(url);
    }
    await cleanup();
    expect(problems.splice(0)).toEqual([]);
    expect(stuck, 'pages that did not close, even when asked twice').toEqual([]);
  }, 90_000);
  return {
    get context(): BrowserContext {
      if (!context) throw new Error('the browser is not started yet');
      return context;
    },
    async open(url, initScript) {
      const page = await this.context.newPage();
      pages.push(page);
      const own = await this.context.newCDPSession(page);
      targets.set(page, (await own.send('Target.getTargetInfo')).targetInfo.targetId);
      await own.detach();
      watchProblems(page, problems);
      if (initScript) await page.addInitScript(initScript);
      await page.goto(url);
      return page;
    },
  };
}

/** Where tests save screenshots for people to look at. */
export function screenshotPath(name: string): string {
  const dir = join(process.cwd(), 'test-results', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}

/** The terminal's visible text, row by row. */
export function screenText(page: Page): Promise<string> {
  return page.evaluate(() => (document.querySelector('.xterm-rows') as HTMLElement | null)?.innerText ?? '');
}

/** Waits until the terminal shows `text` (or matches the pattern). */
export async function waitForScreen(page: Page, text: string | RegExp, timeoutMs = 10_000): Promise<void> {
  const source = typeof text === 'string' ? { s: text } : { r: text.source, f: text.flags };
  await page.waitForFunction(
    (want) => {
      const screen = (document.querySelector('.xterm-rows') as HTMLElement | null)?.innerText ?? '';
      return 's' in want ? screen.includes(want.s as string) : new RegExp(want.r as string, want.f as string).test(screen);
    },
    source,
    { timeout: timeoutMs, polling: 50 },
  );
}

/** Waits for the page's connection state (body[data-state]). */
export async function waitForState(page: Page, state: string, timeoutMs = 10_000): Promise<void> {
  await page.waitForFunction((want) => document.body.dataset.state === want, state, { timeout: timeoutMs, polling: 50 });
}

/** Records page errors and console errors into `problems` (failed WebSocket connections while a relay is down are expected). */
export function watchProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/^WebSocket connection to .* failed|Failed to load resource/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
}

/** The page's terminal size in columns and rows. */
export function terminalSize(page: Page): Promise<{ cols: number; rows: number }> {
  return page.evaluate(() => {
    const { term } = (window as unknown as { ccremote: { term: { cols: number; rows: number } } }).ccremote;
    return { cols: term.cols, rows: term.rows };
  });
}

/** Everything the terminal holds, scrollback included, one line per logical line (wrapped rows joined). */
export function bufferText(page: Page): Promise<string> {
  return page.evaluate(() => {
    type Line = { isWrapped: boolean; translateToString(trim: boolean): string };
    type Buffer = { length: number; getLine(i: number): Line | undefined };
    const term = (window as unknown as { ccremote?: { term: { buffer: { active: Buffer } } } }).ccremote?.term;
    if (!term) return '';
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i);
      const text = line?.translateToString(false) ?? '';
      // A line the terminal wrapped continues the previous one.
      if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    return lines.map((l) => l.trimEnd()).join('\n');
  });
}

/** Bytes the keydump fixture printed so far, one hex string per read ("1b 5b 41"). */
export async function keydumpReads(page: Page): Promise<string[]> {
  return ((await bufferText(page)).match(/\[[0-9a-f ]+\]/g) ?? []).map((l) => l.slice(1, -1));
}

/**
 * Runs `act`, then waits until the keydump fixture has printed at least as many bytes as `hex` holds
 * (possibly over several reads), and checks that they are exactly `hex` (space-separated hex).
 */
export async function expectKeydump(page: Page, act: () => Promise<void>, hex: string, label = hex): Promise<void> {
  const before = (await keydumpReads(page)).length;
  await act();
  const since = async (): Promise<string> => (await keydumpReads(page)).slice(before).join(' ');
  const deadline = Date.now() + 10_000;
  let got = await since();
  while (got.length < hex.length && Date.now() < deadline) {
    await page.waitForTimeout(25);
    got = await since();
  }
  if (got !== hex) throw new Error(`${label}: expected [${hex}], got [${got}]`);
}
