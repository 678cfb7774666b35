// createAgent: runs a command in a PTY on this computer and serves it through a relay. It keeps its
// identity (and so its access link) in the config directory, registers when the relay does not know it,
// reconnects by itself, and reports what happens as events. The CLI prints those; tests read them.

import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, resolve } from 'node:path';
import {
  Backoff,
  FrameType,
  MAX_NAME_LENGTH,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrame,
  formatAccessLink,
  pinProblem,
  printable,
  trimSlash,
  isRelayUrl,
  viewSecret,
  type AttentionEvent,
  type FromClientFrame,
  type Refused,
  type RelayToAgent,
} from '../protocol/index.js';
import { AttentionChannel } from './attention-channel.js';
import { ChannelHost } from './channel-host.js';
import { ControlSocket, controlPath } from './control-socket.js';
import { Devices } from './devices.js';
import { AgentCredentials } from './credentials.js';
import { IdentityFile, defaultConfigDir, replaceLink, type Identity } from './identity.js';
import { LockFile } from './lock-file.js';
import { useNativeCrypto } from '../net/native-crypto.js';
import { plainLines } from './plain-lines.js';
import { PtyProcess, resolveCommand, type PtyExit } from './pty-process.js';
import { RegistrationFailed, register } from './registration.js';
import { RelayLink } from './relay-link.js';
import { ScreenMirror } from './screen-mirror.js';
import { ClientTable, type ClientTableOptions } from './client-table.js';
import { TerminalStream } from './terminal-stream.js';

/** Settings of an agent. */
export interface AgentOptions {
  /** The relay's base URL, for example `https://relay.example.com`. */
  relayUrl: string;
  /** Command to run (default `claude`). */
  command?: string;
  args?: string[];
  /** Working directory of the command (default: the current one). */
  cwd?: string;
  /** Name shown in browsers (default: folder@host). */
  name?: string;
  /** Where the identity is kept (default: the user's config directory). */
  configDir?: string;
  /** Start the command again when it exits, instead of stopping. */
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
   * When the command is Claude Code, register hooks for its Notification and Stop events (through
   * `--settings`) so that browsers learn when it waits for the person or finished its turn (default
   * true). Left out when the arguments already have a `--settings`.
   */
  attentionHooks?: boolean;
  /** Terminal size before any browser reports one (default 80×24). */
  cols?: number;
  rows?: number;
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
   * The command ended after running `ranMs`. When that was soon after it started, or it failed, `lastLines`
   * holds its last lines of output as text (what it said about why, in its own words).
   */
  | { event: 'exit'; exitCode: number; signal: number | undefined; restarting: boolean; ranMs: number; lastLines?: string[] }
  /** Something does not work, and the agent goes on without it (the screen mirror, the attention hooks). */
  | { event: 'warning'; message: string }
  /** The agent cannot go on: it stops. */
  | { event: 'error'; message: string };

/** A command that ends sooner than this after starting most likely could not start: its last lines are shown, in ms. */
export const EARLY_EXIT_MS = 5000;

/** Lines of a command's last output shown when it ends early or fails. */
const LAST_LINES = 15;

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

/** Starts an agent: spawns the command, registers if needed, connects. Resolves once the command runs. */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  useNativeCrypto();
  const emit = (event: AgentEvent): void => options.onEvent?.(event);
  const relayUrl = trimSlash(options.relayUrl);
  if (!isRelayUrl(relayUrl)) throw new AgentStartError(`relay URL must start with http:// or https://: ${options.relayUrl}`);
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = withoutAgentSecrets(options.env ?? process.env);
  const command = options.command ?? 'claude';
  const executable = resolveCommand(command, cwd, env.PATH);
  if (!executable) {
    const hint = command === 'claude' ? ' Install Claude Code (npm install -g @anthropic-ai/claude-code) or name another command after "--".' : '';
    throw new AgentStartError(`command not found: ${command}.${hint}`);
  }
  const name = (options.name ?? `${basename(cwd)}@${hostname()}`).slice(0, MAX_NAME_LENGTH);
  const identityFile = new IdentityFile(options.configDir ?? defaultConfigDir(env), relayUrl, cwd);
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

  // Claude Code tells the agent through its hooks when it waits for the person; the agent tells browsers.
  let attention: AttentionChannel | undefined;
  const args = options.args ?? [];
  if (options.attentionHooks !== false && isClaudeCode(command, executable) && !args.some((a) => a === '--settings' || a.startsWith('--settings='))) {
    try {
      attention = await AttentionChannel.open(sendAttention);
    } catch (error) {
      emit({ event: 'warning', message: `attention hooks are off: ${(error as Error).message}` });
    }
  }
  const commandArgs = attention ? ['--settings', attention.settingsJson(), ...args] : args;

  // `ccremote devices` on this computer lists and revokes devices through a local socket.
  let control: ControlSocket | undefined;
  try {
    control = await ControlSocket.open(controlPath(identityFile.path), { handle: (request) => devices.control(request) });
  } catch (error) {
    emit({ event: 'warning', message: `"ccremote devices" cannot reach this agent while it runs: ${(error as Error).message}` });
  }

  let pty: PtyProcess | undefined;
  let outputPaused = false;
  let closing = false;
  let announced = false;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolveDone) => (finish = resolveDone));
  const registrationAbort = new AbortController();

  const link: RelayLink = new RelayLink({
    relayUrl,
    credentials: () => ({ agentId: identity.agentId!, agentKey: identity.agentKey! }),
    hello: () => ({ type: 'hello', v: PROTOCOL_VERSION, name, stream: host.stream, end: host.end, ...credentials.forRelay(identity.agentId!) }),
    onOnline: () => {
      channels.reset();
      clients.clear();
      host.online();
      emit({ event: 'relay_connected' });
      if (!announced) {
        announced = true;
        emit({ event: 'ready', agentId: identity.agentId!, url: accessUrl(), viewUrl: accessUrl(true) });
      }
    },
    onMessage: relayMessage,
    onFrame: clientFrame,
    onDown: (down) => {
      host.offline();
      emit({ event: 'relay_disconnected', ...down });
    },
    onUnauthorized: async () => {
      identity.agentId = undefined;
      identity.agentKey = undefined;
      await ensureRegistered();
    },
    onFatal: (code, reason) => {
      emit({ event: 'error', message: `the relay closed the connection for good (${code}: ${reason})` });
      void shutdown(1);
    },
    backoff: options.backoff,
  });

  const screen = new ScreenMirror(
    { cols: options.cols ?? 80, rows: options.rows ?? 24, scrollback: options.scrollback ?? 1000 },
    { progress: () => host.screenProgress(), failed: mirrorFailed },
    options.mirrorWorker,
  );
  const clients = new ClientTable(link, (client, record) => host.input(client, record), {
    onClients: (count) => emit({ event: 'clients', count }),
    onBadInput: rejectInput,
    syncBudget: options.syncBudget,
  });
  const host = new TerminalStream(
    link,
    {
      write: (data) => pty?.write(data),
      resize: ({ cols, rows }) => pty?.resize(cols, rows),
      pauseOutput: (paused) => {
        outputPaused = paused;
        pty?.pauseOutput(paused);
      },
    },
    clients,
    {
      bufferSize: options.bufferSize,
      screen,
      onSnapshotFailed: (message) => emit({ event: 'warning', message: `a screen snapshot failed (${message}); the client got the output held instead` }),
    },
  );
  const credentials = new AgentCredentials(identity, identityFile, options.linkTtlMs);
  const channels: ChannelHost = new ChannelHost(
    link,
    {
      agentId: () => identity.agentId!,
      linkSecret: () => credentials.linkSecret,
      linkUsable: (access) => credentials.linkUsable(access),
      devices: () => credentials.devices,
      pin: options.pin,
      // Every channel opened gets a stream key of its own time: one that leaks later opens no output before it.
      welcome: () => {
        newStreamKey();
        return { ...host.welcome(), name };
      },
    },
    {
      opened: (client, channel) => {
        clients.opened(client, channel);
        host.opened(client, channel);
        devices.connected(channel);
      },
      refused: (_client, refused, address) => emit({ event: 'refused', reason: refused.reason, message: refused.message, address }),
      pair: (device, client) => devices.pair(device, client),
      revoke: async (id) => (await devices.revoke(id)) !== undefined,
      bad: rejectInput,
    },
  );

  const devices: Devices = new Devices({
    credentials,
    channels,
    agentId: () => identity.agentId,
    toRelay: (message) => link.sendMessage(message),
    clientLeft: (client) => forgetClient(client),
    rekey: newStreamKey,
    links: () => ({ url: accessUrl(), viewUrl: accessUrl(true) }),
    emit,
  });

  /** A control message from the relay: clients come and go (their channels with them), syncs, flow. */
  function relayMessage(message: RelayToAgent): void {
    switch (message.type) {
      case 'client_joined':
        // A number announced again starts over: whatever it had (an open channel, its keys) is gone everywhere.
        forgetClient(message.client);
        channels.joined(message.client, message.address);
        return;
      case 'client_left':
        return forgetClient(message.client);
      case 'sync':
        // Only for a client the relay announced (and the agent took: their number is bounded).
        if (channels.knows(message.client)) host.sync(message.client, message.sync, message.resume);
        return;
      case 'flow':
        return host.flow(message.limit);
      case 'error':
        // Something the agent sent was refused: the person hears of it (in the relay's words, as data).
        return emit({ event: 'warning', message: `the relay refused something this agent sent (${printable(message.code)}): ${printable(message.message)}` });
      case 'connected':
      case 'heartbeat_ack':
        return;
    }
  }

  /** A client is gone: its handshake or channel, and everything the terminal kept for it. */
  function forgetClient(client: number): void {
    channels.left(client);
    clients.left(client);
    host.forget(client);
  }

  /** A new stream key from now on, handed to every open channel. */
  function newStreamKey(): void {
    const { key, from } = host.rekey();
    for (const [client] of channels.open()) channels.send(client, { type: 'stream_key', key, from });
  }

  /** A frame from a client: input for the terminal, or its channel's handshake and messages. */
  function clientFrame(frame: FromClientFrame): void {
    const inner = decodeFrame(frame.inner);
    try {
      if (inner.type === FrameType.Handshake) return channels.handshake(frame.client, inner);
      if (inner.type === FrameType.Channel) return channels.channel(frame.client, inner);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return rejectInput(frame.client, error.message);
    }
    clients.frame(frame);
  }

  // Browsers hear about rejected input (at most once a second: a hostile relay could send a flood).
  let lastRejection = 0;
  function rejectInput(client: number, reason: string): void {
    emit({ event: 'input_rejected', client, reason });
    if (Date.now() - lastRejection < 1000) return;
    lastRejection = Date.now();
    link.sendMessage({ type: 'error', message: `The agent refused input from a browser: ${reason}.` });
  }

  /** The screen mirror stopped working: the person hears of it, and so do the browsers attached now (those that come later are told when they need the screen). */
  function mirrorFailed(reason: string): void {
    const consequence = 'a browser that reconnects after more output than the agent keeps cannot get the screen back';
    emit({ event: 'warning', message: `the screen mirror does not work (${reason}): ${consequence}` });
    link.sendMessage({ type: 'error', message: `The agent's screen mirror does not work (${reason}): ${consequence}.` });
    host.screenProgress(); // nothing waits for it any more
  }

  /** Seals an attention event for the browsers; with no relay, there is nobody to tell and it is dropped. */
  function sendAttention(event: AttentionEvent): void {
    if (closing || !link.isOnline) return;
    link.sendMessage({ type: 'attention', box: host.sealAttention(event) });
  }

  function accessUrl(readOnly = false): string {
    const base = options.linkBase ?? relayUrl;
    const agentId = identity.agentId!;
    const secret = readOnly ? viewSecret(identity.secret, agentId) : identity.secret;
    return formatAccessLink({ relayUrl: base, agentId, secret, readOnly, pin: options.pin !== undefined });
  }

  /** Registers (retrying while the relay is unreachable) unless the identity already has an id. */
  async function ensureRegistered(): Promise<void> {
    const backoff = new Backoff({ baseMs: 500, capMs: 30_000, ...options.backoff });
    while (!identity.agentId) {
      try {
        const registration = await register(relayUrl, name, options.registrationToken, registrationAbort.signal);
        identity.agentId = registration.agentId;
        identity.agentKey = registration.agentKey;
        announced = false;
        await identityFile.save(identity);
        emit({ event: 'registered', agentId: registration.agentId });
      } catch (error) {
        if (closing) throw error;
        if (!(error instanceof RegistrationFailed)) throw error;
        const retryInMs = error.retryAfterMs ?? backoff.next();
        emit({ event: 'relay_disconnected', code: 0, reason: error.message, retryInMs });
        await sleep(retryInMs, undefined, { signal: registrationAbort.signal });
      }
    }
  }

  function spawn(): void {
    // A restarted command starts at the size the browsers last set.
    const size = host.size ?? { cols: options.cols ?? 80, rows: options.rows ?? 24 };
    const child = new PtyProcess(
      { command: executable!, args: commandArgs, cwd, env, cols: size.cols, rows: size.rows },
      (data) => host.output(data),
    );
    pty = child;
    const startedAt = Date.now();
    if (outputPaused) child.pauseOutput(true);
    void child.exit.then((exit) => exited(child, exit, Date.now() - startedAt));
  }

  /** The command's last lines of output as text: from the screen mirror, or from the bytes held if it does not work. */
  async function lastLines(): Promise<string[]> {
    const fromMirror = await screen.lines(LAST_LINES);
    if (fromMirror) return fromMirror;
    const { bytes, cut } = host.tail(64 * 1024);
    return plainLines(bytes, LAST_LINES, cut);
  }

  async function exited(child: PtyProcess, exit: PtyExit, ranMs: number): Promise<void> {
    if (closing || pty !== child) return;
    const restarting = options.restart === true;
    // Before stopping, the command's last output (and then its exit status) must reach the relay.
    if (!restarting) await host.flush(10_000);
    if (closing) return;
    const failed = exit.signal !== undefined || exit.exitCode !== 0;
    const said = failed || ranMs < EARLY_EXIT_MS ? await lastLines() : undefined;
    if (closing) return;
    const how = exit.signal ? `was killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`;
    link.sendMessage({
      type: 'status',
      box: host.sealExit({
        message: `${basename(command)} ${how}${restarting ? '; restarting' : ''}`,
        ...(exit.signal ? { signal: exit.signal } : { exit_code: Math.min(255, Math.max(0, exit.exitCode)) }),
        restarting,
      }),
    });
    emit({ event: 'exit', exitCode: exit.exitCode, signal: exit.signal, restarting, ranMs, ...(said ? { lastLines: said } : {}) });
    if (restarting) {
      host.nextRun();
      setTimeout(() => !closing && spawn(), 1000).unref();
      return;
    }
    void shutdown(exit.signal ? 128 + exit.signal : exit.exitCode);
  }

  async function shutdown(code: number): Promise<void> {
    if (closing) return;
    closing = true;
    registrationAbort.abort();
    await pty?.stop();
    host.dispose();
    clients.dispose();
    await Promise.all([link.close(), screen.close(), attention?.close(), control?.close()]);
    lock.release();
    finish(code);
  }

  spawn();
  void (async () => {
    try {
      await ensureRegistered();
      if (!closing) link.start();
    } catch (error) {
      if (closing) return;
      emit({ event: 'error', message: (error as Error).message });
      await shutdown(1);
    }
  })();

  return {
    get url() {
      return identity.agentId ? accessUrl() : undefined;
    },
    get viewUrl() {
      return identity.agentId ? accessUrl(true) : undefined;
    },
    get agentId() {
      return identity.agentId;
    },
    done,
    async close() {
      await shutdown(0);
      await done;
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
