// JSON control messages (WebSocket text frames), one table per direction. Terminal bytes never travel
// here: they go in binary frames (frames.ts). Every text frame that arrives is parsed by `parse*` below;
// anything malformed, oversized or of an unknown type throws a ProtocolError carrying the close code.

import { MAX_DEVICES, MAX_TERMINALS } from './channel.js';
import { ProtocolError, UnknownMessage } from './codes.js';
import { ID_LENGTH } from './encoding.js';
import {
  MAX_CONTROL_BYTES,
  MAX_NAME_LENGTH,
  MAX_POSITION,
  MAX_TEXT_LENGTH,
} from './limits.js';
import { array, bool, int, nullable, num, object, oneOf, optional, str, validateShape, type Infer, type Shape } from './schema.js';

const id = str({ min: ID_LENGTH, max: ID_LENGTH, pattern: /^[A-Za-z0-9_-]+$/ });
/** A 32-byte value in base64url (access tokens and verifiers). */
const key32 = str({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/ });
const position = int(0, MAX_POSITION);
const clientRef = int(1, 0xffffffff);
const syncRef = int(1, MAX_POSITION);
const text = str({ max: MAX_TEXT_LENGTH });
const name = str({ max: MAX_NAME_LENGTH });
const version = int(1, 65535);
/** A paired device as the relay knows it: its id, the verifier of its token, and whether it may only watch. */
const deviceCredential = object({ id, verifier: key32, read_only: bool });
/** Every credential browsers may present for an agent: the links' verifiers and the paired devices'. */
const credentialsShape = { access: key32, view: key32, devices: array(deviceCredential, { max: MAX_DEVICES }) };
/** A client's network address as the relay sees it (for the agent to show). */
const address = str({ max: 64 });

/** Longest push endpoint (a URL), and push payload (base64url of at most 4,096 bytes of ciphertext). */
export const MAX_PUSH_ENDPOINT = 1024;
export const MAX_PUSH_PAYLOAD = 5462;

/** A sealed answer or result (answer.ts), base64url. */
const answerBox = str({ min: 1, max: 1024, pattern: /^[A-Za-z0-9_-]+$/ });

/** An agent's terminal, as the relay knows it: a number and the id of its output stream, nothing else. */
const terminal = int(1, 0xffffffff);
const terminalStreamShape = { terminal, stream: id };
const terminalStream = object(terminalStreamShape);

/** Where a client stands in a terminal's output stream: the stream's id and the offset of the next byte it needs. */
const resume = object({ stream: id, offset: position });
export type Resume = Infer<{ stream: typeof id; offset: typeof position }>;

/** How a client wants missing output filled: `screen` (a snapshot of the current screen when a replay is impossible) or `bytes` (the raw bytes still buffered, never a snapshot). */
export type HistoryMode = 'screen' | 'bytes';

/** Messages an agent sends to the relay. */
export const agentToRelay = {
  /**
   * First message after the socket opens: protocol version, display name, the terminals it has (each with its
   * output stream), and the verifiers browsers' tokens are checked against: `access` for full links, `view`
   * for read-only links, and one per paired device. Credentials that are no longer there (the link was
   * replaced, a device revoked) cut every browser admitted with them.
   */
  hello: { v: version, name: optional(name), terminals: array(terminalStream, { max: MAX_TERMINALS }), ...credentialsShape },
  /** The credentials changed while connected (a device paired or was revoked, the link replaced); as in `hello`. */
  credentials: credentialsShape,
  /** Keep-alive; answered with `heartbeat_ack`. */
  heartbeat: {},
  /** An error for every browser. */
  error: { message: text },
  /** The frames that follow for `client` answer the relay's `sync` number `sync`. */
  sync_begin: { client: clientRef, sync: syncRef },
  /** A terminal was started: its output stream begins. */
  terminal_opened: terminalStreamShape,
  /** A terminal is gone (ended and dismissed): clients watching it watch nothing. */
  terminal_closed: { terminal },
  /**
   * A client (through its channel) asked to watch `terminal` (null: none), resuming from `resume` if it has
   * part of that terminal's stream: the relay routes that terminal's output to it, and syncs it.
   */
  watch: { client: clientRef, terminal: nullable(terminal), resume: optional(resume) },
  /** A device's Web Push subscription, for the relay to send to (only its endpoint: the keys stay with the agent). */
  push_register: { subscription: id, endpoint: str({ min: 1, max: MAX_PUSH_ENDPOINT }) },
  push_unregister: { subscription: id },
  /**
   * Send this to a registered subscription: `payload` is the message the agent encrypted for that device
   * (RFC 8291, aes128gcm), base64url; the relay adds the VAPID signature. Answered by `push_result`.
   */
  push: {
    subscription: id,
    payload: str({ min: 1, max: MAX_PUSH_PAYLOAD, pattern: /^[A-Za-z0-9_-]+$/ }),
    ttl: int(0, 2_419_200),
    urgency: oneOf(['very-low', 'low', 'normal', 'high'] as const),
    topic: optional(str({ min: 1, max: 32, pattern: /^[A-Za-z0-9_-]+$/ })),
  },
  /**
   * What became of the relay's `answer` number `ref`: the agent's result, sealed for the answering device;
   * none when the agent has no such answer (unknown to it, or not sealed by the device).
   */
  answer_result: { ref: clientRef, sealed: optional(answerBox) },
} satisfies Record<string, Shape>;

/** Messages the relay sends to an agent. */
export const relayToAgent = {
  /** The agent is authenticated and online. */
  connected: { agent_id: id },
  /** Answer to `heartbeat`. */
  heartbeat_ack: {},
  /**
   * A browser joined; `client` is the number used in binary envelopes, `session` its stable identity across
   * reconnects, `read_only` whether it came with a read-only credential, `device` the paired device whose
   * credential admitted it (if one did), `address` where it connects from.
   */
  client_joined: { client: clientRef, session: id, read_only: bool, device: optional(id), address: optional(address) },
  /** A browser left. */
  client_left: { client: clientRef },
  /** Send this client the output of `terminal` it lacks: from `resume` if given and still buffered, otherwise as its channel asked. Answered by `sync_begin` with the same `sync` number, then frames. */
  sync: { client: clientRef, terminal, sync: syncRef, resume: optional(resume) },
  /** Flow control: read no output of `terminal` beyond stream position `limit` for now (null: no limit). */
  flow: { terminal, limit: nullable(position) },
  /** Something the agent sent was refused. */
  error: { code: str({ max: 32 }), message: text },
  /** What became of a `push_register` or `push`: the push service's HTTP status, or 0 and why the relay did not send it. */
  push_result: { subscription: id, status: int(0, 999), message: optional(text) },
  /**
   * A device answered a permission request from its notification (`POST /api/answer`, answer.ts): `answer`
   * is the opaque id the agent gave that device for it, `sealed` the decision only the agent can open.
   * Answered by `answer_result` with the same `ref`.
   */
  answer: { ref: clientRef, answer: id, sealed: answerBox },
} satisfies Record<string, Shape>;

/** Messages a browser (or `ccremote attach`) sends to the relay. */
export const clientToRelay = {
  /**
   * First message: protocol version, access token derived from the link's secret (or, with `device`, from
   * that paired device's key), and the client's session id. What it watches, and from where, it tells the
   * agent (sealed), and the agent tells the relay.
   */
  hello: { v: version, token: key32, device: optional(id), session: id },
  /** Keep-alive and latency probe; answered with `pong` echoing `t`. */
  ping: { t: optional(num) },
  /** Flow control: output of `terminal` up to stream position `offset` has been processed (drawn, written out). */
  ack: { terminal, offset: position },
} satisfies Record<string, Shape>;

/** Messages the relay sends to a browser. */
export const relayToClient = {
  /** The browser is admitted; whether the agent is online. */
  connected: {
    client_id: str({ max: 16 }),
    agent_id: id,
    agent_online: bool,
    name: optional(name),
    /** Admitted with a read-only link: input is refused. */
    read_only: bool,
  },
  /** The agent came online (again). */
  agent_online: { agent_id: id, name: optional(name) },
  /** The agent went offline; input is refused until `agent_online`. */
  agent_offline: { agent_id: id },
  /** An error, with a stable code from ErrorCode. */
  error: { code: str({ max: 32 }), message: text },
  /** Answer to `ping`. */
  pong: { t: optional(num) },
} satisfies Record<string, Shape>;

type Table = Record<string, Shape>;
/** The union of messages a table describes, each tagged with its `type`. */
export type MessageOf<T extends Table> = { [K in keyof T & string]: { type: K } & Infer<T[K]> }[keyof T & string];

export type AgentToRelay = MessageOf<typeof agentToRelay>;
export type RelayToAgent = MessageOf<typeof relayToAgent>;
export type ClientToRelay = MessageOf<typeof clientToRelay>;
export type RelayToClient = MessageOf<typeof relayToClient>;

function parseWith<T extends Table>(table: T, label: string, raw: string): MessageOf<T> {
  // Receivers that see bytes check the byte size first (checkControlSize); this bounds the text too.
  if (raw.length > MAX_CONTROL_BYTES) throw new ProtocolError(`${label}: control message larger than ${MAX_CONTROL_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ProtocolError(`${label}: malformed JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError(`${label}: expected a JSON object`);
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') throw new ProtocolError(`${label}: missing "type"`);
  if (!Object.hasOwn(table, type)) throw new UnknownMessage(label, type);
  const body = validateShape(table[type]!, value, type);
  return { type, ...body } as MessageOf<T>;
}

/** Parses and validates a text frame from an agent. */
export const parseAgentToRelay = (raw: string): AgentToRelay => parseWith(agentToRelay, 'agent', raw);
/** Parses and validates a text frame from the relay, as an agent. */
export const parseRelayToAgent = (raw: string): RelayToAgent => parseWith(relayToAgent, 'relay', raw);
/** Parses and validates a text frame from a client. */
export const parseClientToRelay = (raw: string): ClientToRelay => parseWith(clientToRelay, 'client', raw);
/** Parses and validates a text frame from the relay, as a client. */
export const parseRelayToClient = (raw: string): RelayToClient => parseWith(relayToClient, 'relay', raw);

/** Refuses a control message of more than MAX_CONTROL_BYTES bytes before it is decoded. */
export function checkControlSize(byteLength: number): void {
  if (byteLength > MAX_CONTROL_BYTES) throw new ProtocolError(`control message larger than ${MAX_CONTROL_BYTES} bytes`);
}

/** Serialises a control message. Kept in one place so every side encodes identically. */
export function encodeMessage(message: AgentToRelay | RelayToAgent | ClientToRelay | RelayToClient): string {
  return JSON.stringify(message);
}
