// Photos and files from the phone, in Chromium at phone size against a real relay and agent: chosen in the
// composer's file picker, a small PNG arrives byte for byte and a large JPEG shrunk to 2,000 px on its long
// side (or whole, at full size), the composer holds their `@` references, a file too large is refused with
// the agent's reason, and "Get a file" saves one from the session's folder.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeBrowser, phoneSuite, screenshotPath, waitForState } from './helpers/browser.js';
import { startAgent, startRelay } from './helpers/system.js';

/** A PNG of `width`×`height` pixels in a gradient (RGB, no filter), made here byte by byte. */
function png(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer): number => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set([(x * 255) / width, (y * 255) / height, 128], y * (1 + width * 3) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A JPEG's width and height, from its frame header. */
function jpegSize(bytes: Buffer): { width: number; height: number } {
  let at = 2;
  while (at < bytes.length) {
    const marker = bytes[at + 1]!;
    const length = bytes.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xc3) return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    at += 2 + length;
  }
  throw new Error('no JPEG frame header');
}

/** A JPEG photo of `width`×`height`, made by the page's own canvas (Node has no JPEG encoder). */
async function jpeg(page: Page, width: number, height: number): Promise<Buffer> {
  const base64 = await page.evaluate(
    async ([w, h]) => {
      const canvas = document.createElement('canvas');
      canvas.width = w!;
      canvas.height = h!;
      const context = canvas.getContext('2d')!;
      const gradient = context.createLinearGradient(0, 0, w!, h!);
      gradient.addColorStop(0, '#1e6091');
      gradient.addColorStop(1, '#f4a261');
      context.fillStyle = gradient;
      context.fillRect(0, 0, w!, h!);
      const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/jpeg', 0.9));
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let text = '';
      for (const b of bytes) text += String.fromCharCode(b);
      return btoa(text);
    },
    [width, height],
  );
  return Buffer.from(base64, 'base64');
}

describeBrowser('photos and files from the phone', () => {
  const browser = phoneSuite();

  it('a PNG arrives byte for byte and a large JPEG shrunk, the composer holds both references, and "Get a file" saves one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await page.getByRole('button', { name: 'Compose text', exact: true }).tap();
    const screenshot = png(320, 200);
    const photo = await jpeg(page, 3000, 1500);
    await page.locator('#composer-files').setInputFiles([
      { name: 'screenshot.png', mimeType: 'image/png', buffer: screenshot },
      { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: photo },
    ]);
    const composer = page.getByRole('textbox', { name: 'Text to send' });
    await expect.poll(() => composer.inputValue(), { timeout: 15_000 }).toBe('@.ccremote/uploads/screenshot.png @.ccremote/uploads/photo.jpg ');
    expect(await page.locator('#transfer-status').textContent()).toBe('photo.jpg is on the computer: .ccremote/uploads/photo.jpg');
    await page.screenshot({ path: screenshotPath('files-composer') });
    expect(readFileSync(join(agent.cwd, '.ccremote', 'uploads', 'screenshot.png')).equals(screenshot)).toBe(true);
    expect(jpegSize(readFileSync(join(agent.cwd, '.ccremote', 'uploads', 'photo.jpg')))).toEqual({ width: 2000, height: 1000 });

    // At full size, the photo goes as it is.
    await page.getByLabel('Photos at full size').check();
    await page.locator('#composer-files').setInputFiles([{ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: photo }]);
    await expect.poll(() => composer.inputValue(), { timeout: 15_000 }).toContain('@.ccremote/uploads/photo-2.jpg ');
    expect(readFileSync(join(agent.cwd, '.ccremote', 'uploads', 'photo-2.jpg')).equals(photo)).toBe(true);

    // A file from the session's folder, saved on the phone.
    const shot = png(64, 64);
    mkdirSync(join(agent.cwd, 'shots'));
    writeFileSync(join(agent.cwd, 'shots', 'screen.png'), shot);
    await page.getByRole('button', { name: 'Get a file', exact: true }).tap();
    await page.getByLabel("File to get, in the session's folder").fill('shots/screen.png');
    const saved = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Get', exact: true }).tap();
    const download = await saved;
    expect(download.suggestedFilename()).toBe('screen.png');
    expect(readFileSync((await download.path())!).equals(shot)).toBe(true);
    await expect.poll(() => page.locator('#transfer-status').textContent()).toBe(`screen.png saved (${Math.ceil(shot.length / 1024)} KiB)`);
    // One that is not there says so.
    await page.getByLabel("File to get, in the session's folder").fill('../elsewhere.txt');
    await page.getByRole('button', { name: 'Get', exact: true }).tap();
    await expect.poll(() => page.locator('#transfer-status').textContent()).toMatch(/^\.\.\/elsewhere\.txt could not be taken: There is no file/);
  });

  it('a file above the agent\'s limit is refused with its reason before it is sent', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { maxUpload: 100_000 });
    const page = await browser.open(agent.url);
    await waitForState(page, 'online');
    await page.getByRole('button', { name: 'Compose text', exact: true }).tap();
    await page.getByLabel('Photos at full size').check();
    await page.locator('#composer-files').setInputFiles([{ name: 'video.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(300_000, 7) }]);
    await expect
      .poll(() => page.locator('#transfer-status').textContent(), { timeout: 15_000 })
      .toBe("video.mp4 was not sent: video.mp4 is 293 KiB; this computer takes files up to 98 KiB (the agent's --max-upload).");
    expect(await page.locator('#transfer-status').getAttribute('data-kind')).toBe('error');
    expect(await page.getByRole('textbox', { name: 'Text to send' }).inputValue()).toBe('');
    await page.screenshot({ path: screenshotPath('files-refused') });
  });
});
