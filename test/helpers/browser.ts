// Headless Chromium for the web client's tests: Debian's chromium driven by playwright-core, with a
// fresh profile per browser. Where Chromium is missing the tests skip, except under CI where that is
// a failure.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { cleanup, finishesWithin, tempDir } from './system.js';

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

/** A phone-sized browser context (390×844, touch) with a fresh profile; `args`: more Chromium flags. */
export async function phone(args: string[] = []): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(tempDir('ccremote-chromium-'), {
    executablePath: CHROMIUM,
    args: [...FLAGS, ...args],
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  return context;
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
    await context?.close();
  });
  afterEach(async () => {
    const stuck: string[] = [];
    for (const page of pages.splice(0)) {
      const url = page.url();
      if ((await finishesWithin(() => page.close(), 10_000)) === 'stuck') stuck.push(url);
    }
    await cleanup();
    expect(problems.splice(0)).toEqual([]);
    expect(stuck, 'pages that did not close in 10 s').toEqual([]);
  }, 90_000);
  return {
    get context(): BrowserContext {
      if (!context) throw new Error('the browser is not started yet');
      return context;
    },
    async open(url, initScript) {
      const page = await this.context.newPage();
      pages.push(page);
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
