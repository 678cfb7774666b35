// Viewers cannot slow or drain the computer: a read-only viewer never paces the program, however slowly
// it acknowledges; replays and snapshots are rate-limited per client session and per credential, so a
// viewer reconnecting in a loop, or asking for a snapshot every time, gets them no faster than its budget.
// Each case measures its bound while an honest browser keeps working.

import { afterEach, describe, expect, it } from 'vitest';
import {
  FrameType,
  decodeFrame,
  encodeMessage,
  parseAccessLink,
  randomId,
  type Credential,
  type HistoryMode,
  type Resume,
} from '../src/protocol/index.js';
import { admittedRawClient, cleanup, openRawChannel, rawCommand, rawStream, startAgent, startRelay, TestClient, type RawChannel, type RawSocket } from './helpers/system.js';

afterEach(cleanup);

/** A raw read-only client: admitted by the relay, its channel open with the agent. */
async function viewer(link: string, options: { session?: string; history: HistoryMode; resume?: Resume }): Promise<{ raw: RawSocket; channel: RawChannel; end: number }> {
  const { relayUrl, agentId, secret, readOnly } = parseAccessLink(link);
  expect(readOnly).toBe(true);
  const credential: Credential = { kind: 'link', secret, readOnly: true };
  const { raw, session } = await admittedRawClient(relayUrl, agentId, credential, options.session);
  const channel = await openRawChannel(raw, agentId, credential, { session, history: options.history, watch: { terminal: 1, ...(options.resume ? { resume: options.resume } : {}) } });
  const { end } = await rawStream(raw, channel);
  return { raw, channel, end };
}

/** Stream bytes (OUTPUT payloads) a raw socket has received, and whether a snapshot came. */
function received(raw: RawSocket): { end: number; bytes: number; snapshots: number } {
  let end = 0;
  let bytes = 0;
  let snapshots = 0;
  for (const message of raw.messages.items) {
    if (!message.binary) continue;
    const frame = decodeFrame(message.binary);
    if (frame.type === FrameType.Output) {
      bytes += frame.length;
      end = Math.max(end, frame.offset + frame.length);
    } else if (frame.type === FrameType.Snapshot) {
      snapshots++;
      bytes += frame.length;
      end = Math.max(end, frame.offset);
    }
  }
  return { end, bytes, snapshots };
}

describe('a read-only viewer', () => {
  it('that acknowledges slowly never holds the program back: it runs at the pace of the full client', async () => {
    const relay = await startRelay();
    const total = 8 * 1024 * 1024;
    const agent = await startAgent(relay.url, { command: '/bin/sh', args: rawCommand(`yes | head -c ${total}`) });
    // The viewer acknowledges a little every 300 ms, so it would count as a pacing client (it never stays
    // silent for 2 s); at 1 KB per acknowledgement it would allow the program 512 KiB and then almost nothing.
    const { raw } = await viewer(agent.agent.viewUrl!, { history: 'bytes' });
    let acked = 0;
    const slowAcks = setInterval(() => {
      const next = Math.min(received(raw).end, acked + 1000);
      if (next > acked) raw.ws.send(encodeMessage({ type: 'ack', terminal: 1, offset: (acked = next) }));
    }, 300);
    try {
      const client = new TestClient(agent.url);
      await client.go();
      const exit = await client.exits.next(() => true, 60_000, 'the program to finish');
      expect(exit.exit_code).toBe(0);
      // A client reports the exit once it has every byte up to the end the agent sealed with it.
      expect(client.rawLength).toBe(total);
      // The program wrote all its output while the viewer had acknowledged only a sliver of it.
      expect(acked).toBeLessThan(256 * 1024);
      expect(raw.ws.readyState).toBe(raw.ws.OPEN);
    } finally {
      clearInterval(slowAcks);
    }
  });
});

describe('replays and snapshots', () => {
  const BUDGET = { perSession: { burst: 3, perMinute: 120 }, perCredential: { burst: 5, perMinute: 240 } };
  const HELD = 1024 * 1024;

  /** An agent whose 1 MiB buffer is full, a browser that keeps working on it, and the viewer link. */
  async function fullAgent() {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { bufferSize: HELD, syncBudget: BUDGET });
    const honest = new TestClient(agent.url);
    honest.type(`head -c ${2 * HELD} /dev/zero | tr '\\0' x; echo; echo fill-$((3*3))ed\r`);
    await honest.waitForOutput('fill-9ed', 20_000);
    return { agent, honest, viewLink: agent.agent.viewUrl! };
  }

  /**
   * Connects `count` times, each time waiting for the agent's whole answer, while the honest browser types
   * in between; returns how long it took and what the connections received.
   */
  async function reconnectLoop(
    setup: Awaited<ReturnType<typeof fullAgent>>,
    count: number,
    connect: () => Promise<{ raw: RawSocket; channel: RawChannel; end: number }>,
  ): Promise<{ elapsedMs: number; answers: Array<{ bytes: number; snapshots: number }> }> {
    const answers: Array<{ bytes: number; snapshots: number }> = [];
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const { raw, end } = await connect();
      await raw.messages.until(() => received(raw).end >= end, 10_000, () => `answer ${i + 1} (${JSON.stringify(received(raw))}, end ${end})`);
      answers.push(received(raw));
      raw.ws.terminate();
      if (i % 3 === 0) {
        setup.honest.type(`echo honest-${i}-$((6*7))\r`);
        await setup.honest.waitForOutput(`honest-${i}-42`);
      }
    }
    return { elapsedMs: performance.now() - started, answers };
  }

  /** The most answers a token bucket allows in `elapsedMs`: its burst, and what it regained meanwhile. */
  const allowed = (bucket: { burst: number; perMinute: number }, elapsedMs: number): number => bucket.burst + (bucket.perMinute * elapsedMs) / 60_000;

  it('a viewer reconnecting in a loop with new sessions gets replays no faster than its credential allows', async () => {
    const setup = await fullAgent();
    const count = 13;
    const { elapsedMs, answers } = await reconnectLoop(setup, count, () => viewer(setup.viewLink, { history: 'bytes' }));
    // Every answer was a real replay of what the agent holds …
    for (const answer of answers) expect(answer.bytes).toBeGreaterThanOrEqual(HELD - 4096);
    // … and they came no faster than the credential's bucket: its burst, then its rate.
    expect(count).toBeLessThanOrEqual(allowed(BUDGET.perCredential, elapsedMs) + 1);
    const replayed = answers.reduce((n, a) => n + a.bytes, 0);
    console.log(`viewer reconnect loop: ${count} replays of ${HELD} B in ${Math.round(elapsedMs)} ms (${(replayed / elapsedMs / 1000).toFixed(1)} MB/s; budget ${BUDGET.perCredential.burst} + ${BUDGET.perCredential.perMinute}/min)`);
  });

  it('one session asking for a snapshot at every connection gets them no faster than its session allows', async () => {
    const setup = await fullAgent();
    const session = randomId();
    const count = 9;
    // A resume from a stream that does not exist makes every answer a snapshot of the screen.
    const resume = { stream: randomId(), offset: 0 };
    const { elapsedMs, answers } = await reconnectLoop(setup, count, () => viewer(setup.viewLink, { session, history: 'screen', resume }));
    for (const answer of answers) expect(answer.snapshots).toBe(1);
    expect(count).toBeLessThanOrEqual(allowed(BUDGET.perSession, elapsedMs) + 1);
    console.log(`snapshot loop: ${count} snapshots in ${Math.round(elapsedMs)} ms (budget ${BUDGET.perSession.burst} + ${BUDGET.perSession.perMinute}/min per session)`);
  });
});
