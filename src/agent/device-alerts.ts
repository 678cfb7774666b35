// Alerts to paired devices while their page is closed (Web Push): each attention event, encrypted for each
// device that asked for alerts (push-sender.ts), so that the relay and the push service see only
// ciphertext; one per session (the push topic and the notification's tag), so a newer one replaces it. A
// permission request goes to a device with full access with a key of its own to answer it from the
// notification (permissions.ts, protocol/answer.ts); a read-only device gets it without. A device can mute
// a session: it gets nothing about that session until it unmutes it or the session goes.

import { MAX_TEXT_LENGTH, printable, randomId, type AgentChannelMessage, type AgentToRelay, type AttentionEvent } from '../protocol/index.js';
import type { DevicePush, PairedDevice } from './identity.js';
import type { Permissions } from './permissions.js';
import { encryptPush } from './push-sender.js';

/** Seconds a push service keeps an alert for a device that is off line: a permission request waits about as long. */
const ALERT_TTL_S = 3600;

/** What device alerts need from the agent. */
export interface DeviceAlertsContext {
  agentId(): string;
  name: string;
  devices(): readonly PairedDevice[];
  permissions: Permissions;
  /** Keeps a device's subscription with it (none: forgets it). */
  setPush(device: string, push: DevicePush | undefined): Promise<void>;
  toRelay(message: Extract<AgentToRelay, { type: 'push' | 'push_register' | 'push_unregister' }>): void;
  warn(message: string): void;
  /** What `device` is told of its alerts changed (an alert did not reach it, or did again). */
  changed(device: string): void;
}

/** What a device is told of its alerts. */
type PushState = Extract<AgentChannelMessage, { type: 'push_state' }>;

export class DeviceAlerts {
  /** The sessions each device muted, by device id. */
  private readonly muted = new Map<string, Set<number>>();
  /** Why the last alert to a subscription did not reach it, by subscription id. */
  private readonly problems = new Map<string, string>();

  constructor(private readonly context: DeviceAlertsContext) {}

  /** Whether `device` gets alerts, and the sessions it muted. */
  state(device: string): PushState {
    const push = this.context.devices().find((d) => d.id === device)?.push;
    const problem = push ? this.problems.get(push.subscription) : undefined;
    return { type: 'push_state', subscribed: push !== undefined, muted: [...(this.muted.get(device) ?? [])].sort((a, b) => a - b), ...(problem ? { problem } : {}) };
  }

  /**
   * What the relay made of a push or registration (`push_result`): a failure is told to the person and,
   * once, to the device, so that its menu can say why alerts do not come; the next success clears it.
   */
  result(subscription: string, status: number, message: string | undefined): void {
    const device = this.context.devices().find((d) => d.push?.subscription === subscription);
    const failed = status === 0 || status >= 400;
    const why = status === 0 ? `the relay did not send it${message ? `: ${printable(message)}` : ''}` : `the push service answered ${status}${message ? `: ${printable(message)}` : ''}`;
    if (failed) this.context.warn(`a push alert${device ? ` for ${device.name}` : ''} was not delivered (${why})`);
    if (!device) return;
    const before = this.problems.get(subscription);
    if (failed) this.problems.set(subscription, `The last alert did not reach this device: ${why}.`.slice(0, MAX_TEXT_LENGTH));
    else this.problems.delete(subscription);
    if (before !== this.problems.get(subscription)) this.context.changed(device.id);
  }

  /** `device` asks for alerts at this subscription (it keeps its subscription id when it had one). */
  async subscribe(device: string, subscription: { endpoint: string; p256dh: string; auth: string }): Promise<PushState> {
    const known = this.context.devices().find((d) => d.id === device)?.push;
    const push = { subscription: known?.subscription ?? randomId(), endpoint: subscription.endpoint, p256dh: subscription.p256dh, auth: subscription.auth };
    await this.context.setPush(device, push);
    this.context.toRelay({ type: 'push_register', subscription: push.subscription, endpoint: push.endpoint });
    return this.state(device);
  }

  /** `device` wants no more alerts (or was revoked): the relay forgets its subscription, and its mutes go. */
  async unsubscribe(device: string): Promise<PushState> {
    const known = this.context.devices().find((d) => d.id === device)?.push;
    if (known) {
      await this.context.setPush(device, undefined);
      this.context.toRelay({ type: 'push_unregister', subscription: known.subscription });
    }
    this.muted.delete(device);
    return this.state(device);
  }

  /** The relay knows the subscriptions of its current connection only: every device's, again. */
  registerAll(): void {
    for (const device of this.context.devices()) {
      if (device.push) this.context.toRelay({ type: 'push_register', subscription: device.push.subscription, endpoint: device.push.endpoint });
    }
  }

  /** `device` mutes (or unmutes) the session `terminal`. */
  mute(device: string, terminal: number, muted: boolean): PushState {
    const set = this.muted.get(device) ?? new Set<number>();
    if (muted) set.add(terminal);
    else set.delete(terminal);
    if (set.size > 0) this.muted.set(device, set);
    else this.muted.delete(device);
    return this.state(device);
  }

  /** A session is gone: nobody mutes it any more (a later session may get its number). */
  sessionGone(terminal: number): void {
    for (const [device, set] of this.muted) {
      set.delete(terminal);
      if (set.size === 0) this.muted.delete(device);
    }
  }

  /** Sends `event` about the session named `session` to every device that asked for alerts and did not mute it. */
  send(session: string, event: AttentionEvent): void {
    const { permissions } = this.context;
    const request = event.permission ? permissions.get(event.permission.id) : undefined;
    for (const device of this.context.devices()) {
      if (!device.push || this.muted.get(device.id)?.has(event.terminal)) continue;
      const answer = request?.waiting && device.access === 'full' ? permissions.answerKey(request, device.id) : undefined;
      const message = { agent: this.context.agentId(), name: this.context.name, session, ...event, ...(answer ? { answer } : {}) };
      let payload: string;
      try {
        payload = encryptPush({ endpoint: device.push.endpoint, keys: { p256dh: device.push.p256dh, auth: device.push.auth } }, message);
      } catch (error) {
        this.context.warn(`a push alert for ${device.name} could not be made: ${(error as Error).message}`);
        continue;
      }
      this.context.toRelay({
        type: 'push',
        subscription: device.push.subscription,
        payload,
        ttl: ALERT_TTL_S,
        urgency: event.kind === 'stop' ? 'normal' : 'high',
        topic: `session-${event.terminal}`,
      });
    }
  }
}
