// The paired devices of a running agent: a device pairs over its channel, connects (and is seen), and is
// revoked from a full device's channel or from `ccremote devices` on this computer. Revoking one replaces
// the link, has the relay cut whoever used either, and seals output from then on with a key only the
// devices still paired (and clients of the new link) get.

import type { AgentToRelay } from '../protocol/index.js';
import type { AgentEvent } from './agent-options.js';
import type { ChannelHost, OpenChannel } from './channel-host.js';
import type { ControlAnswer, ControlRequest } from './control-socket.js';
import type { AgentCredentials } from './credentials.js';
import type { PairedDevice } from './identity.js';

/** What the devices need from the rest of the agent. */
export interface DevicesContext {
  credentials: AgentCredentials;
  channels: ChannelHost;
  /** The agent's id once registered. */
  agentId(): string | undefined;
  /** Tells the relay (credentials). */
  toRelay(message: AgentToRelay): void;
  /** Forgets a client everywhere (a revoked one). */
  clientLeft(client: number): void;
  /** Output from now on is sealed with a new stream key, handed to every open channel. */
  rekey(): void;
  /** The current links. */
  links(): { url: string; viewUrl: string };
  emit(event: AgentEvent): void;
}

export class Devices {
  constructor(private readonly context: DevicesContext) {}

  /** A channel opened: the person hears who connected and from where; a device is seen. */
  connected(channel: OpenChannel): void {
    const device = channel.device ? { id: channel.device.id, name: channel.device.name } : undefined;
    this.context.emit({ event: 'connected', access: channel.access, device, address: channel.address });
    if (channel.device) void this.context.credentials.seen(channel.device.id, channel.address).catch((error: unknown) => this.saveFailed(error));
  }

  /** A device paired on `client`'s channel. */
  async pair(device: PairedDevice, client: number): Promise<void> {
    const { credentials, channels } = this.context;
    await credentials.pair(device);
    this.sendCredentials();
    this.context.emit({ event: 'paired', id: device.id, name: device.name, access: device.access, address: channels.get(client)?.address });
  }

  /** Revokes a paired device; the device, or undefined if there was none. */
  async revoke(id: string): Promise<PairedDevice | undefined> {
    const { credentials, channels } = this.context;
    const device = await credentials.revoke(id);
    if (!device) return undefined;
    this.sendCredentials();
    if (device.push) this.context.toRelay({ type: 'push_unregister', subscription: device.push.subscription });
    for (const [client, channel] of [...channels.open()]) {
      // Other paired devices stay (one that paired on its connection too); the revoked one and the link's go.
      if (channel.credential.kind === 'device' && channel.credential.id !== id) continue;
      this.context.clientLeft(client);
    }
    this.context.rekey();
    this.context.emit({ event: 'revoked', id: device.id, name: device.name });
    this.context.emit({ event: 'link_replaced', ...this.context.links() });
    return device;
  }

  /** A request from `ccremote devices` on this computer. */
  async control(request: ControlRequest): Promise<ControlAnswer> {
    if (request.type === 'devices') {
      return { ok: true, devices: this.context.credentials.devices.map(({ psk: _psk, verifier: _verifier, ...shown }) => shown) };
    }
    if (!this.context.agentId()) return { ok: false, message: 'the agent is not registered with its relay yet' };
    const revoked = await this.revoke(request.id);
    return revoked ? { ok: true, ...this.context.links() } : { ok: false, message: `no paired device ${request.id}` };
  }

  private sendCredentials(): void {
    this.context.toRelay({ type: 'credentials', ...this.context.credentials.forRelay(this.context.agentId()!) });
  }

  private saveFailed(error: unknown): void {
    this.context.emit({ event: 'warning', message: `cannot save the agent's identity file: ${(error as Error).message}` });
  }
}
