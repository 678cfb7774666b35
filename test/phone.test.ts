// The web app as a phone uses it (headless Chromium, 390×844, touch): the key bar and Claude Code
// actions send exactly a keyboard's bytes (recorded at the PTY by the keydump fixture), the composer
// sends composed text once, touch scrolls and selects, the font size is remembered, the terminal refits
// when the phone turns or its keyboard opens, and every control has a name and readable contrast.

import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { bufferText, describeBrowser, expectKeydump, keydumpReads, phoneSuite, screenshotPath, terminalSize, waitForScreen, waitForState } from './helpers/browser.js';
import { startAgent, startRelay } from './helpers/system.js';

const KEYDUMP = fileURLToPath(new URL('./fixtures/keydump.mjs', import.meta.url));

const hex = (text: string): string => [...Buffer.from(text, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' ');

describeBrowser('phone', () => {
  const browser = phoneSuite();
  let page: Page;
  // Headless Chromium has no system clipboard to read back: pages record what they write to it.
  const open = async (url: string): Promise<Page> =>
    (page = await browser.open(url, () => {
      const copied: string[] = [];
      Object.assign(window, { copied });
      const write = navigator.clipboard?.writeText.bind(navigator.clipboard);
      if (write) navigator.clipboard.writeText = (text: string) => (copied.push(text), write(text));
    }));

  const button = (name: string) => page.getByRole('button', { name, exact: true });

  it('every key and Claude Code action sends exactly the bytes a keyboard would, with sticky Ctrl and Alt', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: process.execPath, args: [KEYDUMP] });
    await open(agent.url);
    await waitForScreen(page, 'keydump ready');
    const keys: Array<[string, string]> = [
      ['Esc (Escape)', '1b'],
      ['Tab', '09'],
      ['Shift Tab', '1b 5b 5a'],
      ['Up arrow', '1b 5b 41'],
      ['Down arrow', '1b 5b 42'],
      ['Left arrow', '1b 5b 44'],
      ['Right arrow', '1b 5b 43'],
      ['Control C', '03'],
      ['Home', '1b 5b 48'],
      ['End', '1b 5b 46'],
      ['PgUp (page up)', '1b 5b 35 7e'],
      ['PgDn (page down)', '1b 5b 36 7e'],
      ['Vertical bar', '7c'],
      ['Tilde', '7e'],
      ['Slash', '2f'],
      ['Hyphen', '2d'],
      ['Backtick', '60'],
      ['Backslash', '5c'],
      ['Control D', '04'],
      ['Stop: interrupt Claude (Escape)', '1b'],
      ['Mode: cycle modes (Shift Tab)', '1b 5b 5a'],
      ['Choose 1', '31'],
      ['Choose 2', '32'],
      ['Choose 3', '33'],
      ['/ slash command', '2f'],
      ['Enter: accept', '0d'],
    ];
    for (const [name, bytes] of keys) await expectKeydump(page, () => button(name).tap(), bytes, name);
    await page.screenshot({ path: screenshotPath('keys-phone') });

    // Sticky modifiers: tap Ctrl, then a key on the keyboard or the bar; the modifier is then released.
    const ctrl = button('Ctrl (applies to the next key)');
    const alt = button('Alt (applies to the next key)');
    await ctrl.tap();
    expect(await ctrl.getAttribute('aria-pressed')).toBe('true');
    await expectKeydump(page, () => page.keyboard.type('c'), '03', 'Ctrl then c');
    expect(await ctrl.getAttribute('aria-pressed')).toBe('false');
    await expectKeydump(page, () => page.keyboard.type('c'), '63', 'c alone after the release');
    await ctrl.tap();
    await expectKeydump(page, () => button('Left arrow').tap(), '1b 5b 31 3b 35 44', 'Ctrl then Left');
    await alt.tap();
    await expectKeydump(page, () => page.keyboard.type('b'), '1b 62', 'Alt then b');
    await ctrl.tap();
    await alt.tap();
    await expectKeydump(page, () => button('PgUp (page up)').tap(), '1b 5b 35 3b 37 7e', 'Ctrl Alt then PgUp');
    await ctrl.tap();
    await ctrl.tap(); // tapped twice: released, nothing applies
    await expectKeydump(page, () => page.keyboard.type('x'), '78', 'Ctrl tapped off');
    await ctrl.tap();
    await expectKeydump(page, () => page.keyboard.type('/'), '1f', 'Ctrl then /');
    await ctrl.tap();
    await expectKeydump(page, () => page.keyboard.type('ı'), 'c4 b1', 'Ctrl then a letter outside ASCII: unchanged');
    // The buttons leave the focus in the terminal, so the phone keyboard stays up.
    expect(await page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea'))).toBe(true);
    // Typed keys are unchanged: Enter is \r, never \n.
    await expectKeydump(page, () => page.keyboard.press('Enter'), '0d', 'Enter');
    await expectKeydump(page, () => page.keyboard.type('é'), 'c3 a9', 'é');
  });

  it('cursor keys follow the mode the program asked for (application cursor keys)', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: process.execPath, args: [KEYDUMP, '--app'] });
    await open(agent.url);
    await waitForScreen(page, 'keydump ready');
    for (const [name, bytes] of [
      ['Up arrow', '1b 4f 41'],
      ['Right arrow', '1b 4f 43'],
      ['Home', '1b 4f 48'],
      ['End', '1b 4f 46'],
    ] as const) {
      await expectKeydump(page, () => button(name).tap(), bytes, name);
    }
  });

  it('the composer sends composed text once, as a bracketed paste with Enter, including CJK and emoji', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: process.execPath, args: [KEYDUMP, '--paste'] });
    await open(agent.url);
    await waitForScreen(page, 'keydump ready');
    await button('Compose text').tap();
    const field = page.getByRole('textbox', { name: 'Text to send' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('composer-input');
    const cdp = await browser.context.newCDPSession(page);
    // An input method composes 日本語 from kana; Enter while composing only confirms it.
    const text = '日本語で説明して 🚀 and ok';
    await cdp.send('Input.imeSetComposition', { text: 'にほんご', selectionStart: 4, selectionEnd: 4 });
    await page.evaluate(() =>
      document.getElementById('composer-input')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', isComposing: true, bubbles: true, cancelable: true })),
    );
    await cdp.send('Input.insertText', { text: '日本語' });
    await cdp.send('Input.insertText', { text: text.slice('日本語'.length) });
    expect(await field.inputValue()).toBe(text);
    await page.screenshot({ path: screenshotPath('composer-phone') });
    await expectKeydump(page, () => page.keyboard.press('Enter'), `1b 5b 32 30 30 7e ${hex(text)} 1b 5b 32 30 31 7e 0d`, 'the composed text');
    expect(await field.inputValue()).toBe('');
    // The Send button does the same; an empty field sends Enter alone.
    await field.fill('second line');
    await expectKeydump(page, () => button('Send').tap(), `1b 5b 32 30 30 7e ${hex('second line')} 1b 5b 32 30 31 7e 0d`, 'Send');
    await expectKeydump(page, () => button('Send').tap(), '0d', 'empty Send');
    // Paste (menu): the clipboard's text goes as one bracketed paste, without Enter. (Headless Chromium has
    // no system clipboard; the page reads a stand-in.)
    await page.evaluate(() => (navigator.clipboard.readText = async () => 'from the clipboard ✂'));
    await button('Menu').tap();
    await expectKeydump(page, () => button('Paste from the clipboard').tap(), `1b 5b 32 30 30 7e ${hex('from the clipboard ✂')} 1b 5b 32 30 31 7e`, 'Paste');
    await button('Menu').tap();
    // Text cannot close the paste early and act as keystrokes: no Escape gets inside the brackets.
    await field.fill('a\x1b[20\x1b[201~1~b');
    await expectKeydump(page, () => button('Send').tap(), `1b 5b 32 30 30 7e ${hex('a[20[201~1~b')} 1b 5b 32 30 31 7e 0d`, 'an escape attempt');
  });

  it("after a paste, the composer's Enter waits until the program shows it, however soon it prints something else", async () => {
    const relay = await startRelay();
    // A program that prints what it read at once but shows the paste only 1.5 s later (as Claude Code,
    // busy, draws its screen before it reads its input).
    const agent = await startAgent(relay.url, { command: process.execPath, args: [KEYDUMP, '--paste', '--echo-ms=1500'] });
    await open(agent.url);
    await waitForScreen(page, 'keydump ready');
    await button('Compose text').tap();
    await page.getByRole('textbox', { name: 'Text to send' }).fill('first line\nthe message ends here');
    const pasted = `1b 5b 32 30 30 7e ${hex('first line\rthe message ends here')} 1b 5b 32 30 31 7e`;
    await expectKeydump(page, () => button('Send').tap(), `${pasted} 0d`, 'the message');
    // Paste and Enter came in reads of their own, the Enter after the program showed the paste.
    expect(await keydumpReads(page)).toEqual([pasted, '0d']);
    await waitForScreen(page, 'pasted: first line the message ends here');
    const lines = (await bufferText(page)).split('\n');
    expect(lines.filter((line) => line === 'pasted: first line the message ends here' || line === '[0d]')).toEqual(['pasted: first line the message ends here', '[0d]']);
  });

  it('every paste (a paste event, the browser\'s clipboard paste, a keyboard\'s clipboard) arrives as one bracketed paste that text cannot end early', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: process.execPath, args: [KEYDUMP, '--paste'] });
    await open(agent.url);
    await waitForScreen(page, 'keydump ready');
    // Text from a hostile page: it closes the paste itself, then runs a command with a line break.
    const evil = 'look\x1b[201~echo pwned\n\u009b201~tail';
    const pasted = `1b 5b 32 30 30 7e ${hex('look[201~echo pwned\r201~tail')} 1b 5b 32 30 31 7e`;
    // A paste event on the terminal's text area, as a context-menu paste or middle click makes it.
    const pasteEvent = (text: string) =>
      page.evaluate((t) => {
        const data = new DataTransfer();
        data.setData('text/plain', t);
        document.querySelector('.xterm-helper-textarea')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      }, text);
    await expectKeydump(page, () => pasteEvent(evil), pasted, 'a paste event');
    // The browser's own paste from the clipboard (Ctrl+Shift+V and Shift+Insert here; Ctrl+V is a key for the
    // program on Linux and Windows, ^V, as in other terminals).
    await page.evaluate((t) => navigator.clipboard.writeText(t), evil);
    await page.locator('.xterm-helper-textarea').focus();
    await expectKeydump(page, () => page.keyboard.press('Control+Shift+V'), pasted, 'Ctrl+Shift+V');
    await expectKeydump(page, () => page.keyboard.press('Shift+Insert'), pasted, 'Shift+Insert');
    // A phone keyboard that inserts its clipboard as typed text.
    const cdp = await browser.context.newCDPSession(page);
    await expectKeydump(page, async () => void (await cdp.send('Input.insertText', { text: evil })), pasted, "a keyboard's clipboard");
    // Typing stays typing: single keys and words go as they are.
    await expectKeydump(page, () => page.keyboard.type('ok'), '6f 6b', 'typed');
    await expectKeydump(page, async () => void (await cdp.send('Input.insertText', { text: 'word' })), hex('word'), 'a word from the keyboard');
  });

  it('without bracketed paste the composer sends plain text and Enter', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: process.execPath, args: [KEYDUMP] });
    await open(agent.url);
    await waitForScreen(page, 'keydump ready');
    await button('Compose text').tap();
    await page.getByRole('textbox', { name: 'Text to send' }).fill('中文 ✓');
    await expectKeydump(page, () => page.keyboard.press('Enter'), `${hex('中文 ✓')} 0d`, 'plain paste');
  });

  it('touch: a swipe scrolls, a long press selects a word that Copy puts on the clipboard; the font size is remembered', async () => {
    await browser.context.grantPermissions(['clipboard-write']);
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: '/bin/bash', args: ['--norc', '--noprofile', '-i'] });
    await open(agent.url);
    await waitForState(page, 'online');
    await page.keyboard.type('seq 1 300; echo copy-me-$((2*21))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^copy-me-42\s*$/m);
    const view = () =>
      page.evaluate(() => {
        const { term } = (window as unknown as { ccremote: { term: { buffer: { active: { viewportY: number; baseY: number } } } } }).ccremote;
        return { top: term.buffer.active.viewportY, base: term.buffer.active.baseY };
      });
    const before = await view();
    expect(before.top).toBe(before.base);
    const box = (await page.locator('#terminal').boundingBox())!;
    const cdp = await browser.context.newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x: number, y: number) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
    // The finger moves down: older lines come into view.
    const x = box.x + box.width / 2;
    await touch('touchStart', x, box.y + 100);
    for (let y = 110; y <= 400; y += 10) await touch('touchMove', x, box.y + y);
    await touch('touchEnd', x, box.y + 400);
    const scrolled = await view();
    expect(scrolled.top).toBeLessThan(before.base - 10);
    // And back up.
    await touch('touchStart', x, box.y + 400);
    for (let y = 390; y >= 0; y -= 10) await touch('touchMove', x, box.y + y);
    await touch('touchEnd', x, box.y);
    expect((await view()).top).toBeGreaterThan(scrolled.top);
    await page.evaluate(() => (window as unknown as { ccremote: { term: { scrollToBottom(): void } } }).ccremote.term.scrollToBottom());

    // Long press on the word "copy-me-42".
    const word = await page.evaluate(() => {
      const row = Array.from(document.querySelectorAll('.xterm-rows > div')).find((r) => r.textContent?.startsWith('copy-me-42'))!;
      const rect = row.getBoundingClientRect();
      return { x: rect.x + 20, y: rect.y + rect.height / 2 };
    });
    await touch('touchStart', word.x, word.y);
    await page.waitForFunction(() => (window as unknown as { ccremote: { term: { hasSelection(): boolean } } }).ccremote.term.hasSelection());
    await touch('touchEnd', word.x, word.y);
    expect(await page.evaluate(() => (window as unknown as { ccremote: { term: { getSelection(): string } } }).ccremote.term.getSelection())).toBe('copy-me-42');
    await page.screenshot({ path: screenshotPath('selection-phone') });
    await page.locator('#copy-chip').tap();
    await expect.poll(() => page.textContent('#notice')).toBe('Copied.');
    expect(await page.evaluate(() => (window as unknown as { copied: string[] }).copied)).toEqual(['copy-me-42']);

    // Font size: larger twice, remembered after a reload.
    await button('Menu').tap();
    await button('Larger text').tap();
    await button('Larger text').tap();
    const size = () => page.evaluate(() => (window as unknown as { ccremote: { term: { options: { fontSize: number } } } }).ccremote.term.options.fontSize);
    expect(await size()).toBe(15);
    await page.screenshot({ path: screenshotPath('menu-phone') });
    await page.reload();
    await waitForState(page, 'online');
    expect(await size()).toBe(15);
    // Two fingers spread by a fifth: the text grows by a fifth, and the page itself does not zoom.
    const pinch = await browser.context.newCDPSession(page);
    const at = (spread: number) => [
      { x: x - spread / 2, y: box.y + 200, id: 1 },
      { x: x + spread / 2, y: box.y + 200, id: 2 },
    ];
    await pinch.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(100) });
    for (const spread of [105, 110, 115, 120]) await pinch.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(spread) });
    await pinch.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    expect(await size()).toBe(18);
    expect(await page.evaluate(() => window.visualViewport?.scale)).toBe(1);
    expect(await page.evaluate(() => localStorage.getItem('ccremote.font-size'))).toBe('18');
  });

  it('in a full-screen program (alternate screen) a swipe sends the arrow keys a mouse wheel would', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: process.execPath, args: [KEYDUMP, '--app', '--alt'] });
    await open(agent.url);
    await waitForScreen(page, 'keydump ready');
    const box = (await page.locator('#terminal').boundingBox())!;
    const row = await page.evaluate(() => {
      const { term } = (window as unknown as { ccremote: { term: { rows: number } } }).ccremote;
      return document.querySelector('.xterm-screen')!.getBoundingClientRect().height / term.rows;
    });
    const cdp = await browser.context.newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', y: number) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x: box.x + 100, y }] });
    // The finger moves down three and a half rows: three lines back, as three Up keys (application form).
    const swipe = async (): Promise<void> => {
      const from = box.y + 100;
      await touch('touchStart', from);
      for (let step = 1; step <= 14; step++) await touch('touchMove', from + (step * 3.5 * row) / 14);
      await touch('touchEnd', from + 3.5 * row);
    };
    await expectKeydump(page, swipe, '1b 4f 41 1b 4f 41 1b 4f 41', 'a swipe back');
  });

  it('refits when the phone turns or its keyboard opens, keeping the cursor line in view', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: '/bin/bash', args: ['--norc', '--noprofile', '-i'] });
    await open(agent.url);
    await waitForState(page, 'online');
    const size = () => terminalSize(page);
    const portrait = await size();
    await page.keyboard.type('seq 1 100; echo "marker-$((3*3))"');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^marker-9\s*$/m);
    // Turned: wider and shorter; the program is told the new size.
    await page.setViewportSize({ width: 844, height: 390 });
    await expect.poll(async () => (await size()).cols).toBeGreaterThan(portrait.cols);
    const landscape = await size();
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    await waitForScreen(page, new RegExp(`^${landscape.rows} ${landscape.cols}\\s*$`, 'm'));
    await page.screenshot({ path: screenshotPath('landscape-phone') });
    // Back upright, then the on-screen keyboard takes half the height.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(async () => (await size()).cols).toBe(portrait.cols);
    await page.setViewportSize({ width: 390, height: 430 });
    await expect.poll(async () => (await size()).rows).toBeLessThan(portrait.rows);
    const small = await size();
    await page.keyboard.type('stty size; echo "after-$((4*4))"');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^after-16\s*$/m);
    expect(await bufferText(page)).toContain(`${small.rows} ${small.cols}`);
    // The key bar is on screen, above where the keyboard would be.
    const keys = (await page.locator('#keys').boundingBox())!;
    expect(keys.y + keys.height).toBeLessThanOrEqual(430 + 1);
    await page.screenshot({ path: screenshotPath('keyboard-open-phone') });
    await page.setViewportSize({ width: 390, height: 844 });
  });

  it('the terminal bell stands in for programs without hooks: it shows an alert until the person acts', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: '/bin/bash', args: ['--norc', '--noprofile', '-i'] });
    await open(agent.url);
    await waitForState(page, 'online');
    expect(await page.isVisible('#attention')).toBe(false);
    await page.keyboard.type("printf 'rang-%s\\a\\n' $((7*6))");
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^rang-42\s*$/m);
    await page.waitForSelector('#attention:not([hidden])');
    expect(await page.textContent('#attention')).toBe('The terminal rang its bell.');
    // Typing means the person is here: the alert goes.
    await page.keyboard.type('x');
    await page.waitForSelector('#attention', { state: 'hidden' });
  });

  it('every control has an accessible name and readable contrast', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    await open(agent.url);
    await waitForState(page, 'online');
    await button('Menu').tap();
    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll('button, a, textarea, input'))
        .filter((e) => (e as HTMLElement).offsetParent !== null)
        .filter((e) => !(e.getAttribute('aria-label') || e.textContent?.trim() || (e.id && document.querySelector(`label[for="${e.id}"]`))))
        .map((e) => e.outerHTML.slice(0, 80)),
    );
    expect(unnamed).toEqual([]);
    // WCAG contrast of each visible control's text against its background (AA: 4.5).
    const low = await page.evaluate(() => {
      const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const lum = (c: number[]): number => {
        const [r, g, b] = c.map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        }) as [number, number, number];
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const background = (e: Element | null): string => {
        for (; e; e = e.parentElement) {
          const bg = getComputedStyle(e).backgroundColor;
          if (bg && !/rgba\(.*, 0\)$/.test(bg) && bg !== 'transparent') return bg;
        }
        return 'rgb(22, 24, 29)';
      };
      return Array.from(document.querySelectorAll('button, .state, .name, .latency, .notice, a'))
        .filter((e) => (e as HTMLElement).offsetParent !== null && e.textContent?.trim())
        .map((e) => {
          const a = lum(rgb(getComputedStyle(e).color));
          const b = lum(rgb(background(e)));
          return { what: e.textContent!.trim().slice(0, 20), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
        })
        .filter((c) => c.ratio < 4.5);
    });
    expect(low).toEqual([]);
  });
});
