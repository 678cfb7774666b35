// createAgent: serves this computer's sessions through a relay. It starts with one session (the command
// after `--`, default `claude`), and clients with a full link start more; it keeps running while any runs
// (and with `stay`, also when none does). It keeps its identity (and so its access link) in the config
// directory, registers when the relay does not know it, reconnects by itself, and reports what happens as
// events. The CLI prints those; tests read them. The running agent's parts are in running-agent.ts.

import { realpathSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { basename, isAbsolute, normalize, resolve, sep } from 'node:path';
import { MAX_NAME_LENGTH, MAX_TRANSFER_BYTES, pinProblem, trimSlash, isRelayUrl, type AnswerOutcome, type Refused } from '../protocol/index.js';
import type { ClientTableOptions } from './client-table.js';
import { IdentityFile, defaultConfigDir, replaceLink, type Identity } from './identity.js';
import { LockFile } from './lock-file.js';
import { useNativeCrypto } from '../net/native-crypto.js';
import { resolveCommand } from './pty-process.js';
import { DEFAULT_MAX_SESSIONS, RunningAgent } from './running-agent.js';
import { Roots } from './starts/folders.js';
import { RecentFolders } from './starts/recent-folders.js';
import type { RecordingSettings } from './session-recorder.js';
import { DEFAULT_RECORD_DAYS, DEFAULT_RECORD_MAX_BYTES, recordingsDir } from '../recording/recording-store.js';

export { DEFAULT_MAX_SESSIONS } from './running-agent.js';
export { EARLY_EXIT_MS } from './terminal-session.js';

/** Settings of an agent. */
export interface AgentOptions {
  /** The relay's base URL, for example `https://relay.example.com`. */
  relayUrl: string;
  /** Other relays of the same group (`--relay` given more than once), tried in order when one cannot be reached. */
  fallbackRelays?: string[];
  /** The first session's command (default `claude`). */
  command?: string;
  args?: string[];
  /** Working directory of the first session, and of sessions started without a folder (default: the current one). */
  cwd?: string;
  /** Keep running when no session does (clients start new ones); without it the agent ends with its last session. */
  stay?: boolean;
  /** Folders under which clients may start sessions (default: the home folder); the agent's own folder is always one. */
  roots?: string[];
  /** Sessions at once (running, or ended and not dismissed); a start beyond them is refused (default 16). */
  maxSessions?: number;
  /** How Claude Code is run for sessions started from a client (default `claude`, found on the PATH). */
  claudeCommand?: string;
  /** Name shown in browsers (default: folder@host). */
  name?: string;
  /** Where the identity is kept (default: the user's config directory). */
  configDir?: string;
  /** Start the first session's command again when it exits, instead of ending it. */
  restart?: boolean;
  /** Bytes of output kept for browsers that reconnect (default 4 MiB). */
  bufferSize?: number;
  /** Lines of scrollback in the screen snapshots browsers get when a replay is impossible (default 1000). */
  scrollback?: number;
  /** Environment of the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Replace the link's secret with a new one: every link given out before stops working. */
  rotate?: boolean;
  /**
   * A PIN that a device must give, besides the link, to pair (at least 6 characters). It is never stored
   * or sent anywhere: the device and the agent run a PAKE with it (protocol/cpace.ts), so it can only be
   * guessed online, one guess per exchange, and the agent limits those.
   */
  pin?: string;
  /** An access link that has paired no device expires this long after it was made (default: never). */
  linkTtlMs?: number;
  /** Token for relays that restrict registration. */
  registrationToken?: string;
  /**
   * Base URL of the printed links (the local mode's LAN address); default: `relayUrl`. Links are never
   * built from what the relay says, so a relay cannot send the QR code's reader elsewhere.
   */
  linkBase?: string;
  /**
   * When the command is Claude Code, register hooks for its Notification, Stop and PermissionRequest events
   * (through `--settings`) so that browsers learn when it waits for the person or finished its turn, and
   * can answer its permission requests (default true). Left out when the arguments already have a `--settings`.
   */
  attentionHooks?: boolean;
  /** A permission request nobody answered within this long is announced once more, in ms (default 5 minutes; 0: never). */
  remindAfterMs?: number;
  /** Terminal size before any browser reports one (default 80×24). */
  cols?: number;
  rows?: number;
  /**
   * Every session is recorded as an asciicast v2 file (default: on, in `<configDir>/recordings`, kept 7 days
   * and 1 GiB in all, without what clients type); `false`: none is.
   */
  recording?: false | { dir?: string; days?: number; maxBytes?: number; input?: boolean };
  /** Files sent from a client, and taken by one, at most this large (default 25 MiB). */
  maxUpload?: number;
  /** Where files sent from a client go: relative, inside each session's folder (default `.ccremote/uploads`); absolute, that folder. */
  uploadDir?: string;
  /** The screen mirror's worker script (default: the one shipped beside the agent); for embedders that move it. */
  mirrorWorker?: string;
  /** Receives what happens. */
  onEvent?: (event: AgentEvent) => void;
  /** Reconnect delays (tests shorten them). */
  backoff?: { baseMs?: number; capMs?: number };
  /** Replays and snapshots each client session and each credential gets (default SYNC_BUDGET; tests shorten it). */
  syncBudget?: ClientTableOptions['syncBudget'];
}

/** What an agent reports. */
export type AgentEvent =
  | { event: 'ready'; agentId: string; url: string; viewUrl: string }
  | { event: 'registered'; agentId: string }
  | { event: 'relay_connected' }
  | { event: 'relay_disconnected'; code: number; reason: string; retryInMs: number | undefined }
  | { event: 'clients'; count: number }
  /** A client started a session. */
  | { event: 'session_started'; terminal: number; name: string; cwd: string; command: string; address: string | undefined }
  | { event: 'input_rejected'; client: number; reason: string }
  /** A browser's channel opened: with the link, or as a paired device; from where the relay says. */
  | { event: 'connected'; access: 'full' | 'view'; device: { id: string; name: string } | undefined; address: string | undefined }
  /** A handshake was refused (a wrong PIN, an unknown device, an expired link). */
  | { event: 'refused'; reason: Refused['reason']; message: string; address: string | undefined }
  /** A device paired: it connects with its own key from now on. */
  | { event: 'paired'; id: string; name: string; access: 'full' | 'view'; address: string | undefined }
  /** A device was revoked; the link was replaced (the new one is in `link_replaced`). */
  | { event: 'revoked'; id: string; name: string }
  /** The access links changed: every link given out before stops working (paired devices keep working). */
  | { event: 'link_replaced'; url: string; viewUrl: string }
  /**
   * A session's program ended after running `ranMs`. When that was soon after it started, or it failed,
   * `lastLines` holds its last lines of output as text (what it said about why, in its own words).
   */
  | { event: 'exit'; terminal: number; name: string; exitCode: number; signal: number | undefined; restarting: boolean; ranMs: number; lastLines?: string[] }
  /** Something does not work, and the agent goes on without it (the screen mirror, the attention hooks). */
  | { event: 'permission'; terminal: number; tool: string; detail: string; state: 'waiting' | 'reminded' | AnswerOutcome; message?: string }
  | { event: 'warning'; message: string }
  /** A file sent from a client was put at `path`, or one under the session's folder was taken by a client. */
  | { event: 'file_received' | 'file_sent'; terminal: number; path: string; size: number }
  /** The agent cannot go on: it stops. */
  | { event: 'error'; message: string };

/** A running agent. */
export interface Agent {
  /** The access link (set once registered). */
  readonly url: string | undefined;
  /** The read-only link (set once registered). */
  readonly viewUrl: string | undefined;
  readonly agentId: string | undefined;
  /** Resolves with the exit code the agent process should end with. */
  readonly done: Promise<number>;
  /** Stops the command and the connection. */
  close(): Promise<void>;
}

/** An error that stops the agent before it starts, with a message meant for the user. */
export class AgentStartError extends Error {
  override name = 'AgentStartError';
}

/** Starts an agent: checks its settings, takes its identity, starts the first session, then registers if needed and connects. */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  useNativeCrypto();
  const emit = (event: AgentEvent): void => options.onEvent?.(event);
  const relayUrl = trimSlash(options.relayUrl);
  if (!isRelayUrl(relayUrl)) throw new AgentStartError(`relay URL must start with http:// or https://: ${options.relayUrl}`);
  for (const other of options.fallbackRelays ?? []) {
    if (!isRelayUrl(trimSlash(other))) throw new AgentStartError(`relay URL must start with http:// or https://: ${other}`);
  }
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = withoutAgentSecrets(options.env ?? process.env);
  const command = options.command ?? 'claude';
  const executable = resolveCommand(command, cwd, env.PATH);
  if (!executable) {
    const hint = command === 'claude' ? ' Install Claude Code (npm install -g @anthropic-ai/claude-code) or name another command after "--".' : '';
    throw new AgentStartError(`command not found: ${command}.${hint}`);
  }
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  if (!Number.isInteger(maxSessions) || maxSessions < 1 || maxSessions > 256) throw new AgentStartError(`--max-sessions must be a whole number from 1 to 256: ${maxSessions}`);
  let roots: Roots;
  try {
    // The agent's own folder is always allowed: the person started it there.
    roots = new Roots([...(options.roots && options.roots.length > 0 ? options.roots : [env.HOME ?? homedir()]), cwd]);
  } catch (error) {
    throw new AgentStartError(`a --root folder cannot be used: ${(error as Error).message}`);
  }
  const name = (options.name ?? `${basename(cwd)}@${hostname()}`).slice(0, MAX_NAME_LENGTH);
  const configDir = options.configDir ?? defaultConfigDir(env);
  const identityFile = new IdentityFile(configDir, relayUrl, cwd);
  const recording = recordingSettings(options.recording, configDir);
  if (options.maxUpload !== undefined && !(Number.isInteger(options.maxUpload) && options.maxUpload >= 1 && options.maxUpload <= MAX_TRANSFER_BYTES)) {
    throw new AgentStartError(`--max-upload must be from 1 byte to 1G: ${options.maxUpload}`);
  }
  if (options.uploadDir !== undefined && !isAbsolute(options.uploadDir) && normalize(options.uploadDir).split(sep)[0] === '..') {
    throw new AgentStartError(`--upload-dir must stay inside the session's folder (or be an absolute path): ${options.uploadDir}`);
  }
  const problem = options.pin === undefined ? undefined : pinProblem(options.pin);
  if (problem) throw new AgentStartError(problem);
  const lock = new LockFile(`${identityFile.path}.lock`);
  try {
    lock.acquire();
  } catch (error) {
    throw new AgentStartError((error as Error).message);
  }
  let identity: Identity;
  try {
    identity = await identityFile.load(relayUrl, cwd);
    if (options.rotate) {
      replaceLink(identity);
      // A registered agent keeps its id and key; only the links change. (Otherwise it is saved at registration.)
      if (identity.agentId) await identityFile.save(identity);
    }
  } catch (error) {
    lock.release();
    throw error;
  }
  const recent = new RecentFolders(configDir, (message) => emit({ event: 'warning', message }));
  await recent.load();
  const attentionHooks = options.attentionHooks !== false;
  const args = options.args ?? [];
  const claude = isClaudeCode(command, executable);
  const agent = new RunningAgent({
    options,
    relayUrl,
    name,
    identity,
    identityFile,
    lock,
    first: {
      kind: claude ? 'claude' : 'command',
      executable,
      command,
      args,
      cwd,
      env,
      name: claude ? basename(cwd) || cwd : `${basename(cwd) || cwd} · ${basename(command)}`,
      // Claude Code tells the agent through its hooks when it waits for the person (unless given its own settings).
      attentionHooks: attentionHooks && claude && !args.some((a) => a === '--settings' || a.startsWith('--settings=')),
      restart: options.restart === true,
    },
    settings: {
      cols: options.cols ?? 80,
      rows: options.rows ?? 24,
      scrollback: options.scrollback ?? 1000,
      bufferSize: options.bufferSize,
      mirrorWorker: options.mirrorWorker,
      recording,
    },
    start: { roots, defaultCwd: cwd, env, claudeCommand: options.claudeCommand ?? 'claude', attentionHooks },
    recent,
    roots,
    emit,
  });
  await agent.start();
  return {
    get url() {
      return agent.agentId ? agent.accessUrl() : undefined;
    },
    get viewUrl() {
      return agent.agentId ? agent.accessUrl(true) : undefined;
    },
    get agentId() {
      return agent.agentId;
    },
    done: agent.done,
    async close() {
      await agent.stop(0);
      await agent.done;
    },
  };
}

/** Environment variables that carry the agent's own secrets: the command it runs never sees them. */
const AGENT_SECRETS = ['CCREMOTE_PIN', 'CCREMOTE_REGISTRATION_TOKEN'];

/** `env` without AGENT_SECRETS. */
function withoutAgentSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  for (const name of AGENT_SECRETS) delete clean[name];
  return clean;
}

/** Whether the command is Claude Code: `claude` (or `claude.exe`), named so or reached through a link of another name. */
function isClaudeCode(command: string, executable: string): boolean {
  let real = executable;
  try {
    real = realpathSync(executable);
  } catch {
    // Keep the path as found.
  }
  return [command, executable, real].some((path) => /^claude(\.exe)?$/i.test(basename(path)));
}

/** How sessions are recorded, from the options; throws AgentStartError on settings that cannot be used. */
function recordingSettings(options: AgentOptions['recording'], configDir: string): RecordingSettings | undefined {
  if (options === false) return undefined;
  const days = options?.days ?? DEFAULT_RECORD_DAYS;
  if (!(days > 0 && days <= 36_500)) throw new AgentStartError(`--record-days must be a number of days above 0: ${days}`);
  const maxBytes = options?.maxBytes ?? DEFAULT_RECORD_MAX_BYTES;
  if (!(Number.isInteger(maxBytes) && maxBytes >= 4 << 20)) throw new AgentStartError(`--record-max must be at least 4M: ${maxBytes} bytes`);
  return { dir: resolve(options?.dir ?? recordingsDir(configDir)), days, maxBytes, input: options?.input === true };
}
