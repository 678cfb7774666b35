// createAgent: serves this computer's sessions through a relay. It starts with one session (the command
// after `--`, default `claude`), and clients with a full link start more; it keeps running while any runs
// (and with `stay`, also when none does). It keeps its identity (and so its access link) in the config
// directory, registers when the relay does not know it, reconnects by itself, and reports what happens as
// events. The CLI prints those; tests read them. The running agent's parts are in running-agent.ts.

import { realpathSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { basename, isAbsolute, normalize, resolve, sep } from 'node:path';
import { MAX_NAME_LENGTH, MAX_TRANSFER_BYTES, pinProblem, trimSlash, isRelayUrl } from '../protocol/index.js';
import type { AgentEvent, AgentOptions } from './agent-options.js';
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
export type { AgentEvent, AgentOptions } from './agent-options.js';
export { EARLY_EXIT_MS } from './terminal-session.js';

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
