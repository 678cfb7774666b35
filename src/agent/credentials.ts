// Who may reach this agent: the access link (and its read-only twin) and the paired devices, kept in the
// identity file. Pairing adds a device; revoking one removes it and replaces the link, so that a revoked
// device that kept a copy of the link cannot pair again, while every other paired device keeps its own key.
// The relay is told the verifiers of all of them (`hello`, `credentials`), never a secret.

import { accessToken, linkViewSecret, tokenVerifier, type AgentToRelay } from '../protocol/index.js';
import { replaceLink, type Identity, type IdentityFile, type PairedDevice } from './identity.js';

type RelayCredentials = Omit<Extract<AgentToRelay, { type: 'credentials' }>, 'type'>;

/** The credentials of one agent identity. */
export class AgentCredentials {
  constructor(
    private readonly identity: Identity,
    private readonly file: IdentityFile,
    /** An unused link expires this long after it was made (undefined: never). */
    private readonly linkTtlMs: number | undefined,
  ) {}

  get linkSecret(): string {
    return this.identity.secret;
  }

  get devices(): readonly PairedDevice[] {
    return this.identity.devices;
  }

  /** Whether the link may still be used: it has paired a device, or is younger than the TTL. */
  linkUsable(now = Date.now()): boolean {
    return this.linkTtlMs === undefined || this.identity.linkUsed || now - this.identity.linkCreatedAt < this.linkTtlMs;
  }

  /** What the relay checks browsers' tokens against. */
  forRelay(agentId: string): RelayCredentials {
    const view = linkViewSecret({ kind: 'link', secret: this.identity.secret, readOnly: false }, agentId)!;
    return {
      access: tokenVerifier(accessToken(this.identity.secret, agentId)),
      view: tokenVerifier(accessToken(view, agentId)),
      devices: this.identity.devices.map((d) => ({ id: d.id, verifier: d.verifier, read_only: d.access === 'view' })),
    };
  }

  /** Adds (or replaces, by id) a paired device; the link counts as used from now on. */
  async pair(device: PairedDevice): Promise<void> {
    this.identity.devices = [...this.identity.devices.filter((d) => d.id !== device.id), device];
    this.identity.linkUsed = true;
    await this.file.save(this.identity);
  }

  /** Removes a paired device and replaces the link; the device removed, or undefined if there was none. */
  async revoke(id: string): Promise<PairedDevice | undefined> {
    const device = this.identity.devices.find((d) => d.id === id);
    if (!device) return undefined;
    this.identity.devices = this.identity.devices.filter((d) => d.id !== id);
    replaceLink(this.identity);
    await this.file.save(this.identity);
    return device;
  }

  /** A device connected: when, and from where as the relay reported it. */
  async seen(id: string, address: string | undefined): Promise<void> {
    const device = this.identity.devices.find((d) => d.id === id);
    if (!device) return;
    device.lastSeen = Date.now();
    device.lastAddress = address;
    await this.file.save(this.identity);
  }
}
