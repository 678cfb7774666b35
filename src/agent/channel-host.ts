// The agent's end of every client's channel (protocol/channel.ts). For each client the relay announces it
// runs the handshake: a PIN exchange first when the link needs one (CPace, attempts limited), then Noise
// with the pre-shared key of the credential the client names (the access link, the read-only link, or a
// paired device). Once a channel is open it holds that connection's keys, and answers the channel's own
// messages: pairing a device, listing the paired devices and revoking one (full access only). Independent
// of sockets and of the terminal: it sends through an uplink and reports to its owner.

import {
  CPace,
  FrameType,
  HandshakeStep,
  IntegrityError,
  NoiseHandshake,
  ProtocolError,
  UnknownMessage,
  channelPrologue,
  channelPsk,
  decodeCredentialRef,
  decodeOpen,
  decodePinShare,
  deviceToken,
  encodeChannelMessage,
  encodeHandshake,
  encodeRefused,
  encodeToClient,
  encodeWelcome,
  fromBase64Url,
  open,
  parseClientChannel,
  pinChannelId,
  pinPrs,
  pinnedPsk,
  sealChannel,
  toBase64Url,
  tokenVerifier,
  viewSecret,
  MAX_DEVICES,
  type AgentChannelMessage,
  type ChannelFrame,
  type ClientChannelMessage,
  type CredentialRef,
  type DeviceInfo,
  type HandshakeFrame,
  type OpenPayload,
  type Refused,
  type WelcomePayload,
} from '../protocol/index.js';
import type { PairedDevice } from './identity.js';
import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';

/** What may be done through a channel. */
export type Access = 'full' | 'view';

/** An open channel: who is at the other end, and this connection's keys. */
export interface OpenChannel {
  /** The client session (stable across its reconnects): its input is applied once. */
  session: string;
  access: Access;
  credential: CredentialRef;
  /** The paired device at the other end, if it authenticated as one. */
  device: PairedDevice | undefined;
  /** Opens what the client seals (INPUT, CHANNEL), and seals what goes to it (SNAPSHOT, INPUT_ACK, CHANNEL). */
  keys: { receive: Uint8Array; send: Uint8Array };
  /** What the client said in OPEN: where it stands and how it wants missing output filled. */
  open: OpenPayload;
  address: string | undefined;
  /** Channel messages numbered in each direction: the last sent, and the last taken (a replay is not above it). */
  seq: { sent: number; received: number };
}

/** Where a channel host sends frames: the relay link. */
export interface ChannelUplink {
  send(data: Uint8Array): number;
}

/** What a channel host needs from the agent. */
export interface ChannelContext {
  agentId(): string;
  /** The access link's secret. */
  linkSecret(): string;
  /** Whether the full (or read-only) link may still be used (each expires unused after --link-ttl). */
  linkUsable(access: Access): boolean;
  devices(): readonly PairedDevice[];
  /** The PIN, if the agent has one: links then work only after a PIN exchange. */
  pin: string | undefined;
  /** What a new channel is told besides what it may do: the agent's name. */
  welcome(): Omit<WelcomePayload, 'access' | 'device' | 'can_pair'>;
}

/** What a channel host reports. */
export interface ChannelEvents {
  opened(client: number, channel: OpenChannel): void;
  /** A handshake was refused (a PIN that did not match, an unknown device…). */
  refused(client: number, refused: Refused, address: string | undefined): void;
  /** A device paired through `client`; the agent saves it and tells the relay. Resolves once that is done. */
  pair(device: PairedDevice, client: number): Promise<void>;
  /** A full device asks to revoke another one; resolves with whether it was revoked. */
  revoke(id: string, client: number): Promise<boolean>;
  /** A channel message that could not be opened or made no sense (reported, then ignored). */
  bad(client: number, message: string): void;
  /** A request about the agent's sessions (watch, start, end, dismiss, conversations, folders). */
  request(client: number, channel: OpenChannel, message: SessionRequest): Promise<void>;
}

/** The channel messages that concern sessions rather than the channel and devices. */
export type SessionRequest = Exclude<ClientChannelMessage, { type: 'pair' | 'devices' | 'revoke' }>;

/** PIN exchanges an agent takes part in (each is one guess): 10 at once, then one every 3 minutes. */
export const PIN_ATTEMPTS: RateLimitOptions = { burst: 10, perMinute: 1 / 3 };

/**
 * Channels opened per client session (30 at once, then 10 a second) and per credential (a device, or a link:
 * 60 at once, then 20 a second). Each costs a key agreement, a new stream key for the terminal it watches, and a line on
 * the agent's terminal; a relay replaying recorded OPENs gets no more. An honest client reconnecting as fast
 * as its backoff allows stays below.
 */
export const OPEN_BUDGET = { perSession: { burst: 30, perMinute: 600 }, perCredential: { burst: 60, perMinute: 1200 } } satisfies Record<string, RateLimitOptions>;

/** Clients the agent keeps track of at once (the relay admits 32 per agent); more announcements are ignored. */
export const MAX_CLIENTS = 64;

/** A client the relay announced, and how far its handshake got. */
type Handshaking =
  /** Announced, or refused (a new handshake may start over: a PIN typed again). */
  | { kind: 'joined'; address: string | undefined }
  | { kind: 'pin'; address: string | undefined; sid: Uint8Array; ya: Uint8Array; yb: Uint8Array; isk: Uint8Array }
  | { kind: 'open'; channel: OpenChannel };

export class ChannelHost {
  private readonly clients = new Map<number, Handshaking>();
  private readonly pinAttempts: RateLimiter;
  private readonly sessionOpens: RateLimiter;
  private readonly credentialOpens: RateLimiter;

  constructor(
    private readonly uplink: ChannelUplink,
    private readonly context: ChannelContext,
    private readonly events: ChannelEvents,
    budgets: { pin?: RateLimitOptions; open?: typeof OPEN_BUDGET } = {},
  ) {
    this.pinAttempts = new RateLimiter(budgets.pin ?? PIN_ATTEMPTS);
    this.sessionOpens = new RateLimiter((budgets.open ?? OPEN_BUDGET).perSession);
    this.credentialOpens = new RateLimiter((budgets.open ?? OPEN_BUDGET).perCredential);
  }

  /** The open channel of a client, if its handshake succeeded. */
  get(client: number): OpenChannel | undefined {
    const state = this.clients.get(client);
    return state?.kind === 'open' ? state.channel : undefined;
  }

  /** Every open channel. */
  *open(): Iterable<[number, OpenChannel]> {
    for (const [client, state] of this.clients) if (state.kind === 'open') yield [client, state.channel];
  }

  /** Whether the relay announced this client (and it was taken). */
  knows(client: number): boolean {
    return this.clients.has(client);
  }

  /** The relay announced a client; its handshake comes next. Beyond MAX_CLIENTS it is ignored (reported). */
  joined(client: number, address: string | undefined): void {
    if (!this.clients.has(client) && this.clients.size >= MAX_CLIENTS) {
      this.events.bad(client, `more than ${MAX_CLIENTS} clients announced at once`);
      return;
    }
    this.clients.set(client, { kind: 'joined', address });
  }

  left(client: number): void {
    this.clients.delete(client);
  }

  /** The relay connection was lost or replaced: every channel ends with it. */
  reset(): void {
    this.clients.clear();
  }

  /** A HANDSHAKE frame from a client. Throws ProtocolError for a frame that makes no sense (reported by the caller). */
  handshake(client: number, frame: HandshakeFrame): void {
    const state = this.clients.get(client);
    if (!state) return; // it left
    if (frame.step === HandshakeStep.PinShare) return this.pinShare(client, state, frame.body);
    if (frame.step === HandshakeStep.Open) return this.openChannel(client, state, frame.body);
    throw new ProtocolError(`handshake step ${frame.step} is not the client's to send`);
  }

  /** A CHANNEL frame from a client. */
  channel(client: number, frame: ChannelFrame): void {
    const channel = this.get(client);
    if (!channel) return;
    let message: ClientChannelMessage;
    try {
      const bytes = open(channel.keys.receive, frame.header, frame.box, 'channel message');
      if (frame.seq <= channel.seq.received) throw new ProtocolError(`channel message ${frame.seq} came again (a replay)`);
      channel.seq.received = frame.seq;
      message = parseClientChannel(bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.events.bad(client, error.message);
      // A request from a newer page or client: it learns why nothing will come, instead of waiting.
      if (error instanceof UnknownMessage) {
        this.send(client, { type: 'refused', message: `This agent does not know “${error.messageType}” requests: it is older than the page. Update ccremote on the computer.`, ...(error.request !== undefined ? { request: error.request } : {}) });
      }
      return;
    }
    this.serve(client, channel, message).catch((error: unknown) => {
      this.events.bad(client, `a ${message.type} request failed: ${(error as Error).message}`);
      this.send(client, { type: 'refused', message: `The agent could not do that: ${(error as Error).message}` });
    });
  }

  /** Sends a channel message to a client whose channel is open. */
  send(client: number, message: AgentChannelMessage): void {
    const channel = this.get(client);
    if (channel) this.uplink.send(encodeToClient(client, sealChannel(channel.keys.send, ++channel.seq.sent, encodeChannelMessage(message))));
  }

  private pinShare(client: number, state: Handshaking, body: Uint8Array): void {
    if (state.kind === 'open') throw new ProtocolError('PIN_SHARE on an open channel');
    const pin = this.context.pin;
    if (pin === undefined) return this.refuse(client, state.address, 'unknown_credential', 'This link needs no PIN.');
    if (!this.pinAttempts.take('pin')) {
      return this.refuse(client, state.address, 'too_many_attempts', 'Too many PIN attempts; try again in a few minutes.');
    }
    const { sid, share } = decodePinShare(body);
    const cpace = new CPace('responder', { prs: pinPrs(pin), ci: pinChannelId(this.context.agentId()), sid });
    let isk: Uint8Array;
    try {
      isk = cpace.finish(share);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      return this.refuse(client, state.address, 'unknown_credential', 'The PIN exchange failed.');
    }
    this.clients.set(client, { kind: 'pin', address: state.address, sid, ya: share, yb: cpace.share, isk });
    this.toClient(client, encodeHandshake(HandshakeStep.PinReply, cpace.share));
  }

  private openChannel(client: number, state: Handshaking, body: Uint8Array): void {
    if (state.kind !== 'joined' && state.kind !== 'pin') throw new ProtocolError('OPEN out of order');
    const agentId = this.context.agentId();
    const { ref, length } = decodeCredentialRef(body);
    const pinned = state.kind === 'pin' ? { sid: state.sid, ya: state.ya, yb: state.yb } : undefined;
    let psk: Uint8Array;
    let access: Access;
    let device: PairedDevice | undefined;
    if (ref.kind === 'link') {
      if (!this.context.linkUsable(ref.readOnly ? 'view' : 'full')) return this.refuse(client, state.address, 'link_expired', 'This link expired unused; the agent prints a new one with --rotate.');
      if (this.context.pin !== undefined && state.kind !== 'pin') return this.refuse(client, state.address, 'pin_required', 'This link needs the PIN.');
      const full = this.context.linkSecret();
      const secret = ref.readOnly ? viewSecret(full, agentId) : full;
      psk = channelPsk({ kind: 'link', secret, readOnly: ref.readOnly }, agentId);
      if (state.kind === 'pin') psk = pinnedPsk(psk, state.isk, agentId);
      access = ref.readOnly ? 'view' : 'full';
    } else {
      device = this.context.devices().find((d) => d.id === ref.id);
      if (!device) return this.refuse(client, state.address, 'unknown_credential', 'This device is not paired with the agent (any more).');
      psk = fromBase64Url(device.psk);
      access = device.access;
    }
    const noise = new NoiseHandshake('responder', psk, channelPrologue(agentId, ref, pinned));
    let payload: OpenPayload;
    try {
      payload = decodeOpen(noise.readMessage(body.subarray(length)));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      const wrongPin = state.kind === 'pin' && error instanceof IntegrityError;
      return this.refuse(client, state.address, 'unknown_credential', wrongPin ? 'Wrong PIN.' : `The handshake failed: ${error.message}.`);
    }
    const credential = ref.kind === 'device' ? `device:${ref.id}` : `link:${access}`;
    const waitMs = Math.max(this.sessionOpens.retryAfterMs(payload.session), this.credentialOpens.retryAfterMs(credential));
    if (waitMs > 0) return this.refuse(client, state.address, 'busy', `Too many connections with this credential; retry in ${Math.max(1, Math.ceil(waitMs / 1000))} s`);
    this.sessionOpens.take(payload.session);
    this.credentialOpens.take(credential);
    const welcome: WelcomePayload = {
      ...this.context.welcome(),
      access,
      ...(device ? { device: { id: device.id, name: device.name } } : {}),
      can_pair: ref.kind === 'link',
    };
    const message = noise.writeMessage(encodeWelcome(welcome));
    const keys = noise.split();
    const channel: OpenChannel = {
      session: payload.session,
      access,
      credential: ref,
      device,
      keys: { receive: keys.initiator, send: keys.responder },
      open: payload,
      address: state.address,
      seq: { sent: 0, received: 0 },
    };
    this.clients.set(client, { kind: 'open', channel });
    this.toClient(client, encodeHandshake(HandshakeStep.Welcome, message));
    this.events.opened(client, channel);
  }

  private async serve(client: number, channel: OpenChannel, message: ClientChannelMessage): Promise<void> {
    switch (message.type) {
      case 'pair': {
        // A connection that came with a link pairs one device, once; it is that device from then on.
        if (channel.credential.kind !== 'link') return this.send(client, { type: 'refused', message: 'Only a connection with a link pairs a device, once.' });
        const known = this.context.devices().find((d) => d.id === message.id);
        if (known) {
          // The same device again, its `paired` lost with its connection: it holds that device's key already, and this connection is that device.
          const again = { kind: 'device' as const, id: message.id, secret: message.secret, readOnly: channel.access === 'view' };
          if (known.access !== channel.access || known.psk !== toBase64Url(channelPsk(again, this.context.agentId()))) {
            return this.send(client, { type: 'refused', message: 'A device with this id is paired already.' });
          }
          channel.credential = { kind: 'device', id: known.id };
          channel.device = known;
          return this.send(client, { type: 'paired', id: known.id, name: known.name, access: known.access });
        }
        if (this.context.devices().length >= MAX_DEVICES) {
          return this.send(client, { type: 'refused', message: `At most ${MAX_DEVICES} devices can be paired; revoke one first.` });
        }
        const agentId = this.context.agentId();
        const credential = { kind: 'device' as const, id: message.id, secret: message.secret, readOnly: channel.access === 'view' };
        const device: PairedDevice = {
          id: message.id,
          name: message.name,
          access: channel.access,
          psk: toBase64Url(channelPsk(credential, agentId)),
          verifier: tokenVerifier(deviceToken(message.secret, agentId, message.id)),
          pairedAt: Date.now(),
          lastSeen: Date.now(),
          lastAddress: channel.address,
        };
        const link = channel.credential;
        channel.credential = { kind: 'device', id: device.id }; // at once: a second pair on this connection is refused
        try {
          await this.events.pair(device, client);
        } catch (error) {
          channel.credential = link;
          throw error;
        }
        channel.device = device;
        return this.send(client, { type: 'paired', id: device.id, name: device.name, access: device.access });
      }
      case 'devices':
        if (channel.access !== 'full') return this.send(client, { type: 'refused', message: 'A read-only device cannot list devices.' });
        return this.send(client, { type: 'devices', devices: this.context.devices().map((d) => deviceInfo(d, channel)) });
      case 'revoke': {
        if (channel.access !== 'full') return this.send(client, { type: 'refused', message: 'A read-only device cannot revoke devices.' });
        const revoked = await this.events.revoke(message.id, client);
        if (!revoked) return this.send(client, { type: 'refused', message: 'No such device.' });
        return this.send(client, { type: 'revoked', id: message.id });
      }
      default:
        return this.events.request(client, channel, message);
    }
  }

  private refuse(client: number, address: string | undefined, reason: Refused['reason'], message: string): void {
    const refused: Refused = { reason, message };
    this.clients.set(client, { kind: 'joined', address });
    this.toClient(client, encodeHandshake(HandshakeStep.Refused, encodeRefused(refused)));
    this.events.refused(client, refused, address);
  }

  private toClient(client: number, inner: Uint8Array): void {
    this.uplink.send(encodeToClient(client, inner));
  }
}

function deviceInfo(device: PairedDevice, asking: OpenChannel): DeviceInfo {
  return {
    id: device.id,
    name: device.name,
    access: device.access,
    paired_at: device.pairedAt,
    last_seen: device.lastSeen ?? null,
    ...(device.lastAddress ? { last_address: device.lastAddress } : {}),
    alerts: device.push !== undefined,
    current: asking.device?.id === device.id,
  };
}

/** The frame types a client sends that the channel host handles. */
export const CHANNEL_FRAME_TYPES: readonly number[] = [FrameType.Handshake, FrameType.Channel];
