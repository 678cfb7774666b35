// Runs in the browser for M8: times the client's side of the channel handshake (protocol/channel.ts) as
// the web page runs it (its key agreement: WebCrypto on a secure page, pure JavaScript otherwise, with the
// next key made ahead unless `ahead` is false): with a link, and pairing with a link that needs a PIN. The
// agent's side runs in the same page (untimed), only to produce the answers the client reads.

import { ChannelHost, type ChannelContext } from '../../src/agent/channel-host.js';
import { ChannelClient, defaultKeyAgreement, keyMadeAhead, type KeyAgreement } from '../../src/client/channel-client.js';
import { FrameType, decodeFrame, newSecret, randomBytes, randomId, toBase64Url, type HandshakeFrame, type ToClientFrame } from '../../src/protocol/index.js';
import { webCryptoAgreement } from '../../src/web/webcrypto-x25519.js';

/** Times `runs` handshakes of the client; returns each one's milliseconds on the client's side. */
async function time(runs: number, pin: string | undefined, agreement: KeyAgreement, gapMs: number): Promise<number[]> {
  const agentId = randomId();
  const secret = newSecret();
  const out: Uint8Array[] = [];
  const context: ChannelContext = {
    agentId: () => agentId,
    linkSecret: () => secret,
    linkUsable: () => true,
    devices: () => [],
    pin,
    welcome: () => ({ instance: randomId(), name: 'bench' }),
  };
  const host = new ChannelHost(
    { send: (data) => (out.push(data), 0) },
    context,
    { opened: () => undefined, refused: () => undefined, pair: async () => undefined, revoke: async () => false, bad: () => undefined, request: async () => undefined },
    // Unlimited budgets: the measure opens channel after channel with one link.
    { pin: { burst: 1e9, perMinute: 1e9 }, open: { perSession: { burst: 1e9, perMinute: 1e9 }, perCredential: { burst: 1e9, perMinute: 1e9 } } },
  );
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    host.joined(i + 1, undefined);
    const client = new ChannelClient(agentId, { kind: 'link', secret, readOnly: false }, pin, () => ({ session: randomId(), history: 'screen' }), agreement);
    let t = performance.now();
    let frame = await client.start();
    let spent = performance.now() - t;
    for (;;) {
      host.handshake(i + 1, decodeFrame(frame) as HandshakeFrame);
      const answer = decodeFrame((decodeFrame(out.shift()!) as ToClientFrame).inner) as HandshakeFrame;
      if (answer.type !== FrameType.Handshake) throw new Error('expected a handshake frame');
      t = performance.now();
      const outcome = await client.receive(answer);
      spent += performance.now() - t;
      if (outcome.kind === 'open') break;
      if (outcome.kind !== 'send') throw new Error(`handshake refused: ${JSON.stringify(outcome)}`);
      frame = outcome.frame;
    }
    times.push(spent);
    host.left(i + 1); // the agent tracks a bounded number of clients
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return times;
}

/** The key agreements timed, each made once for the page (a key made ahead waits from one call to the next). */
const agreements = new Map<string, KeyAgreement>();
function agreementFor(pureJs: boolean, ahead: boolean): KeyAgreement {
  const name = `${pureJs ? 'js' : 'webcrypto'}-${ahead ? 'ahead' : 'now'}`;
  let agreement = agreements.get(name);
  if (!agreement) {
    const base = pureJs ? defaultKeyAgreement : (webCryptoAgreement() ?? defaultKeyAgreement);
    agreement = ahead ? keyMadeAhead(base).agreement : base;
    agreements.set(name, agreement);
  }
  return agreement;
}

Object.assign(globalThis, {
  handshakeTimes: (runs: number, pin?: string, pureJs = false, ahead = true, gapMs = 0) => time(runs, pin, agreementFor(pureJs, ahead), gapMs),
  webCryptoUsed: () => webCryptoAgreement() !== undefined,
});
