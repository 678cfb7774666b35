// M8: the channel handshake every connection runs (protocol/channel.ts). The client's share of it is
// timed in headless Chromium with its CPU slowed down four times (a phone-class budget), as the web page
// runs it: on a secure page (WebCrypto's X25519), on a plain-HTTP one (pure JavaScript), and pairing with a
// link that needs a PIN (CPace first), each with its next ephemeral key made ahead as the page does; and on
// a secure page with the key made during the handshake, for comparison. The agent's share is timed in Node,
// as the agent runs it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { ChannelHost } from '../../dist/agent/channel-host.js';
import { ChannelClient } from '../../dist/client/channel-client.js';
import { protocol as P, useNativeCrypto } from '../../dist/index.js';
import { percentile } from '../lib/stats.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** How much slower than this machine the page's CPU runs. */
const THROTTLE = 4;
/**
 * The page's pause between one handshake and the next, in ms: a page connects now and then, not in a loop,
 * and makes its next ephemeral key meanwhile (keyMadeAhead), as it does while its socket connects.
 */
const GAP_MS = 20;

async function inBrowser(runs) {
  const dir = mkdtempSync(join(tmpdir(), 'ccremote-bench-m8-'));
  try {
    await esbuild.build({
      entryPoints: [fileURLToPath(new URL('../browser/handshake.ts', import.meta.url))],
      outfile: join(dir, 'handshake.js'),
      bundle: true,
      format: 'iife',
      target: ['es2022'],
      minify: true,
      logLevel: 'warning',
    });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script src="handshake.js"></script>');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${join(dir, 'index.html')}`);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: THROTTLE });
      if (!(await page.evaluate(() => globalThis.webCryptoUsed()))) throw new Error('this Chromium gives the page no WebCrypto');
      /** `n` handshakes' times, GAP_MS apart; by default the page's way (WebCrypto, the key made ahead, no PIN). */
      const times = (n, { pin = null, pureJs = false, ahead = true } = {}) =>
        page.evaluate(([n, pin, pureJs, ahead, gap]) => globalThis.handshakeTimes(n, pin ?? undefined, pureJs, ahead, gap), [n, pin, pureJs, ahead, GAP_MS]);
      await times(20, { ahead: false }); // warm-up
      await times(20);
      // The page's way (the key made ahead) and the key made during the handshake, in turns of ten.
      const link = [];
      const atHandshake = [];
      for (let done = 0; done < runs; done += 10) {
        link.push(...(await times(Math.min(10, runs - done))));
        atHandshake.push(...(await times(Math.min(10, runs - done), { ahead: false })));
      }
      const pin = await times(Math.max(10, runs / 2), { pin: 'correct-horse-42' });
      // A plain-HTTP page on the local network has no WebCrypto: the pure-JavaScript keys.
      const pureJs = await times(runs, { pureJs: true });
      return { link, atHandshake, pin, pureJs };
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The agent's share: what ChannelHost spends per handshake, in Node (native cipher, as the agent runs). */
async function agentSide(runs) {
  useNativeCrypto();
  const agentId = P.randomId();
  const secret = P.newSecret();
  const out = [];
  const host = new ChannelHost(
    { send: (data) => out.push(data) },
    { agentId: () => agentId, linkSecret: () => secret, linkUsable: () => true, devices: () => [], pin: undefined, welcome: () => ({ instance: P.randomId(), name: 'bench' }) },
    { opened: () => undefined, refused: () => undefined, pair: async () => undefined, revoke: async () => false, bad: () => undefined, request: async () => undefined },
    { open: { perSession: { burst: 1e9, perMinute: 1e9 }, perCredential: { burst: 1e9, perMinute: 1e9 } } },
  );
  const times = [];
  for (let i = 0; i < runs; i++) {
    host.joined(i + 1, undefined);
    const client = new ChannelClient(agentId, { kind: 'link', secret, readOnly: false }, undefined, () => ({ session: P.randomId(), history: 'screen' }));
    const open = P.decodeFrame(await client.start());
    const t = process.hrtime.bigint();
    host.handshake(i + 1, open);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    await client.receive(P.decodeFrame(P.decodeFrame(out.shift()).inner));
    host.left(i + 1); // the agent tracks a bounded number of clients
  }
  return times;
}

export async function run({ runs = 100 } = {}) {
  const { link, atHandshake, pin, pureJs } = await inBrowser(runs);
  const agent = await agentSide(runs);
  return {
    throttle: THROTTLE,
    linkMedian: percentile(link, 50),
    linkP90: percentile(link, 90),
    atHandshakeMedian: percentile(atHandshake, 50),
    atHandshakeP90: percentile(atHandshake, 90),
    pureJsMedian: percentile(pureJs, 50),
    pureJsP90: percentile(pureJs, 90),
    pinMedian: percentile(pin, 50),
    pinP90: percentile(pin, 90),
    agentMedian: percentile(agent, 50),
    runs,
  };
}
