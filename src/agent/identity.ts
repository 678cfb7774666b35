// The agent's identity at one relay, kept in the config directory so that its access link (and QR code)
// stay the same across agent restarts: agent id and key from registration, the access secret, when that
// link was made and whether a device ever paired with it, and the paired devices. One identity per relay
// and working directory, so agents in two projects get two links.

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/write-atomic.js';
import { MAX_DEVICES, MAX_NAME_LENGTH, isId, isSecret, newSecret } from '../protocol/index.js';

/** A device paired with this agent: it connects with a key of its own instead of the link. */
export interface PairedDevice {
  id: string;
  name: string;
  access: 'full' | 'view';
  /** The pre-shared key of its channel handshakes (channelPsk of its key), base64url. */
  psk: string;
  /** The verifier of the token it presents to the relay, base64url. */
  verifier: string;
  pairedAt: number;
  lastSeen: number | undefined;
  /** Where it last connected from, as the relay reported it. */
  lastAddress: string | undefined;
  /** Its Web Push subscription, if it asked for alerts: the relay knows it by `subscription` and its endpoint only. */
  push?: DevicePush;
}

/** A paired device's push subscription. */
export interface DevicePush {
  subscription: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** What the agent remembers. */
export interface Identity {
  relayUrl: string;
  cwd: string;
  agentId: string | undefined;
  agentKey: string | undefined;
  secret: string;
  /** When the current links were made (ms since the epoch), and whether a device has paired with each since. */
  linkCreatedAt: number;
  linkUsed: { full: boolean; view: boolean };
  devices: PairedDevice[];
}

/** The default config directory: $XDG_CONFIG_HOME/ccremote, ~/.config/ccremote, or %APPDATA%\ccremote. */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'ccremote');
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'ccremote');
  return join(homedir(), '.config', 'ccremote');
}

/** Reads and writes one identity file. */
export class IdentityFile {
  readonly path: string;
  /** Saves run one after another: each writes the identity as it is when its turn comes. */
  private saving: Promise<void> = Promise.resolve();

  constructor(configDir: string, relayUrl: string, cwd: string) {
    const digest = createHash('sha256').update(`${relayUrl}\n${cwd}`).digest('hex').slice(0, 16);
    this.path = join(configDir, 'agents', `${digest}.json`);
  }

  /** The identity files in a config directory, with what each holds (registered ones only), for `ccremote devices`. */
  static async all(configDir: string): Promise<Array<{ file: IdentityFile; identity: Identity }>> {
    const dir = join(configDir, 'agents');
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => /^[0-9a-f]{16}\.json$/.test(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const found: Array<{ file: IdentityFile; identity: Identity }> = [];
    for (const name of names) {
      let stored: Partial<Identity>;
      try {
        stored = JSON.parse(await readFile(join(dir, name), 'utf8')) as Partial<Identity>;
      } catch {
        continue;
      }
      if (typeof stored.relayUrl !== 'string' || typeof stored.cwd !== 'string') continue;
      const file = new IdentityFile(configDir, stored.relayUrl, stored.cwd);
      if (file.path !== join(dir, name)) continue;
      const identity = await file.load(stored.relayUrl, stored.cwd);
      if (identity.agentId) found.push({ file, identity });
    }
    return found;
  }

  /** The stored identity, or a new one (with a fresh secret and no registration yet). */
  async load(relayUrl: string, cwd: string): Promise<Identity> {
    let stored: Partial<Identity> = {};
    try {
      stored = JSON.parse(await readFile(this.path, 'utf8')) as Partial<Identity>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
    }
    // A key of another form (one saved by an older version from a relay's bad answer) would break every
    // connection: the agent registers again instead.
    const registered = typeof stored.agentId === 'string' && isId(stored.agentId) && typeof stored.agentKey === 'string' && isSecret(stored.agentKey);
    return {
      relayUrl,
      cwd,
      agentId: registered ? stored.agentId : undefined,
      agentKey: registered ? stored.agentKey : undefined,
      secret: typeof stored.secret === 'string' && isSecret(stored.secret) ? stored.secret : newSecret(),
      linkCreatedAt: typeof stored.linkCreatedAt === 'number' ? stored.linkCreatedAt : Date.now(),
      linkUsed: usedLinks(stored.linkUsed),
      devices: Array.isArray(stored.devices) ? stored.devices.filter(isPairedDevice).slice(0, MAX_DEVICES) : [],
    };
  }

  /** Writes the identity atomically, readable by the owner only; saves never overlap (the last one wins). */
  save(identity: Identity): Promise<void> {
    const write = async (): Promise<void> => {
      await mkdir(join(this.path, '..'), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.path, JSON.stringify(identity, null, 2));
    };
    const done = this.saving.then(write, write);
    this.saving = done.catch(() => undefined);
    return done;
  }
}

/** Whether a stored value is a well-formed paired device (a damaged entry is left out rather than trusted). */
function isPairedDevice(value: unknown): value is PairedDevice {
  const d = value as Partial<PairedDevice>;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.id === 'string' &&
    isId(d.id) &&
    typeof d.name === 'string' &&
    d.name.length > 0 &&
    d.name.length <= MAX_NAME_LENGTH &&
    (d.access === 'full' || d.access === 'view') &&
    typeof d.psk === 'string' &&
    isSecret(d.psk) &&
    typeof d.verifier === 'string' &&
    isSecret(d.verifier) &&
    typeof d.pairedAt === 'number'
  );
}

/** A new link for an identity: every link printed before stops working; paired devices are unaffected. */
export function replaceLink(identity: Identity): void {
  identity.secret = newSecret();
  identity.linkCreatedAt = Date.now();
  identity.linkUsed = { full: false, view: false };
}

/** Which links have paired a device, as stored (a single flag by earlier versions: both). */
function usedLinks(value: unknown): { full: boolean; view: boolean } {
  if (value === true) return { full: true, view: true };
  const v = value as { full?: unknown; view?: unknown } | null;
  return { full: v?.full === true, view: v?.view === true };
}
