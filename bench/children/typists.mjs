// Many clients in one process, for capacity and memory figures: each opens a real client session to a
// link and, if asked, types `keysPerSecond` and times each key's echo.
import { openClient } from '../lib/client.mjs';
import { serve } from '../lib/procs.mjs';

const sessions = [];
let latencies = [];
let recording = false;
let slowLog = [];
let recordStart = 0n;
/** Each key typed is 'K' and a number of this process's own, so that its arrival at the agent can be found (BENCH_DEBUG). */
let keyNumber = 0;
const keyTag = process.pid.toString(36);
/** Output bytes the sessions received since recording began (keys' echoes and what the agents print). */
let received = 0;

async function open({ links, keysPerSecond = 0 }) {
  for (const link of links) {
    const state = { sentAt: 0n };
    const session = await openClient(link, {
      onOutput: (data) => {
        if (recording) received += data.length;
        if (state.sentAt === 0n || !data.includes(0x4b)) return; // 'K' is the echoed key; filler is '.'
        if (recording && state.sentAt >= recordStart) {
          const ms = Number(process.hrtime.bigint() - state.sentAt) / 1e6;
          latencies.push(ms);
          if (ms > 5) slowLog.push({ ms, at: Number(state.sentAt - recordStart) / 1e6, key: state.key, sent: String(state.sentAt) });
        }
        state.sentAt = 0n;
      },
    });
    if (keysPerSecond > 0) {
      setTimeout(() => {
        state.timer = setInterval(() => {
          if (state.sentAt !== 0n) return; // previous key not echoed yet
          state.sentAt = process.hrtime.bigint();
          state.key = `K${keyTag}-${(keyNumber++).toString(36)} `;
          session.sendData(state.key);
        }, 1000 / keysPerSecond);
      }, Math.random() * 1000);
    }
    sessions.push({ session, state });
  }
  return sessions.length;
}

function record() {
  latencies = [];
  slowLog = [];
  received = 0;
  recordStart = process.hrtime.bigint();
  recording = true;
  return true;
}

/** The keys' round trips (ms) since `record`, the output bytes received, and over how many seconds and sessions. */
function collect() {
  recording = false;
  return { latencies, received, seconds: Number(process.hrtime.bigint() - recordStart) / 1e9, sessions: sessions.length };
}

/** The slowest keys of the last window with when they were sent (ms since recording began). */
function slowest() {
  return slowLog.sort((a, b) => b.ms - a.ms).slice(0, 30);
}

function closeAll() {
  for (const { session, state } of sessions.splice(0)) {
    clearInterval(state.timer);
    session.close();
  }
  return true;
}

serve({ open, record, collect, slowest, closeAll });
