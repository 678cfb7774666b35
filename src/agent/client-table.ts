// What the agent keeps per client, whatever terminal it watches: the client's open channel (its keys and
// access), the input it applied from each client session (exactly once: a sequence number is used up only
// by a record that opened), the batched input acknowledgements, and the budget of replays and snapshots
// each session and credential gets. Terminals (terminal-stream.ts) look clients up here.

import {
  ProtocolError,
  decodeInputRecord,
  encodeToClient,
  openFrame,
  sealInputAck,
  type InputFrame,
  type InputRecord,
} from '../protocol/index.js';
import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';
import type { OpenChannel } from './channel-host.js';
import type { Uplink } from './uplink.js';

/**
 * Sync answers per client session and per credential (a device, or a link): a viewer reconnecting in a loop
 * or asking for snapshot after snapshot gets them no faster than this (the rest wait their turn).
 */
export const SYNC_BUDGET = { perSession: { burst: 10, perMinute: 30 }, perCredential: { burst: 20, perMinute: 60 } };

/** Sessions whose last applied input is remembered, beyond which the oldest is forgotten. */
const MAX_SESSIONS = 1024;

/** Input acknowledgements are sent at most this often per client, in ms. */
const ACK_DELAY_MS = 20;

/** Settings of a ClientTable. */
export interface ClientTableOptions {
  /** Reports how many clients have an open channel, when it changes. */
  onClients?(count: number): void;
  /** Reports a client's input that could not be opened or decoded, or may not be applied (it is skipped). */
  onBadInput?(client: number, message: string): void;
  /** Sync answers (replays, snapshots) each client session, and each credential, gets (tests shorten them). */
  syncBudget?: { perSession: RateLimitOptions; perCredential: RateLimitOptions };
}

/** The clients with an open channel, by the relay's number for them. */
export class ClientTable {
  private readonly clients = new Map<number, OpenChannel>();
  /** Session id → highest input sequence number applied. Insertion order is age order. */
  private readonly applied = new Map<string, number>();
  private readonly pendingAcks = new Set<number>();
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly sessionSyncs: RateLimiter;
  private readonly credentialSyncs: RateLimiter;
  private reported = 0;

  constructor(
    private readonly uplink: Uplink,
    /** Applies a record that opened and was not applied before. */
    private readonly apply: (client: number, record: InputRecord) => void,
    private readonly options: ClientTableOptions = {},
  ) {
    this.sessionSyncs = new RateLimiter(options.syncBudget?.perSession ?? SYNC_BUDGET.perSession);
    this.credentialSyncs = new RateLimiter(options.syncBudget?.perCredential ?? SYNC_BUDGET.perCredential);
  }

  get size(): number {
    return this.clients.size;
  }

  get(client: number): OpenChannel | undefined {
    return this.clients.get(client);
  }

  channels(): IterableIterator<OpenChannel> {
    return this.clients.values();
  }

  /** A client's channel opened: it is served from now on. */
  opened(client: number, channel: OpenChannel): void {
    this.clients.set(client, channel);
    this.report();
  }

  /** A client left (or was forgotten). */
  left(client: number): void {
    this.clients.delete(client);
    this.pendingAcks.delete(client);
    this.report();
  }

  /** A new relay connection: it announces its clients again, and each opens a new channel. */
  clear(): void {
    this.clients.clear();
    this.pendingAcks.clear();
    this.report();
  }

  /** An INPUT frame from `client`: applied once if it opens with the client's key and the client may type; acknowledged either way. */
  frame(client: number, input: InputFrame): void {
    const channel = this.clients.get(client);
    if (channel === undefined) return;
    if (channel.access !== 'full') {
      this.options.onBadInput?.(client, 'input from a read-only device or link');
      return;
    }
    const last = this.applied.get(channel.session) ?? 0;
    if (input.seq > last) {
      try {
        // Opened before it counts as applied: a forged frame must not use up a sequence number.
        const payload = openFrame(channel.keys.receive, input);
        this.remember(channel.session, input.seq);
        this.apply(client, decodeInputRecord(payload));
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.options.onBadInput?.(client, error.message);
      }
    }
    this.scheduleAck(client);
  }

  /** The acknowledgement of everything the client's session had applied, sealed for it; undefined if nothing (or it cannot type). */
  inputAck(client: number): Uint8Array | undefined {
    const channel = this.clients.get(client);
    const seq = channel === undefined ? undefined : this.applied.get(channel.session);
    return seq !== undefined && channel?.access === 'full' ? sealInputAck(channel.keys.send, seq) : undefined;
  }

  /** How long (ms) the client must wait for its next sync answer; 0: it may have one now (and the budget is spent). */
  takeSync(channel: OpenChannel): number {
    const credential = channel.credential.kind === 'device' ? `device:${channel.credential.id}` : `link:${channel.access}`;
    const wait = Math.max(this.sessionSyncs.retryAfterMs(channel.session), this.credentialSyncs.retryAfterMs(credential));
    if (wait > 0) return wait;
    this.sessionSyncs.take(channel.session);
    this.credentialSyncs.take(credential);
    return 0;
  }

  /** Stops the acknowledgement timer. */
  dispose(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  private scheduleAck(client: number): void {
    this.pendingAcks.add(client);
    // Acknowledgements only let clients forget input they keep for resending, so nothing waits for
    // them: they are batched, one per client every ACK_DELAY_MS however fast someone types.
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      for (const c of this.pendingAcks) {
        const ack = this.inputAck(c);
        if (ack) this.uplink.send(encodeToClient(c, ack));
      }
      this.pendingAcks.clear();
    }, ACK_DELAY_MS);
  }

  private remember(session: string, seq: number): void {
    this.applied.delete(session);
    this.applied.set(session, seq);
    if (this.applied.size > MAX_SESSIONS) this.applied.delete(this.applied.keys().next().value!);
  }

  private report(): void {
    if (this.clients.size === this.reported) return;
    this.reported = this.clients.size;
    this.options.onClients?.(this.reported);
  }
}
