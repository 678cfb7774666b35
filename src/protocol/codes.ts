// The one table of WebSocket close codes and error codes used by relay, agent and clients.

/** Close codes sent by the relay (and understood by agents and clients). */
export const CloseCode = {
  /** Normal closure: the peer asked to leave. */
  Normal: 1000,
  /** The relay is shutting down; reconnect later. */
  GoingAway: 1001,
  /** Too many messages (control messages, WebSocket pings) in too short a time; reconnect later. */
  PolicyViolation: 1008,
  /** A message exceeded `MAX_MESSAGE_BYTES` (sent by the WebSocket layer). */
  TooBig: 1009,
  /** A frame could not be decoded or failed validation (malformed JSON, unknown type, bad field, binary where text is expected). */
  BadMessage: 4000,
  /** The `hello` named a protocol version this relay does not speak. */
  UnsupportedVersion: 4001,
  /** No valid `hello` arrived in time. */
  HandshakeTimeout: 4002,
  /** Used by agents and clients themselves when a connection went silent and they replace it. (The relay drops silent sockets without a close frame.) */
  Idle: 4008,
  /** The agent is served by another relay of the group now: reconnect at once (through the same address). */
  Moved: 4012,
  /**
   * The agent is served by another relay of the group, which browsers reach at the URL in the reason
   * (directUrlOfReason): connect there at once. If that fails, connect here again with `?forward`, and this
   * relay forwards the connection instead.
   */
  Direct: 4013,
  /** The relay cannot route this now (the relay group's Redis is unreachable); reconnect later. */
  Unroutable: 4503,
  /** Wrong or missing agent key, wrong or missing access token, or an agent id the relay does not know. */
  Unauthorized: 4401,
  /** The request's Origin is not allowed to open this socket. */
  ForbiddenOrigin: 4403,
  /** Another connection of the same agent took over; the older one is closed with this code and should not reconnect. */
  Replaced: 4409,
  /** Too many clients on this agent. */
  TooMany: 4429,
  /** Too many failed attempts from this address or on this agent; the reason says when to retry (rateLimitReason). */
  RateLimited: 4430,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Stable codes carried by `error` messages. */
export const ErrorCode = {
  /** Input arrived while the agent is not connected; the client keeps it and sends it again when the agent is back. */
  AgentOffline: 'agent_offline',
  /** The agent's command failed or exited abnormally. */
  ProcessError: 'process_error',
  /** A frame was rejected; the socket closes right after. */
  BadMessage: 'bad_message',
  /** Something on the relay failed; the request may be retried. */
  Internal: 'internal',
  /** Input from a client admitted with a read-only link; dropped. */
  ReadOnly: 'read_only',
  /** A sealed box did not open: the data was altered, replayed or misrouted on the way. */
  Integrity: 'integrity',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error found while decoding or validating a frame; carries the close code to use. */
export class ProtocolError extends Error {
  readonly code: number;
  constructor(message: string, code: number = CloseCode.BadMessage) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/**
 * A message of a type this side does not know (a control message, or a channel message that opened and came
 * in sequence): from a newer version of the other side, most likely. It carries where it came from (the
 * parser's label), its type (printable, cut short) and the request number when the message had a valid one,
 * so that a receiver can refuse the request, or say once that the other side is newer, instead of dropping
 * the connection (which would bring the same message again).
 */
export class UnknownMessage extends ProtocolError {
  readonly messageType: string;
  constructor(
    readonly from: string,
    type: string,
    readonly request?: number,
  ) {
    const printable = type.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
    super(`${from}: unknown type ${JSON.stringify(printable)}`);
    this.name = 'UnknownMessage';
    this.messageType = printable;
  }
}

/** The close reason of CloseCode.RateLimited, which carries the wait. */
export function rateLimitReason(retryAfterMs: number): string {
  return `too many failed attempts; retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`;
}

/** The wait (ms) in a reason made by rateLimitReason, if it is one. */
export function retryAfterFromReason(reason: string): number | undefined {
  const match = /retry in (\d+) s$/.exec(reason);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** A close reason cut to the 123 bytes a WebSocket close frame can carry. */
export function closeReason(text: string): string {
  let out = text;
  while (utf8Length(out) > 123) out = out.slice(0, -1);
  return out;
}

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}
