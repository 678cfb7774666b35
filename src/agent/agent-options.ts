// What an agent is given (AgentOptions) and what it reports (AgentEvent): the agent's parts and the CLI
// share these, apart from createAgent (agent.ts) that takes and emits them.

import type { AnswerOutcome, Refused } from '../protocol/index.js';
import type { ClientTableOptions } from './client-table.js';

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
