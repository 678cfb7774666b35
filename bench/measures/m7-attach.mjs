// M7: attach time. A session has a full output buffer; a new client connects; the time until its
// screen is complete (all output received and parsed by a terminal emulator, @xterm/headless).

import headless from '@xterm/headless';
import { openClient } from '../lib/client.mjs';
import { startAgent, startRelay, stopAll, textFile, waiter } from '../lib/setup.mjs';
import { percentile } from '../lib/stats.mjs';

const { Terminal } = headless;

export async function run({ attaches = 10, mib = 5 } = {}) {
  const relay = await startRelay();
  const file = textFile(mib << 20, { colour: true });
  const agent = await startAgent(relay.info.url, '/bin/sh', ['-c', `cat ${file.path}; exec sleep 3600`]);
  // Wait until the agent has printed the whole file (a bytes client sees the stream end).
  const end = file.bytes + (await countNewlines(file.path)); // the terminal turns each \n into \r\n
  const probe = waiter(60_000, 'the file to be printed');
  const watcher = await openClient(agent.info.url, { onOutput: () => probe.poke() });
  await probe.until(() => watcher.offset >= end);
  watcher.close();

  const received = [];
  const complete = [];
  for (let i = 0; i < attaches; i++) {
    const term = new Terminal({ cols: 120, rows: 40, scrollback: 5000, allowProposedApi: true });
    const w = waiter(60_000, 'the attach to complete');
    const t0 = process.hrtime.bigint();
    let pending = 0;
    let session;
    const written = () => {
      pending--;
      w.poke();
    };
    session = await openClient(agent.info.url, {
      history: 'screen',
      onOutput: (data) => {
        pending++;
        term.write(data, written);
        w.poke();
      },
      onSnapshot: (data) => {
        term.reset();
        pending++;
        term.write(data, written);
      },
    });
    let tReceived;
    await w.until(() => {
      if (session.offset >= end && tReceived === undefined) tReceived = process.hrtime.bigint();
      return tReceived !== undefined && pending === 0;
    });
    received.push(Number(tReceived - t0) / 1e6);
    complete.push(Number(process.hrtime.bigint() - t0) / 1e6);
    session.close();
    term.dispose();
  }
  await stopAll(relay, agent);
  return { receivedMedian: percentile(received, 50), completeMedian: percentile(complete, 50), completeP90: percentile(complete, 90), mib };
}

async function countNewlines(path) {
  const { readFile } = await import('node:fs/promises');
  const data = await readFile(path);
  let n = 0;
  for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10, at + 1)) n++;
  return n;
}
