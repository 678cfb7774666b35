// The client's end of the channel handshake (protocol/channel.ts): a PIN exchange first when the link needs
// one (CPace), then Noise with the pre-shared key of the credential it holds. One instance per attempt. Its
// ephemeral key comes from a key agreement that may be asynchronous (WebCrypto in the browser).

import {
  CPace,
  HandshakeStep,
  NoiseHandshake,
  ProtocolError,
  channelPrologue,
  channelPsk,
  decodePinReply,
  decodeRefused,
  decodeWelcome,
  concatBytes,
  encodeCredentialRef,
  newEphemeralKey,
  peerEphemeral,
  encodeHandshake,
  encodeOpen,
  encodePinShare,
  pinChannelId,
  pinPrs,
  pinnedPsk,
  randomBytes,
  type Credential,
  type CredentialRef,
  type HandshakeFrame,
  type OpenPayload,
  type Refused,
  type WelcomePayload,
} from '../protocol/index.js';

/** An ephemeral X25519 key whose agreement may take time: its public half, and Diffie-Hellman with a peer's. */
export interface AsyncEphemeral {
  publicKey: Uint8Array;
  agree(peerPublic: Uint8Array): Promise<Uint8Array>;
}

/** Makes a fresh ephemeral key. */
export type KeyAgreement = () => Promise<AsyncEphemeral>;

/** The key agreement of the protocol module (pure JavaScript, or native once installed): no waiting involved. */
export const defaultKeyAgreement: KeyAgreement = async () => {
  const key = newEphemeralKey();
  return { publicKey: key.publicKey, agree: async (peer) => key.agree(peer) };
};

/**
 * `agreement`, with the next ephemeral key made ahead of the handshake that takes it: one key waits, made
 * in a task of its own once the one before was taken (so never inside a handshake that is being timed by
 * the person waiting for it), and the handshake finds it ready instead of making it then. With WebCrypto
 * that is two of the four asynchronous steps on the phone's main thread; the key is still used once only
 * (a fresh one per handshake), and it is made again if making it failed. `dispose` stops it.
 */
export function keyMadeAhead(agreement: KeyAgreement): { agreement: KeyAgreement; dispose(): void } {
  let ready: Promise<AsyncEphemeral> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const prepare = (): void => {
    timer = setTimeout(() => {
      timer = undefined;
      const made = agreement();
      made.catch(() => {
        if (ready === made) ready = undefined; // taken later, it is made again then
      });
      ready = made;
    }, 0);
  };
  prepare();
  return {
    agreement: () => {
      clearTimeout(timer);
      const taken = ready ?? agreement();
      ready = undefined;
      prepare();
      return taken;
    },
    dispose: () => {
      clearTimeout(timer);
      timer = undefined;
      ready = undefined;
    },
  };
}

/** What a handshake step leads to. */
export type HandshakeOutcome =
  | { kind: 'send'; frame: Uint8Array }
  | { kind: 'open'; welcome: WelcomePayload; keys: { send: Uint8Array; receive: Uint8Array } }
  | { kind: 'refused'; refused: Refused };

type Step =
  | { kind: 'pin'; cpace: CPace; sid: Uint8Array }
  | { kind: 'noise'; noise: NoiseHandshake; ephemeral: AsyncEphemeral }
  | { kind: 'done' };

function refOf(credential: Credential): CredentialRef {
  return credential.kind === 'link' ? { kind: 'link', readOnly: credential.readOnly } : { kind: 'device', id: credential.id };
}

/** One handshake with the agent. */
export class ChannelClient {
  private step: Step = { kind: 'done' };
  /** The ephemeral key being made while a PIN exchange goes on. */
  private nextEphemeral: Promise<AsyncEphemeral> | undefined;

  constructor(
    private readonly agentId: string,
    private readonly credential: Credential,
    /** The PIN, for a link that needs one. */
    private readonly pin: string | undefined,
    /** What to tell the agent in OPEN, asked for when OPEN is written. */
    private readonly openPayload: () => OpenPayload,
    private readonly keyAgreement: KeyAgreement = defaultKeyAgreement,
  ) {}

  /** The first frame to send. */
  async start(): Promise<Uint8Array> {
    const ephemeral = this.keyAgreement();
    ephemeral.catch(() => undefined); // a PIN exchange that is refused never waits for it
    if (this.credential.kind === 'link' && this.pin !== undefined) {
      const sid = randomBytes(16);
      const cpace = new CPace('initiator', { prs: pinPrs(this.pin), ci: pinChannelId(this.agentId), sid });
      this.step = { kind: 'pin', cpace, sid };
      this.nextEphemeral = ephemeral;
      return encodeHandshake(HandshakeStep.PinShare, encodePinShare(sid, cpace.share));
    }
    return this.open(channelPsk(this.credential, this.agentId), undefined, await ephemeral);
  }

  /** A handshake frame from the agent. Rejects with a ProtocolError (IntegrityError) for one that does not fit or authenticate. */
  async receive(frame: HandshakeFrame): Promise<HandshakeOutcome> {
    if (frame.step === HandshakeStep.Refused) {
      this.step = { kind: 'done' };
      return { kind: 'refused', refused: decodeRefused(frame.body) };
    }
    const step = this.step;
    if (frame.step === HandshakeStep.PinReply && step.kind === 'pin') {
      const yb = decodePinReply(frame.body);
      const isk = step.cpace.finish(yb);
      const psk = pinnedPsk(channelPsk(this.credential, this.agentId), isk, this.agentId);
      const ephemeral = await (this.nextEphemeral ?? this.keyAgreement());
      return { kind: 'send', frame: this.open(psk, { sid: step.sid, ya: step.cpace.share, yb }, ephemeral) };
    }
    if (frame.step === HandshakeStep.Welcome && step.kind === 'noise') {
      const shared = await step.ephemeral.agree(peerEphemeral(frame.body));
      const welcome = decodeWelcome(step.noise.readMessage(frame.body, shared));
      const keys = step.noise.split();
      this.step = { kind: 'done' };
      return { kind: 'open', welcome, keys: { send: keys.initiator, receive: keys.responder } };
    }
    throw new ProtocolError(`handshake step ${frame.step} was not expected now`);
  }

  private open(psk: Uint8Array, pin: { sid: Uint8Array; ya: Uint8Array; yb: Uint8Array } | undefined, ephemeral: AsyncEphemeral): Uint8Array {
    const ref = refOf(this.credential);
    const noise = new NoiseHandshake('initiator', psk, channelPrologue(this.agentId, ref, pin), { publicKey: ephemeral.publicKey });
    const message = noise.writeMessage(encodeOpen(this.openPayload()));
    this.step = { kind: 'noise', noise, ephemeral };
    return encodeHandshake(HandshakeStep.Open, concatBytes(encodeCredentialRef(ref), message));
  }
}
