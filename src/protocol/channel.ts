// The channel between one client connection and the agent. Every time a client (the web page, `attach`)
// reaches the agent through the relay, the two run a handshake of their own (Noise NNpsk0, noise.ts) with a
// pre-shared key derived from the credential the client holds: the access link, the read-only link, or a
// device key the agent gave out at pairing. Fresh ephemeral keys on both sides make the connection's keys
// new every time: nothing recorded on one connection opens on another, or after the agent restarts, and
// what was recorded stays unreadable when a credential leaks later. A link that needs a PIN first runs
// CPace (cpace.ts) with the PIN, and its result goes into the pre-shared key.
//
// Handshake frames (HANDSHAKE, frames.ts) carry one step each:
//
//   PIN_SHARE  1  client → agent   sid (16) | Ya (32)                    only for a link that needs a PIN
//   PIN_REPLY  2  agent → client   Yb (32)
//   OPEN       3  client → agent   credential | Noise message 1         payload: OpenPayload (JSON)
//   WELCOME    4  agent → client   Noise message 2                      payload: WelcomePayload (JSON)
//   REFUSED    5  agent → client   JSON {reason, message}               the handshake cannot succeed
//
//   credential = 0x00 (access link) | 0x01 (read-only link) | 0x02 device-id (16)
//
// Once open, each direction has a key of its own: client → agent (INPUT, CHANNEL) and agent → client
// (SNAPSHOT, INPUT_ACK, CHANNEL). Everything about the agent's terminals (which there are, their names,
// folders and commands, starting and ending them, their exits and the moments they want the person) goes in
// CHANNEL messages. Live output of a terminal goes to every client watching it at once, sealed with that
// terminal's stream key, which the agent hands a client when it starts watching (a `stream` message) and
// again, replaced, in `stream_key` messages.

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { viewSecret } from './access.js';
import { ProtocolError, UnknownMessage } from './codes.js';
import { CPACE_SHARE_BYTES, lvCat } from './cpace.js';
import { ID_LENGTH, concatBytes, fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.js';
import { MAX_ATTENTION_MESSAGE, MAX_NAME_LENGTH, MAX_POSITION, MAX_TEXT_LENGTH } from './limits.js';
import { array, bool, int, nullable, object, oneOf, optional, str, valid, validateShape, type Infer, type Shape } from './schema.js';

const SALT = utf8('ccremote/v3');

/** What a client proves it holds. The secret never leaves the device; only what is derived from it does. */
export type Credential =
  /** An access link's secret (`readOnly`: the read-only link's view secret). */
  | { kind: 'link'; secret: string; readOnly: boolean }
  /** A paired device's own key. */
  | { kind: 'device'; id: string; secret: string; readOnly: boolean };

/** Which credential a handshake uses, as the agent learns it (the secret left out). */
export type CredentialRef = { kind: 'link'; readOnly: boolean } | { kind: 'device'; id: string };

function derive(secret: string, info: string): Uint8Array {
  return hkdf(sha256, fromBase64Url(secret), SALT, utf8(info), 32);
}

/** The pre-shared key of the channel handshake for a credential. */
export function channelPsk(credential: Credential, agentId: string): Uint8Array {
  return credential.kind === 'link'
    ? derive(credential.secret, `channel-psk:${agentId}:${credential.readOnly ? 'view' : 'full'}`)
    : derive(credential.secret, `channel-psk:${agentId}:device:${credential.id}`);
}

/** The pre-shared key after a PIN exchange: the link's and the exchange's keys together. */
export function pinnedPsk(linkPsk: Uint8Array, isk: Uint8Array, agentId: string): Uint8Array {
  return hkdf(sha256, concatBytes(linkPsk, isk), SALT, utf8(`channel-psk-pin:${agentId}`), 32);
}

/** The token a device presents to the relay (the relay keeps only its verifier, tokenVerifier()). */
export function deviceToken(secret: string, agentId: string, deviceId: string): string {
  return toBase64Url(derive(secret, `device-token:${agentId}:${deviceId}`));
}

/** The view secret of a credential's link, if it is a link: what a full link's holder may also watch with. */
export function linkViewSecret(credential: Credential, agentId: string): string | undefined {
  if (credential.kind !== 'link') return undefined;
  return credential.readOnly ? credential.secret : viewSecret(credential.secret, agentId);
}

/** The CPace channel identifier: binds a PIN exchange to one agent (the link's kind is bound later, in the Noise prologue). */
export function pinChannelId(agentId: string): Uint8Array {
  return lvCat(utf8('ccremote/v3 pin'), utf8(agentId));
}

/** The password-related string of a PIN: its NFKC form, UTF-8. */
export function pinPrs(pin: string): Uint8Array {
  return utf8(pin.normalize('NFKC'));
}

/** Handshake steps. */
export const HandshakeStep = { PinShare: 1, PinReply: 2, Open: 3, Welcome: 4, Refused: 5 } as const;
export type HandshakeStep = (typeof HandshakeStep)[keyof typeof HandshakeStep];

const CredentialByte = { Link: 0, ReadOnlyLink: 1, Device: 2 } as const;
const SID_BYTES = 16;

/** The bytes naming a credential in OPEN (and in the Noise prologue, so a relay cannot swap them). */
export function encodeCredentialRef(ref: CredentialRef): Uint8Array {
  if (ref.kind === 'link') return Uint8Array.of(ref.readOnly ? CredentialByte.ReadOnlyLink : CredentialByte.Link);
  return concatBytes(Uint8Array.of(CredentialByte.Device), fromBase64Url(ref.id));
}

/** The credential named at the start of `bytes`, and how many bytes it took. */
export function decodeCredentialRef(bytes: Uint8Array): { ref: CredentialRef; length: number } {
  switch (bytes[0]) {
    case CredentialByte.Link:
      return { ref: { kind: 'link', readOnly: false }, length: 1 };
    case CredentialByte.ReadOnlyLink:
      return { ref: { kind: 'link', readOnly: true }, length: 1 };
    case CredentialByte.Device: {
      if (bytes.length < 1 + 16) throw new ProtocolError('OPEN: truncated device id');
      return { ref: { kind: 'device', id: toBase64Url(bytes.subarray(1, 17)) }, length: 17 };
    }
    default:
      throw new ProtocolError('OPEN: unknown credential');
  }
}

/** The prologue both sides bind into the Noise handshake: the agent, the credential, and any PIN exchange. */
export function channelPrologue(agentId: string, ref: CredentialRef, pin?: { sid: Uint8Array; ya: Uint8Array; yb: Uint8Array }): Uint8Array {
  const parts = [utf8('ccremote/v3 channel'), utf8(agentId), encodeCredentialRef(ref)];
  if (pin) parts.push(pin.sid, pin.ya, pin.yb);
  return lvCat(...parts);
}

/** A PIN_SHARE body: the exchange's session id and the client's share. */
export function encodePinShare(sid: Uint8Array, share: Uint8Array): Uint8Array {
  if (sid.length !== SID_BYTES || share.length !== CPACE_SHARE_BYTES) throw new RangeError('PIN share of the wrong size');
  return concatBytes(sid, share);
}

export function decodePinShare(body: Uint8Array): { sid: Uint8Array; share: Uint8Array } {
  if (body.length !== SID_BYTES + CPACE_SHARE_BYTES) throw new ProtocolError('PIN_SHARE must be 48 bytes');
  return { sid: body.slice(0, SID_BYTES), share: body.slice(SID_BYTES) };
}

export function decodePinReply(body: Uint8Array): Uint8Array {
  if (body.length !== CPACE_SHARE_BYTES) throw new ProtocolError('PIN_REPLY must be 32 bytes');
  return body.slice();
}

const id = str({ min: ID_LENGTH, max: ID_LENGTH, pattern: /^[A-Za-z0-9_-]+$/ });
const key32 = str({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/ });
const position = int(0, MAX_POSITION);
/** A device's name: printable text (no control characters: it is shown on the owner's terminal). */
const deviceName = str({ min: 1, max: MAX_NAME_LENGTH, pattern: /^[^\p{Cc}\p{Cf}\u2028\u2029]+$/u });
const access = oneOf(['full', 'view'] as const);
/** Most devices an agent keeps paired. */
export const MAX_DEVICES = 64;
/** Most terminals an agent has at once (running or ended and not dismissed); `--max-sessions` is lower. */
export const MAX_TERMINALS = 256;
/** Longest path (a session's folder) carried, in characters. */
export const MAX_PATH_LENGTH = 4096;

/** A terminal's number at the agent (the relay routes by it). */
const terminal = int(1, 0xffffffff);
/** Printable text: no control or format characters (it is shown on terminals and pages). */
const printableText = (max: number): ReturnType<typeof str> => str({ max, pattern: /^[^\p{Cc}\p{Cf}\u2028\u2029]*$/u });
const path = str({ min: 1, max: MAX_PATH_LENGTH, pattern: /^[^\p{Cc}\u2028\u2029]+$/u });
const resume = object({ stream: id, offset: position });
/** A request's number, chosen by the client, echoed in the answer. */
const request = int(1, 0xffffffff);

/** What the client says in OPEN (sealed with the pre-shared key only: whoever holds the credential can read it). */
const openShape = {
  /** The client session's identity, stable across reconnects: its input is applied once. */
  session: id,
  /** How missing output is filled (`screen` or `bytes`). */
  history: oneOf(['screen', 'bytes'] as const),
  /** The terminal it watches at once (it was watching it before this connection), and where it stands in it. */
  watch: optional(object({ terminal, resume: optional(resume) })),
} satisfies Shape;
export type OpenPayload = Infer<typeof openShape>;

/** What the agent says in WELCOME (sealed after the ephemeral exchange: only this connection reads it). */
const welcomeShape = {
  /** This agent process: a new one (the agent restarted) has no record of input sent to the one before. */
  instance: id,
  /** The agent's display name. */
  name: optional(str({ max: MAX_NAME_LENGTH })),
  /** What this connection may do. */
  access,
  /** The paired device this connection authenticated as, if it did. */
  device: optional(object({ id, name: deviceName })),
  /** Whether this connection may pair (it came with a link). */
  can_pair: bool,
} satisfies Shape;
export type WelcomePayload = Infer<typeof welcomeShape>;

/** Why the agent refuses a handshake. */
export const RefusedReason = ['unknown_credential', 'pin_required', 'too_many_attempts', 'link_expired', 'busy'] as const;
const refusedShape = { reason: oneOf(RefusedReason), message: str({ max: MAX_TEXT_LENGTH }) } satisfies Shape;
export type Refused = Infer<typeof refusedShape>;

/** The JSON value in `bytes` (ProtocolError if there is none). */
function jsonValue(bytes: Uint8Array, label: string): unknown {
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    throw new ProtocolError(`${label}: not JSON`);
  }
}

function json<S extends Shape>(shape: S, bytes: Uint8Array, label: string): Infer<S> {
  return validateShape(shape, jsonValue(bytes, label), label);
}

export const encodeOpen = (payload: OpenPayload): Uint8Array => utf8(JSON.stringify(payload));
export const decodeOpen = (bytes: Uint8Array): OpenPayload => json(openShape, bytes, 'OPEN');
export const encodeWelcome = (payload: WelcomePayload): Uint8Array => utf8(JSON.stringify(payload));
export const decodeWelcome = (bytes: Uint8Array): WelcomePayload => json(welcomeShape, bytes, 'WELCOME');
export const encodeRefused = (refused: Refused): Uint8Array => utf8(JSON.stringify(refused));
export const decodeRefused = (bytes: Uint8Array): Refused => json(refusedShape, bytes, 'REFUSED');

/** One paired device, as listed to a full device. */
const deviceShape = {
  id,
  name: deviceName,
  access,
  paired_at: int(0, MAX_POSITION),
  last_seen: nullable(int(0, MAX_POSITION)),
  last_address: optional(str({ max: 64 })),
  /** It gets push alerts. */
  alerts: optional(bool),
  /** The device asking. */
  current: bool,
} satisfies Shape;
export type DeviceInfo = Infer<typeof deviceShape>;

/** What a session runs: Claude Code (a new conversation, or one resumed), a shell, or a command given in full. */
const sessionKind = oneOf(['claude', 'shell', 'command'] as const);

/** One of the agent's sessions (a terminal), as listed to clients. */
const sessionShape = {
  terminal,
  name: printableText(MAX_NAME_LENGTH),
  /** Its folder. */
  cwd: path,
  kind: sessionKind,
  /** The command line, for people to read. */
  command: printableText(MAX_TEXT_LENGTH),
  state: oneOf(['running', 'exited'] as const),
  /** How it ended, once it did. */
  exit_code: optional(int(0, 255)),
  signal: optional(int(1, 64)),
  /** The program waits for the person (Claude Code asked something, or finished its turn and nobody looked yet). */
  waiting: bool,
  /** Why it waits, in the program's words. */
  waiting_for: optional(printableText(MAX_ATTENTION_MESSAGE)),
  /** When it started and when it last printed anything, in ms since the epoch. */
  started_at: int(0, MAX_POSITION),
  last_activity: int(0, MAX_POSITION),
  /** The git branch of the worktree it was started in, if it was. */
  worktree: optional(printableText(MAX_NAME_LENGTH * 4)),
} satisfies Shape;
export type SessionInfo = Infer<typeof sessionShape>;
export type SessionKind = SessionInfo['kind'];

/** How a session ended (sent to every open channel, after its output up to `end`). */
const exitShape = {
  terminal,
  /** What people read, for example "claude exited with code 1". */
  message: str({ max: MAX_TEXT_LENGTH }),
  exit_code: optional(int(0, 255)),
  signal: optional(int(1, 64)),
  /** The stream position after the program's last output. */
  end: position,
  /** Which run of the program ended (a `stream` message's `run`): an exit of another run is refused. */
  run: int(1, MAX_POSITION),
  /** The agent starts the program again. */
  restarting: bool,
} satisfies Shape;
/** How a session's program ended. */
export type ExitStatus = Infer<typeof exitShape>;

/**
 * Why a program wants the person: it waits for them (`notification`, `message` says why), finished its turn
 * (`stop`), or asks for a permission (`permission`): then `permission` names the request (answered with
 * `permission_answer`), the tool and what it wants (the command, the file), and `reminder` marks the one
 * repeat of a request nobody answered within the agent's --remind-after.
 */
const attentionShape = {
  terminal,
  kind: oneOf(['notification', 'stop', 'permission'] as const),
  message: optional(str({ max: MAX_ATTENTION_MESSAGE })),
  permission: optional(
    object({
      id,
      tool: printableText(MAX_NAME_LENGTH),
      detail: printableText(MAX_ATTENTION_MESSAGE),
    }),
  ),
  reminder: optional(bool),
} satisfies Shape;
export type AttentionEvent = Infer<typeof attentionShape>;
export type PermissionAsk = NonNullable<AttentionEvent['permission']>;

/** What became of a permission request: see answer.ts for the outcomes. */
const permissionOutcome = oneOf(['allowed', 'denied', 'gone', 'refused'] as const);

/** An earlier Claude Code conversation of a folder, as Claude Code keeps it. */
const conversationShape = {
  id: str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ }),
  /** When it was last written to, in ms since the epoch. */
  time: int(0, MAX_POSITION),
  /** Its first prompt, shortened. */
  prompt: printableText(MAX_TEXT_LENGTH),
} satisfies Shape;
export type ConversationInfo = Infer<typeof conversationShape>;

/** Most conversations, folders and recent folders listed in one answer. */
export const MAX_LISTED = 200;

/** Bytes of a file in one `upload_data` or `download_data` message (base64url in it: a third more). */
export const TRANSFER_CHUNK = 192 * 1024;
/** Chunks of one transfer sent and not yet acknowledged, at most. */
export const TRANSFER_WINDOW = 4;
/** Largest file the protocol carries (an agent's --max-upload is at most this). */
export const MAX_TRANSFER_BYTES = 1 << 30;
/** A file's name as sent: one name, no folders (the agent makes it safe anyway), printable. */
const fileName = str({ min: 1, max: 255, pattern: /^[^\p{Cc}\u2028\u2029]+$/u });
const chunkData = str({ max: Math.ceil((TRANSFER_CHUNK * 4) / 3) + 4, pattern: /^[A-Za-z0-9_-]*$/ });
const fileSize = int(0, MAX_TRANSFER_BYTES);

/** A recording's file name in the agent's recordings folder, as the protocol carries it. */
const RECORDING_FILE = { min: 6, max: 255, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*\.cast$/ };
const recordingFile = str(RECORDING_FILE);
/** Whether `name` is a recording's file name the protocol can carry (an agent lists only those). */
export const isRecordingFile = (name: string): boolean => name.length >= RECORDING_FILE.min && name.length <= RECORDING_FILE.max && RECORDING_FILE.pattern.test(name);
/** A recorded session, as listed to clients. */
const recordingShape = {
  file: recordingFile,
  name: printableText(MAX_NAME_LENGTH * 4),
  command: printableText(MAX_TEXT_LENGTH),
  /** When it started, in ms since the epoch, and how long it ran, in ms. */
  started_at: int(0, MAX_POSITION),
  duration: int(0, MAX_POSITION),
  bytes: int(0, MAX_POSITION),
} satisfies Shape;
export type RecordingInfo = Infer<typeof recordingShape>;

/** Messages a client sends in CHANNEL frames. */
export const clientChannel = {
  /** Pair this device: its id and key, chosen by the device, and the name the person gave it. */
  pair: { id, secret: key32, name: deviceName },
  /** List the paired devices (full access only). */
  devices: {},
  /** Revoke a paired device (full access only): it is cut off, and the link is replaced. */
  revoke: { id },
  /** Watch this terminal (null: none), resuming from where this client stands in its stream, if it does. */
  watch: { terminal: nullable(terminal), resume: optional(resume) },
  /**
   * Start a session (full access only): Claude Code (`conversation`: resume that one), a shell, or a command
   * given in full; in `cwd` (default: the agent's folder), optionally in a new git worktree on a new branch.
   * Answered by `started` (and a new `sessions`) or `refused`, with the same `request`.
   */
  start: {
    request,
    kind: sessionKind,
    cwd: optional(path),
    conversation: optional(conversationShape.id),
    command: optional(array(str({ max: MAX_TEXT_LENGTH }), { max: 64 })),
    worktree: optional(str({ min: 1, max: MAX_NAME_LENGTH * 4, pattern: /^[A-Za-z0-9._/-]+$/ })),
  },
  /** End a running session (full access only): its program is stopped; its last screen stays until dismissed. */
  end: { terminal },
  /** Forget an ended session (full access only). */
  dismiss: { terminal },
  /** List a folder's earlier Claude Code conversations (full access only). */
  conversations: { request, cwd: path },
  /** List a folder's subfolders (full access only): under the agent's allowed roots; none given: the roots and recent folders. */
  folders: { request, path: optional(path) },
  /**
   * This paired device's Web Push subscription (its endpoint, P-256 public key and authentication secret, as
   * the browser's PushManager gives them): the agent encrypts alerts for it and the relay delivers them.
   */
  push_subscribe: {
    endpoint: str({ min: 1, max: 1024 }),
    p256dh: str({ min: 87, max: 87, pattern: /^[A-Za-z0-9_-]+$/ }),
    auth: str({ min: 22, max: 22, pattern: /^[A-Za-z0-9_-]+$/ }),
  },
  /** No more push alerts for this device. */
  push_unsubscribe: {},
  /** No push alerts about this session for this device (or again, with `muted` false). */
  push_mute: { terminal, muted: bool },
  /** Allow or deny a permission request (full access only); answered by `permission_settled`. */
  permission_answer: { id, decision: oneOf(['allow', 'deny'] as const) },
  /**
   * Send a file into a session's upload folder (full access only), announced with its name and size before
   * any of it: answered by `upload_ready` (from where to send: 0, or what already arrived when the same
   * upload, by its `id`, is announced again after a lost connection) or `refused`.
   */
  upload: { request, id, terminal, name: fileName, size: fileSize },
  /** The file's bytes from `offset` (where the last ones ended), base64url; answered by `upload_ack`, then `upload_done`. */
  upload_data: { id, offset: position, data: chunkData },
  /** Stop an upload: what arrived of it is removed. */
  upload_cancel: { id },
  /**
   * Get a file under a session's folder (full access only), by its path in that folder, from `offset` on
   * (0, or what already arrived after a lost connection): answered by `download_ready`, then `download_data`.
   */
  download: { request, id, terminal, path, offset: optional(position) },
  /** Bytes of a download received so far: the agent sends at most TRANSFER_WINDOW chunks beyond. */
  download_ack: { id, received: position },
  /** List the agent's recordings (full access only): answered by `recordings`. */
  recordings: { request },
  /** Get a recording, as a download (full access only): answered by `download_ready`, then `download_data`. */
  recording_download: { request, id, file: recordingFile, offset: optional(position) },
  download_cancel: { id },
} satisfies Record<string, Shape>;

/** Messages the agent sends in CHANNEL frames. */
export const agentChannel = {
  /** The device is paired: from now on it connects with its own key. */
  paired: { id, name: deviceName, access },
  /**
   * The client's watch was taken: output of `terminal` comes from stream `stream`, sealed with `key`; the
   * stream ends at `end` now, and its program is in run `run` (1, then one more at each restart).
   */
  stream: { terminal, stream: id, key: key32, end: position, run: int(1, MAX_POSITION) },
  /**
   * Output of `terminal` from stream position `from` on is sealed with this key; the keys before it open only
   * output that ends by `from`. (A new key comes whenever a client starts watching, and when a device is revoked.)
   */
  stream_key: { terminal, key: key32, from: position },
  /** Every session the agent has, whenever that changes (and once after the channel opens). */
  sessions: { sessions: array(object(sessionShape), { max: MAX_TERMINALS }), max: int(0, MAX_TERMINALS) },
  /** A session's program ended. */
  exit: exitShape,
  /** A session's program wants the person. */
  attention: attentionShape,
  /** A `start` succeeded: the new session's terminal. */
  started: { request, terminal },
  conversations: { request, cwd: path, conversations: array(object(conversationShape), { max: MAX_LISTED }) },
  /** A folder's subfolders (`git`: it is a git work tree); without a path, the roots and the recent folders. */
  folders: {
    request,
    path: nullable(path),
    parent: nullable(path),
    entries: array(object({ name: str({ min: 1, max: 255 }), path, git: bool }), { max: MAX_LISTED }),
  },
  devices: { devices: array(object(deviceShape), { max: MAX_DEVICES }) },
  revoked: { id },
  /**
   * Whether this device gets push alerts now, the sessions it muted, and why its last alert did not reach
   * it, if it did not (the answer to `push_*`, and whenever that changes).
   */
  push_state: { subscribed: bool, muted: array(terminal, { max: MAX_TERMINALS }), problem: optional(str({ max: MAX_TEXT_LENGTH })) },
  /**
   * A permission request is no longer waiting (to every channel): answered here or elsewhere, answered at
   * the terminal, timed out, or its session ended; `message` says which, for people.
   */
  permission_settled: { terminal, id, outcome: permissionOutcome, message: str({ max: MAX_TEXT_LENGTH }) },
  /** Something at the agent does not work, and it goes on without it (a session's screen mirror, its hooks). */
  warning: { terminal: optional(terminal), message: str({ max: MAX_TEXT_LENGTH }) },
  /** An upload may go on from `received` (what the agent has of it: 0 for a new one). */
  upload_ready: { request, id, received: position },
  /** Bytes of an upload the agent has written so far. */
  upload_ack: { id, received: position },
  /** An upload is complete: the file is at `path` (relative to the session's folder). */
  upload_done: { id, path, size: fileSize },
  /** A download starts (again, from `offset`): the file's name and size. */
  download_ready: { request, id, name: fileName, size: fileSize, offset: position },
  download_data: { id, offset: position, data: chunkData },
  /** The agent's recordings, newest first (at most MAX_LISTED). */
  recordings: { request, recordings: array(object(recordingShape), { max: MAX_LISTED }) },
  /** A transfer cannot go on (the file changed, the session ended, the disk is full); what arrived of an upload is removed. */
  transfer_failed: { id, message: str({ max: MAX_TEXT_LENGTH }) },
  /** A request was refused (`request`: the one it answers, for those that have a number). */
  refused: { message: str({ max: MAX_TEXT_LENGTH }), request: optional(request) },
} satisfies Record<string, Shape>;

type Table = Record<string, Shape>;
export type ChannelMessageOf<T extends Table> = { [K in keyof T & string]: { type: K } & Infer<T[K]> }[keyof T & string];
export type ClientChannelMessage = ChannelMessageOf<typeof clientChannel>;
export type AgentChannelMessage = ChannelMessageOf<typeof agentChannel>;

function parseChannel<T extends Table>(table: T, label: string, bytes: Uint8Array): ChannelMessageOf<T> {
  const value = jsonValue(bytes, label);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError(`${label}: expected an object`);
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') throw new ProtocolError(`${label}: unknown message`);
  if (!Object.hasOwn(table, type)) throw new UnknownMessage(label, type, valid(request, (value as { request?: unknown }).request));
  return { type, ...validateShape(table[type]!, value, type) } as ChannelMessageOf<T>;
}

export const parseClientChannel = (bytes: Uint8Array): ClientChannelMessage => parseChannel(clientChannel, 'channel', bytes);
export const parseAgentChannel = (bytes: Uint8Array): AgentChannelMessage => parseChannel(agentChannel, 'channel', bytes);
export const encodeChannelMessage = (message: ClientChannelMessage | AgentChannelMessage): Uint8Array => utf8(JSON.stringify(message));

/**
 * The key a snapshot for one client is sealed with: from that connection's agent-to-client key and the
 * session's stream key of the moment. A new stream key comes with every watch, so a snapshot the relay
 * recorded for an earlier watch does not open after the client switched away and back.
 */
export function snapshotKey(connectionKey: Uint8Array, streamKey: Uint8Array): Uint8Array {
  return hkdf(sha256, concatBytes(connectionKey, streamKey), SALT, utf8('snapshot'), 32);
}
