// Who may reach this agent: the access link (and its read-only twin) and the paired devices, kept in the
// identity file. Pairing adds a device; revoking one removes it and replaces the link, so that a revoked
// device that kept a copy of the link cannot pair again, while every other paired device keeps its own key.
// The relay is told the verifiers of all of them (`hello`, `credentials`), never a secret.

import { accessToken, linkViewSecret, tokenVerifier, type AgentToRelay } from '../protocol/index.js';
import { replaceLink, type DevicePush, type Identity, type IdentityFile, type PairedDevice } from './identity.js';

type RelayCredentials = Omit<Extract<AgentToRelay, { type: 'credentials' }>, 'type'>;

/** A device's "last seen" is written to the file at most this often, in ms (the running agent shows the latest). */
const SEEN_WRITE_MS = 60_000;

/** The credentials of one agent identity. */
export class AgentCredentials {
  /** When each device's "last seen" was last written. */
  private readonly written = new Map<string, number>();

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

  /** Whether the full (or read-only) link may still be used: it has paired a device, or is younger than the TTL. */
  linkUsable(access: 'full' | 'view', now = Date.now()): boolean {
    return this.linkTtlMs === undefined || this.identity.linkUsed[access] || now - this.identity.linkCreatedAt < this.linkTtlMs;
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

  /** Adds a paired device; the link it paired with counts as used from now on. Nothing changes if it cannot be saved. */
  async pair(device: PairedDevice): Promise<void> {
    await this.change((identity) => {
      identity.devices = [...identity.devices.filter((d) => d.id !== device.id), device];
      identity.linkUsed = { ...identity.linkUsed, [device.access]: true };
    });
  }

  /**
   * Removes a paired device and replaces the link; the device removed, or undefined if there was none.
   * Nothing changes if it cannot be saved (the error says why).
   */
  /** A device's push subscription (undefined: none). */
  async setPush(id: string, push: DevicePush | undefined): Promise<void> {
    await this.change((identity) => {
      identity.devices = identity.devices.map((d) => (d.id === id ? { ...d, push } : d));
    });
  }

  async revoke(id: string): Promise<PairedDevice | undefined> {
    const device = this.identity.devices.find((d) => d.id === id);
    if (!device) return undefined;
    await this.change((identity) => {
      identity.devices = identity.devices.filter((d) => d.id !== id);
      replaceLink(identity);
    });
    return device;
  }

  /**
   * Changes the identity with `edit` and saves it; if it cannot be saved, the change is undone (and the
   * error says why). Saves write the identity as it is when they run, so none writes over a newer one.
   */
  private async change(edit: (identity: Identity) => void): Promise<void> {
    const { devices, secret, linkCreatedAt, linkUsed } = this.identity;
    edit(this.identity);
    try {
      await this.file.save(this.identity);
    } catch (error) {
      Object.assign(this.identity, { devices, secret, linkCreatedAt, linkUsed });
      throw error;
    }
  }


  /**
   * A device connected: when, and from where as the relay reported it. Kept at once; written to the file
   * at most once a minute per device (a relay replaying connections gets no write per replay).
   */
  async seen(id: string, address: string | undefined, now = Date.now()): Promise<void> {
    const device = this.identity.devices.find((d) => d.id === id);
    if (!device) return;
    device.lastSeen = now;
    device.lastAddress = address;
    const written = this.written.get(id);
    if (written !== undefined && now - written < SEEN_WRITE_MS) return;
    this.written.set(id, now);
    await this.file.save(this.identity);
  }
}
