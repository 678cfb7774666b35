// The client's end of the channel handshake (protocol/channel.ts): a PIN exchange first when the link needs
// one (CPace), then Noise with the pre-shared key of the credential it holds. One instance per attempt.

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
  encodeCredentialRef,
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

/** What a handshake step leads to. */
export type HandshakeOutcome =
  | { kind: 'send'; frame: Uint8Array }
  | { kind: 'open'; welcome: WelcomePayload; keys: { send: Uint8Array; receive: Uint8Array } }
  | { kind: 'refused'; refused: Refused };

type Step =
  | { kind: 'pin'; cpace: CPace; sid: Uint8Array }
  | { kind: 'noise'; noise: NoiseHandshake }
  | { kind: 'done' };

function refOf(credential: Credential): CredentialRef {
  return credential.kind === 'link' ? { kind: 'link', readOnly: credential.readOnly } : { kind: 'device', id: credential.id };
}

/** One handshake with the agent. */
export class ChannelClient {
  private step: Step = { kind: 'done' };

  constructor(
    private readonly agentId: string,
    private readonly credential: Credential,
    /** The PIN, for a link that needs one. */
    private readonly pin: string | undefined,
    /** What to tell the agent in OPEN, asked for when OPEN is written. */
    private readonly openPayload: () => OpenPayload,
  ) {}

  /** The first frame to send. */
  start(): Uint8Array {
    if (this.credential.kind === 'link' && this.pin !== undefined) {
      const sid = randomBytes(16);
      const cpace = new CPace('initiator', { prs: pinPrs(this.pin), ci: pinChannelId(this.agentId), sid });
      this.step = { kind: 'pin', cpace, sid };
      return encodeHandshake(HandshakeStep.PinShare, encodePinShare(sid, cpace.share));
    }
    return this.open(channelPsk(this.credential, this.agentId), undefined);
  }

  /** A handshake frame from the agent. Throws ProtocolError (IntegrityError) for one that does not fit or authenticate. */
  receive(frame: HandshakeFrame): HandshakeOutcome {
    if (frame.step === HandshakeStep.Refused) {
      this.step = { kind: 'done' };
      return { kind: 'refused', refused: decodeRefused(frame.body) };
    }
    const step = this.step;
    if (frame.step === HandshakeStep.PinReply && step.kind === 'pin') {
      const yb = decodePinReply(frame.body);
      const isk = step.cpace.finish(yb);
      const psk = pinnedPsk(channelPsk(this.credential, this.agentId), isk, this.agentId);
      return { kind: 'send', frame: this.open(psk, { sid: step.sid, ya: step.cpace.share, yb }) } as const;
    }
    if (frame.step === HandshakeStep.Welcome && step.kind === 'noise') {
      const welcome = decodeWelcome(step.noise.readMessage(frame.body));
      const keys = step.noise.split();
      this.step = { kind: 'done' };
      return { kind: 'open', welcome, keys: { send: keys.initiator, receive: keys.responder } };
    }
    throw new ProtocolError(`handshake step ${frame.step} was not expected now`);
  }

  private open(psk: Uint8Array, pin: { sid: Uint8Array; ya: Uint8Array; yb: Uint8Array } | undefined): Uint8Array {
    const ref = refOf(this.credential);
    const noise = new NoiseHandshake('initiator', psk, channelPrologue(this.agentId, ref, pin));
    const message = noise.writeMessage(encodeOpen(this.openPayload()));
    this.step = { kind: 'noise', noise };
    const credential = encodeCredentialRef(ref);
    const body = new Uint8Array(credential.length + message.length);
    body.set(credential);
    body.set(message, credential.length);
    return encodeHandshake(HandshakeStep.Open, body);
  }
}
