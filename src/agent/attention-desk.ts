// Everything that reaches the person when a session wants them, in one place: Claude Code's attention
// events and permission requests go to every open channel and, as Web Push, to the devices that asked for
// alerts (device-alerts.ts); permission requests wait for one answer (permissions.ts), from a page, a
// notification (notification-answer.ts) or the terminal, and are announced once more when nobody answers.
// The running agent hands it what the sessions, the clients and the relay say about these.

import type { AgentChannelMessage, AgentToRelay, AttentionEvent, ClientChannelMessage, RelayToAgent } from '../protocol/index.js';
import type { AgentEvent } from './agent-options.js';
import type { HookPermission } from './attention-channel.js';
import type { OpenChannel } from './channel-host.js';
import { DeviceAlerts } from './device-alerts.js';
import { PERMISSION_WAIT_MS } from './hook-limits.js';
import type { DevicePush, PairedDevice } from './identity.js';
import { answerFromNotification } from './notification-answer.js';
import { Permissions, type PermissionRequest } from './permissions.js';
import type { TerminalSession } from './terminal-session.js';

/** A permission request nobody answered is announced once more after this long, unless told otherwise (--remind-after), in ms. */
export const DEFAULT_REMIND_AFTER_MS = 5 * 60_000;

/** What the desk needs from the running agent. */
export interface AttentionDeskContext {
  agentId(): string;
  name: string;
  devices(): readonly PairedDevice[];
  setPush(device: string, push: DevicePush | undefined): Promise<void>;
  session(terminal: number): TerminalSession | undefined;
  /** The open channels, and a way to send to one. */
  channels(): Iterable<[number, OpenChannel]>;
  send(client: number, message: AgentChannelMessage): void;
  toRelay(message: AgentToRelay): void;
  emit(event: AgentEvent): void;
  remindAfterMs: number | undefined;
}

/** The channel messages the desk answers. */
export type DeskRequest = Extract<ClientChannelMessage, { type: 'push_subscribe' | 'push_unsubscribe' | 'push_mute' | 'permission_answer' }>;

export class AttentionDesk {
  private readonly permissions: Permissions;
  private readonly alerts: DeviceAlerts;

  constructor(private readonly context: AttentionDeskContext) {
    this.permissions = new Permissions(
      {
        settled: (request, outcome, message) => {
          this.report(request, outcome, message);
          this.toEveryChannel({ type: 'permission_settled', terminal: request.terminal, id: request.id, outcome, message });
          if (this.permissions.waiting(request.terminal).length === 0) context.session(request.terminal)?.attended();
        },
        remind: (request) => this.remind(request),
      },
      { remindAfterMs: context.remindAfterMs ?? DEFAULT_REMIND_AFTER_MS, waitMs: PERMISSION_WAIT_MS },
    );
    this.alerts = new DeviceAlerts({
      agentId: context.agentId,
      name: context.name,
      devices: context.devices,
      permissions: this.permissions,
      setPush: context.setPush,
      toRelay: context.toRelay,
      warn: (message) => context.emit({ event: 'warning', message }),
      changed: (device) => {
        for (const [client, channel] of context.channels()) if (channel.device?.id === device) context.send(client, this.alerts.state(device));
      },
    });
  }

  /** A session's program wants the person (`type`: Claude Code's kind of notification). */
  attention(session: TerminalSession, event: AttentionEvent, type: string | undefined): void {
    // Claude Code's own note that it asks for a permission says less than the request held for it.
    if (type === 'permission_prompt' && this.permissions.waiting(session.terminal).length > 0) return;
    this.toEveryChannel({ type: 'attention', ...event });
    this.alerts.send(session.info().name, event);
  }

  /** Claude Code asks for a permission: the request waits for an answer, and the person hears of it. */
  permission(session: TerminalSession, hook: HookPermission): void {
    const request = this.permissions.add(session.terminal, hook);
    this.report(request, 'waiting');
    const { terminal: _terminal, ...event } = request.attention();
    session.attentionEvent(event);
  }

  /** A tool call of Claude Code's in `terminal` ran or failed. */
  toolDone(terminal: number, call: string): void {
    this.permissions.toolDone(terminal, call);
  }

  /** Someone typed into `terminal`. */
  typedInto(terminal: number): void {
    this.permissions.typedInto(terminal);
  }

  /** `terminal`'s program ended. */
  ended(terminal: number): void {
    this.permissions.ended(terminal);
  }

  /** `terminal` is gone (dismissed). */
  closed(terminal: number): void {
    this.alerts.sessionGone(terminal);
  }

  /** A channel opened: what waits for an answer now (so a page opened from a notification can give it), and its device's alerts. */
  opened(client: number, channel: OpenChannel): void {
    for (const request of this.permissions.waiting()) this.context.send(client, { type: 'attention', ...request.attention() });
    if (channel.device) this.context.send(client, this.alerts.state(channel.device.id));
  }

  /** The relay is (back) online: it knows no subscription of this connection yet. */
  online(): void {
    this.alerts.registerAll();
  }

  /** Lets every waiting hook go (the agent stops). */
  close(): void {
    this.permissions.close();
  }

  /** A channel's request about alerts or a permission; answered to that channel (or, once settled, to all). */
  async serve(client: number, channel: OpenChannel, message: DeskRequest): Promise<void> {
    const send = (answer: AgentChannelMessage): void => this.context.send(client, answer);
    if (message.type === 'permission_answer') {
      if (channel.access !== 'full') return send({ type: 'refused', message: 'A read-only link cannot answer a permission request.' });
      const request = this.permissions.get(message.id);
      if (!request) return send({ type: 'refused', message: 'That permission request is not known here (the agent may have restarted); answer it in the terminal.' });
      const { outcome, message: said } = this.permissions.answer(request, message.decision, this.where(channel));
      // A settled request was told to every channel; one that was gone already only to the one asking.
      if (outcome === 'gone') send({ type: 'permission_settled', terminal: request.terminal, id: request.id, outcome, message: said });
      return;
    }
    const device = channel.device;
    if (!device) return send({ type: 'refused', message: 'Only a paired device gets push alerts.' });
    if (message.type === 'push_subscribe') return send(await this.alerts.subscribe(device.id, message));
    if (message.type === 'push_unsubscribe') return send(await this.alerts.unsubscribe(device.id));
    if (!this.context.session(message.terminal)) return send({ type: 'refused', message: `There is no session ${message.terminal}.` });
    send(this.alerts.mute(device.id, message.terminal, message.muted));
  }

  /** What the relay says about alerts: a push's fate, or a device's answer from its notification. */
  relay(message: Extract<RelayToAgent, { type: 'push_result' | 'answer' }>): void {
    if (message.type === 'push_result') return this.alerts.result(message.subscription, message.status, message.message);
    const { sealed, warning } = answerFromNotification({ agentId: this.context.agentId(), permissions: this.permissions, devices: this.context.devices() }, message);
    if (warning) this.context.emit({ event: 'warning', message: warning });
    this.context.toRelay({ type: 'answer_result', ref: message.ref, ...(sealed ? { sealed } : {}) });
  }

  /** A request nobody answered for a while: announced once more, to the pages and the devices. */
  private remind(request: PermissionRequest): void {
    const session = this.context.session(request.terminal);
    if (!session || !request.waiting) return;
    this.report(request, 'reminded');
    const event = request.attention(true);
    this.toEveryChannel({ type: 'attention', ...event });
    this.alerts.send(session.info().name, event);
  }

  /** Tells the person (the agent's terminal, --json) where a request stands. */
  private report(request: PermissionRequest, state: Extract<AgentEvent, { event: 'permission' }>['state'], message?: string): void {
    const { tool, detail } = request.hook;
    this.context.emit({ event: 'permission', terminal: request.terminal, tool, detail, state, ...(message !== undefined ? { message } : {}) });
  }

  /** Where an answer came from, for people: the device's name, or the kind of link. */
  private where(channel: OpenChannel): string {
    const device = channel.device ? this.context.devices().find((d) => d.id === channel.device!.id) : undefined;
    return device ? device.name : 'a browser with the link';
  }

  private toEveryChannel(message: AgentChannelMessage): void {
    for (const [client] of this.context.channels()) this.context.send(client, message);
  }
}
