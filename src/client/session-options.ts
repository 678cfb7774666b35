// What a client session is given and what it reports (session.ts): its settings, the callbacks it reports to,
// where it stands, and the shapes of what it is asked for (a new session, a folder listing). Re-exported by
// session.ts, which its users import.

import type {
  AnswerOutcome,
  AttentionEvent,
  BackoffOptions,
  Credential,
  DeviceInfo,
  HistoryMode,
  Refused,
  SessionInfo,
  SessionKind,
  SnapshotKind,
  WelcomePayload,
} from '../protocol/index.js';
import type { KeyAgreement } from './channel-client.js';
import type { StreamEvents } from './stream-follower.js';
import type { Connect } from './transport.js';

/** Where the session stands, as shown to the person using it. */
export type SessionState =
  | { kind: 'connecting' }
  | { kind: 'online'; name: string | undefined }
  | { kind: 'agent_offline'; name: string | undefined }
  | { kind: 'waiting'; retryInMs: number; code: number; reason: string }
  /** Given up: the relay refused the credential (`code`), or the agent refused the handshake (`refused`). */
  | { kind: 'failed'; code: number; reason: string; refused?: Refused['reason'] }
  | { kind: 'closed' };

/** A paired device's credential, as the session reports it once the agent accepted it (keep it; forget the link). */
export interface PairedCredential {
  id: string;
  secret: string;
  name: string;
  access: 'full' | 'view';
}

/** Callbacks a session reports to; all optional (the output stream's others are StreamEvents). */
export interface SessionEvents extends Omit<StreamEvents, 'output' | 'snapshot'> {
  /**
   * Terminal bytes of the session watched, in stream order, each byte exactly once; `end` is the stream
   * position after them. With `manualAck`, call `processed` once they are (drawn, written out).
   */
  output?(data: Uint8Array, end: number, processed: () => void): void;
  /** Replace the screen with `data`, as StreamEvents says; `processed` as for `output`. */
  snapshot?(data: Uint8Array, offset: number, kind: SnapshotKind, processed: () => void): void;
  state?(state: SessionState): void;
  error?(code: string, message: string): void;
  /** Round-trip time to the relay, in ms, measured by ping/pong. */
  latency?(ms: number): void;
  /** A session's program wants the person: it waits for them (`notification`, `message` says why) or finished its turn (`stop`). */
  attention?(event: AttentionEvent): void;
  /** The device is paired: from now on the session connects with this credential (store it, forget the link). */
  paired?(credential: PairedCredential): void;
  /** The channel opened: what this connection may do, and the device it authenticated as. */
  opened?(welcome: WelcomePayload): void;
  /** The agent's sessions (after the channel opens, and whenever they change); `max`: how many it allows at once. */
  sessions?(sessions: SessionInfo[], max: number): void;
  /** The session watched now (null: none); its output follows (after a snapshot, for a screen). */
  watching?(terminal: number | null): void;
  /**
   * Whether this device gets push alerts now, the sessions it muted, and why its last alert did not reach
   * it if it did not (once the channel opens, and after each change).
   */
  pushState?(subscribed: boolean, muted: number[], problem: string | undefined): void;
  /** A permission request is no longer waiting: answered (here or elsewhere), answered at the terminal, or gone with its session. */
  permissionSettled?(settled: { terminal: number; id: string; outcome: AnswerOutcome; message: string }): void;
  /** The key the watched session's output opens with now (the agent gave it sealed; for diagnostics and tests). */
  streamKey?(terminal: number, key: string): void;
  /** The paired devices, as asked for with `listDevices()`. */
  devices?(devices: DeviceInfo[]): void;
  /** A device was revoked, as asked for with `revokeDevice()`. */
  revoked?(id: string): void;
}

/** Which session to watch once the agent lists them: a given one, the most recently active one, or none until `watch()`. */
export type WatchChoice = number | 'latest' | 'none';

/** Settings of a ClientSession. */
export interface ClientSessionOptions {
  relayUrl: string;
  agentId: string;
  /** What the session proves it holds: a link's secret, or a paired device's key. */
  credential: Credential;
  /** The PIN, for a link that needs one (only pairing with a link asks for it). */
  pin?: string;
  /** Pair this device with the agent (a link only), under this name; see `paired`. */
  pair?: { name: string };
  /** How the handshake's ephemeral keys are made (the web page passes WebCrypto's where it has it). */
  keyAgreement?: KeyAgreement;
  connect: Connect;
  events?: SessionEvents;
  /**
   * What to watch when the agent first lists its sessions (default `latest`). A given session that is not
   * there falls back to the latest, with an error event. While nothing is watched and a list arrives, `latest`
   * (and a given session) picks again.
   */
  watch?: WatchChoice;
  /** How missing output is filled after a gap: `screen` (default) or `bytes`. */
  history?: HistoryMode;
  /** Input bytes kept while the agent is unreachable; more is refused (default 1 MiB). */
  maxQueuedInputBytes?: number;
  backoff?: BackoffOptions;
  /** Interval of pings to the relay (default 15 s). */
  pingIntervalMs?: number;
  /** Silence after which the connection is presumed dead and replaced (default 45 s). */
  idleTimeoutMs?: number;
  /**
   * How long a request waits for the agent's answer (default 30 s). An agent older than the page may say
   * nothing at all to a request it does not know (newer ones refuse it): the request fails instead of
   * waiting for ever.
   */
  answerTimeoutMs?: number;
  /**
   * Flow control: when true the owner calls the `processed` given with each output and snapshot once it
   * has processed them (the web terminal does so when xterm.js has parsed them), which paces the program to
   * this client; one of a session or stream given up since does nothing. Otherwise output counts as
   * processed when the `output` callback returns.
   */
  manualAck?: boolean;
}

/** What `startSession` asks for. */
export interface StartOptions {
  kind: SessionKind;
  cwd?: string;
  /** Claude Code: resume this conversation. */
  conversation?: string;
  /** A command given in full (kind `command`). */
  command?: string[];
  /** Start in a new git worktree on this new branch. */
  worktree?: string;
}

/** A folder listing from the agent. */
export interface FolderListing {
  path: string | null;
  parent: string | null;
  entries: Array<{ name: string; path: string; git: boolean }>;
}
