// The agent's identity at one relay, kept in the config directory so that its access link (and QR code)
// stay the same across agent restarts: agent id and key from registration, and the access secret.
// One identity per relay and working directory, so agents in two projects get two links.

import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/write-atomic.js';
import { isId, isSecret, newSecret } from '../protocol/index.js';

/** What the agent remembers. */
export interface Identity {
  relayUrl: string;
  cwd: string;
  agentId: string | undefined;
  agentKey: string | undefined;
  secret: string;
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

  constructor(configDir: string, relayUrl: string, cwd: string) {
    const digest = createHash('sha256').update(`${relayUrl}\n${cwd}`).digest('hex').slice(0, 16);
    this.path = join(configDir, 'agents', `${digest}.json`);
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
    };
  }

  /** Writes the identity atomically, readable by the owner only. */
  async save(identity: Identity): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, JSON.stringify(identity, null, 2));
  }
}
