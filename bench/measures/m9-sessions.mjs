// M9: an agent with 16 sessions, each printing (about 20 lines a second), and one client switching between
// them: the agent's memory (its process, screen mirrors included) against the same agent with one
// session, measured after the output has run a while. Per session it should stay within what README and
// BENCHMARKS.md say a session costs: its output buffer plus its screen mirror. Then the same with idle
// sessions (a shell that printed its prompt and waits).

import { setTimeout as sleep } from 'node:timers/promises';
import { openClient } from '../lib/client.mjs';
import { startAgent, startRelay, stopAll } from '../lib/setup.mjs';

const MiB = 1 << 20;
const PRINTING = ['-c', 'i=0; while :; do echo "session line $i, printed while nobody types"; i=$((i+1)); sleep 0.05; done'];
const IDLE = ['-c', 'echo "$ "; exec cat'];

/** The agent's memory with `count` sessions running `/bin/sh ARGS`, after `runMs`; every session watched once. */
async function agentWith(count, runMs, args = PRINTING) {
  const relay = await startRelay();
  const agent = await startAgent(relay.info.url, '/bin/sh', args, { maxSessions: 16 });
  const client = await openClient(agent.info.url, { history: 'screen' });
  try {
    const terminals = [client.watching];
    for (let i = 1; i < count; i++) terminals.push(await client.startSession({ kind: 'command', command: ['/bin/sh', ...args] }));
    // A person looks at each of them once (each gets a snapshot), then stays on the first.
    for (const terminal of terminals) {
      client.watch(terminal);
      await sleep(200);
    }
    client.watch(terminals[0]);
    await sleep(runMs);
    const { rss } = await agent.request('stats', { gc: true });
    return { rss, sessions: client.sessions.length };
  } finally {
    client.close();
    await stopAll(agent, relay);
  }
}

export async function run({ sessions = 16, runMs = 10_000 } = {}) {
  const one = await agentWith(1, runMs);
  const many = await agentWith(sessions, runMs);
  const oneIdle = await agentWith(1, runMs, IDLE);
  const manyIdle = await agentWith(sessions, runMs, IDLE);
  for (const agent of [many, manyIdle]) if (agent.sessions !== sessions) throw new Error(`expected ${sessions} sessions, the agent listed ${agent.sessions}`);
  return {
    sessions,
    oneSessionMiB: one.rss / MiB,
    manySessionsMiB: many.rss / MiB,
    perSessionMiB: (many.rss - one.rss) / (sessions - 1) / MiB,
    idleOneSessionMiB: oneIdle.rss / MiB,
    idleManySessionsMiB: manyIdle.rss / MiB,
    idlePerSessionMiB: (manyIdle.rss - oneIdle.rss) / (sessions - 1) / MiB,
  };
}
