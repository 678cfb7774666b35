// Noise_NNpsk0_25519_ChaChaPoly_SHA256 as implemented in src/protocol/noise.ts, against the published test
// vectors of the pattern (cacophony), then as ccremote uses it: fresh keys every time, tampering refused.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IntegrityError, NoiseCipher, NoiseHandshake, nobleEphemeral, randomBytes } from '../src/protocol/index.js';
import { nativeEphemeral } from '../src/net/native-crypto.js';
import { defaultKeyAgreement, keyMadeAhead, type KeyAgreement } from '../src/client/channel-client.js';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks: string[];
  init_ephemeral: string;
  resp_prologue: string;
  resp_psks: string[];
  resp_ephemeral: string;
  handshake_hash: string;
  messages: Array<{ payload: string; ciphertext: string }>;
}

const { vector } = JSON.parse(readFileSync(new URL('./vectors/noise-nnpsk0-25519-chachapoly-sha256.json', import.meta.url), 'utf8')) as { vector: Vector };
const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('Noise NNpsk0', () => {
  it('matches the published test vector: handshake messages, handshake hash, and transport messages after Split', () => {
    expect(vector.protocol_name).toBe('Noise_NNpsk0_25519_ChaChaPoly_SHA256');
    const initiator = new NoiseHandshake('initiator', hex(vector.init_psks[0]!), hex(vector.init_prologue), hex(vector.init_ephemeral));
    const responder = new NoiseHandshake('responder', hex(vector.resp_psks[0]!), hex(vector.resp_prologue), hex(vector.resp_ephemeral));
    const [m1, m2, ...transport] = vector.messages;
    const first = initiator.writeMessage(hex(m1!.payload));
    expect(toHex(first)).toBe(m1!.ciphertext);
    expect(toHex(responder.readMessage(first))).toBe(m1!.payload);
    const second = responder.writeMessage(hex(m2!.payload));
    expect(toHex(second)).toBe(m2!.ciphertext);
    expect(toHex(initiator.readMessage(second))).toBe(m2!.payload);
    expect(toHex(initiator.hash)).toBe(vector.handshake_hash);
    expect(toHex(responder.hash)).toBe(vector.handshake_hash);
    // Transport: the initiator's key sends the odd messages, the responder's the even ones (counter nonces).
    const keys = initiator.split();
    expect(responder.split()).toEqual(keys);
    const send = { initiator: new NoiseCipher(keys.initiator), responder: new NoiseCipher(keys.responder) };
    transport.forEach((message, i) => {
      const from = i % 2 === 0 ? send.initiator : send.responder;
      expect(toHex(from.encrypt(new Uint8Array(0), hex(message.payload)))).toBe(message.ciphertext);
    });
  });

  it('gives new keys on every handshake with the same PSK, and refuses another PSK, prologue or an altered message', () => {
    const psk = randomBytes(32);
    const prologue = randomBytes(8);
    const run = (): Uint8Array => {
      const a = new NoiseHandshake('initiator', psk, prologue);
      const b = new NoiseHandshake('responder', psk, prologue);
      b.readMessage(a.writeMessage(new Uint8Array(0)));
      a.readMessage(b.writeMessage(new Uint8Array(0)));
      expect(a.split()).toEqual(b.split());
      return a.split().initiator;
    };
    expect(toHex(run())).not.toBe(toHex(run()));
    const message = new NoiseHandshake('initiator', psk, prologue).writeMessage(Uint8Array.of(1, 2, 3));
    expect(() => new NoiseHandshake('responder', randomBytes(32), prologue).readMessage(message)).toThrow(IntegrityError);
    expect(() => new NoiseHandshake('responder', psk, randomBytes(8)).readMessage(message)).toThrow(IntegrityError);
    const altered = Uint8Array.from(message);
    altered[40]! ^= 1;
    expect(() => new NoiseHandshake('responder', psk, prologue).readMessage(altered)).toThrow(IntegrityError);
    // A low-order point as the ephemeral key is refused.
    const lowOrder = new Uint8Array(32 + 16);
    const a = new NoiseHandshake('initiator', psk, prologue);
    const b = new NoiseHandshake('responder', psk, prologue);
    b.readMessage(a.writeMessage(new Uint8Array(0)));
    expect(() => a.readMessage(lowOrder)).toThrow(IntegrityError);
  });

  it("the agent's native X25519 and the browser's pure-JavaScript one agree, and handshake with each other both ways", () => {
    const native = nativeEphemeral();
    const noble = nobleEphemeral();
    expect(toHex(native.agree(noble.publicKey))).toBe(toHex(noble.agree(native.publicKey)));
    const psk = randomBytes(32);
    const prologue = randomBytes(8);
    for (const [mine, theirs] of [[native, nobleEphemeral()], [noble, nativeEphemeral()]] as const) {
      const client = new NoiseHandshake('initiator', psk, prologue, mine);
      const agent = new NoiseHandshake('responder', psk, prologue, theirs);
      expect(toHex(agent.readMessage(client.writeMessage(Uint8Array.of(7))))).toBe('07');
      expect(toHex(client.readMessage(agent.writeMessage(Uint8Array.of(8))))).toBe('08');
      expect(client.split()).toEqual(agent.split());
    }
    // A low-order point is refused natively too.
    expect(() => native.agree(new Uint8Array(32))).toThrow(IntegrityError);
  });

  it('a key made ahead is ready before the handshake asks for it, used once, made again after a failure, and stops when disposed', async () => {
    const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
    let made = 0;
    let failNext = false;
    const counting: KeyAgreement = () => {
      made++;
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('no key this time'));
      }
      return defaultKeyAgreement();
    };
    const ahead = keyMadeAhead(counting);
    expect(made).toBe(0); // not inside the caller's task
    await nextTask();
    expect(made).toBe(1);
    const keys = [];
    for (let i = 0; i < 4; i++) {
      const before = made;
      keys.push(await ahead.agreement());
      expect(made).toBe(before); // the one made ahead, none made now
      await nextTask();
      expect(made).toBe(before + 1); // the next one, in a task of its own
    }
    // Each a fresh key that agrees with a peer's.
    expect(new Set(keys.map((k) => toHex(k.publicKey))).size).toBe(4);
    const peer = nobleEphemeral();
    expect(toHex(await keys[0]!.agree(peer.publicKey))).toBe(toHex(peer.agree(keys[0]!.publicKey)));
    // The key waiting failed: the handshake that asks next gets a new one made then.
    const spare = await ahead.agreement();
    failNext = true;
    await nextTask();
    const afterFailure = made;
    const fresh = await ahead.agreement();
    expect(made).toBe(afterFailure + 1);
    expect(toHex(fresh.publicKey)).not.toBe(toHex(spare.publicKey));
    // Disposed: nothing more is made.
    ahead.dispose();
    const atDispose = made;
    await nextTask();
    await nextTask();
    expect(made).toBe(atDispose);
  });

  it('makes native keys without ever stopping the thread, with the garbage collector running every few hundred allocations', async () => {
    // Node.js 20 could deadlock on the key generation used before: its spent job, collected while the same key
    // was exported, waited for the lock the export held. With a collection every 200 to 1,000 allocations, about
    // one run in four of 3,000 pairs hung (the old code failed this test in about half of its runs).
    const script = [
      `const { nativeEphemeral } = await import(${JSON.stringify(new URL('../dist/net/native-crypto.js', import.meta.url).href)});`,
      'for (let i = 0; i < 3000; i++) {',
      '  const a = nativeEphemeral(), b = nativeEphemeral();',
      "  if (Buffer.compare(Buffer.from(a.agree(b.publicKey)), Buffer.from(b.agree(a.publicKey))) !== 0) throw new Error('the keys disagree');",
      '}',
      "console.log('3000 pairs');",
    ].join('\n');
    const run = (interval: number) => promisify(execFile)(process.execPath, [`--gc-interval=${interval}`, '--input-type=module', '-e', script], { timeout: 20_000, killSignal: 'SIGKILL' }); // killed before the test's own 30 s
    for (const { stdout } of await Promise.all([200, 300, 350, 500, 750, 1000].map(run))) expect(stdout).toBe('3000 pairs\n');
  });
});
