// Headless Chromium for the web client's tests: Debian's chromium driven by playwright-core, with a
// fresh profile per browser. Where Chromium is missing the tests skip, except under CI where that is
// a failure.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { tempDir } from './system.js';

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
];

/** A phone-sized browser context (390×844, touch) with a fresh profile. */
export async function phone(): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(tempDir('ccremote-chromium-'), {
    executablePath: CHROMIUM,
    args: FLAGS,
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  return context;
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
