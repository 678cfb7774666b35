// The benchmark's client: the real ClientSession (the same code as the web page and `attach`), over
// the `ws` package, reading output as bytes.

import { ClientSession, protocol, useNativeCrypto, wsConnect } from '../../dist/index.js';

// Seal and open as `attach` does (natively); a browser uses the pure-JS cipher on its own CPU.
useNativeCrypto();

/**
 * Opens a session to an access link. `onOutput(bytes, end, processed)` gets every output byte in order, and the stream position after them (with `manualAck`,
 * output counts as processed only when the caller says so, calling `processed()`). Resolves once
 * the agent is online and this client has been synced (its first output frame or snapshot arrived).
 */
export async function openClient(link, { history = 'bytes', onOutput = () => {}, onSnapshot = () => {}, onGap, manualAck = false } = {}) {
  const parsed = protocol.parseAccessLink(link);
  let synced;
  const ready = new Promise((resolve, reject) => {
    synced = resolve;
    setTimeout(() => reject(new Error('client did not sync within 20 s')), 20_000).unref();
  });
  const session = new ClientSession({
    relayUrl: parsed.relayUrl,
    agentId: parsed.agentId,
    credential: { kind: 'link', secret: parsed.secret, readOnly: parsed.readOnly === true },
    connect: wsConnect(new URL(parsed.relayUrl).origin),
    history,
    manualAck,
    backoff: { baseMs: 50, capMs: 1000 },
    events: {
      output: (data, end, processed) => {
        synced();
        onOutput(data, end, processed);
      },
      snapshot: (data) => {
        synced();
        onSnapshot(data);
      },
      gap: (missing) => {
        if (onGap) onGap(missing);
        else console.error(`client: ${missing} bytes of output were lost (it fell behind the agent's buffer)`);
      },
      state: (state) => {
        if (state.kind === 'failed') console.error(`client failed: ${state.reason}`);
      },
    },
  });
  session.start();
  // An agent with no output yet syncs a client with an empty frame, which emits no output event.
  const poll = setInterval(() => session.offset !== null && synced(), 5);
  await ready.finally(() => clearInterval(poll));
  return session;
}
