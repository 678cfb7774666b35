// M2: keystrokes while the same session floods the terminal and other sessions stream output (2 MiB/s
// each: a busy build log); and
// Ctrl-C under a flood (`yes`, once 2 MiB of it arrived): time from the keystroke until the shell's prompt is back.

import { fileURLToPath } from 'node:url';
import { openClient } from '../lib/client.mjs';
import { startChild } from '../lib/procs.mjs';
import { CLIENT_CPU, startAgent, startRelay, stopAll, waiter } from '../lib/setup.mjs';
import { percentile, summary } from '../lib/stats.mjs';

const FLOOD = fileURLToPath(new URL('../children/flood-echo.mjs', import.meta.url));
const PROMPT = '@@ready@@';

/**
 * Keys typed while the program floods the terminal, each timed until its echo is processed. With
 * `bytesPerSecond`, the client processes output at that rate (a phone's terminal drawing slowly, or a slow
 * link): output queues at the client and is acknowledged as it is processed, as the web terminal does.
 */
async function keysUnderFlood(relayUrl, keys, { bytesPerSecond } = {}) {
  const agent = await startAgent(relayUrl, process.execPath, [FLOOD]);
  let waiting;
  let expected = 0;
  let tail = Buffer.alloc(0);
  const look = (data) => {
    // Look for STX key ETX, also across chunk boundaries.
    const view = tail.length ? Buffer.concat([tail, data]) : Buffer.from(data);
    for (let at = view.indexOf(0x02); at >= 0 && at + 2 < view.length; at = view.indexOf(0x02, at + 1)) {
      if (view[at + 1] === expected && view[at + 2] === 0x03) waiting?.();
    }
    tail = view.subarray(Math.max(0, view.length - 2));
  };
  const queue = [];
  let session;
  let processor;
  if (bytesPerSecond) {
    const TICK_MS = 5;
    processor = setInterval(() => {
      let budget = (bytesPerSecond * TICK_MS) / 1000;
      while (budget > 0 && queue.length > 0) {
        const [head] = queue;
        const take = Math.min(budget, head.data.length - head.done);
        look(head.data.subarray(head.done, head.done + take));
        head.done += take;
        budget -= take;
        if (head.done < head.data.length) break;
        queue.shift();
        head.processed();
      }
    }, TICK_MS);
  }
  session = await openClient(agent.info.url, {
    manualAck: Boolean(bytesPerSecond),
    onOutput: (data, _end, processed) => (bytesPerSecond ? queue.push({ data, done: 0, processed }) : look(data)),
  });
  const latencies = [];
  for (let i = 0; i < keys; i++) {
    expected = 0x61 + (i % 26);
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => {
      waiting = resolve;
      session.sendData(Buffer.from([expected]));
    });
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    waiting = undefined;
  }
  clearInterval(processor);
  session.close();
  await agent.stop();
  return latencies;
}

async function ctrlC(relayUrl, rounds) {
  const agent = await startAgent(relayUrl, '/bin/bash', ['--norc', '--noprofile', '-i'], { env: { PS1: PROMPT } });
  let received = 0;
  let text = '';
  let w;
  const session = await openClient(agent.info.url, {
    onOutput: (data) => {
      received += data.length;
      text = (text + Buffer.from(data).toString('latin1')).slice(-64);
      w?.poke();
    },
  });
  const times = [];
  for (let i = 0; i < rounds; i++) {
    session.sendData('yes\r');
    const start = received;
    w = waiter(60_000, 'the flood');
    await w.until(() => received - start > 2 << 20);
    const t0 = process.hrtime.bigint();
    text = '';
    session.sendData('\x03');
    w = waiter(20_000, 'the prompt after Ctrl-C');
    await w.until(() => text.includes(PROMPT));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  session.close();
  await agent.stop();
  return times;
}

const STREAM = fileURLToPath(new URL('../children/stream.mjs', import.meta.url));

/** `others` other sessions print `otherRate` bytes per second each, through the same relay. */
export async function run({ keys = 1000, others = 3, otherRate = 2 << 20, rounds = 5, slowKeys = 200, slowRate = 1 << 20 } = {}) {
  const relay = await startRelay();
  const background = [];
  for (let i = 0; i < others; i++) background.push(await startAgent(relay.info.url, process.execPath, [STREAM, String(otherRate)]));
  const readers = await startChild('typists.mjs', { cpu: CLIENT_CPU });
  await readers.request('open', { links: background.map((a) => a.info.url) });
  try {
    const flood = summary(await keysUnderFlood(relay.info.url, keys));
    const slow = summary(await keysUnderFlood(relay.info.url, slowKeys, { bytesPerSecond: slowRate }));
    const interrupts = await ctrlC(relay.info.url, rounds);
    return {
      p50: flood.p50, p99: flood.p99, p999: flood.p999,
      slowP50: slow.p50, slowP99: slow.p99, slowKeys, slowMiBps: slowRate / (1 << 20),
      ctrlCMedian: percentile(interrupts, 50), ctrlCMax: Math.max(...interrupts), keys, others, otherMiBps: otherRate / (1 << 20),
    };
  } finally {
    await readers.request('closeAll').catch(() => undefined);
    await stopAll(relay, ...background, readers);
  }
}
