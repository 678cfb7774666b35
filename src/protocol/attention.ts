// Attention events: the program waits for the person (Claude Code's Notification hook) or has finished
// its turn (its Stop hook). The agent seals each event end to end and sends it in an `attention` control
// message; the relay passes the box on to every client unread. The key is derived from the view secret
// (attentionKey in seal.ts), so read-only links see these events too.
//
//   box = base64url( nonce (24) | sealed JSON {"kind": "notification" | "stop", "message"?: string} | tag (16) )

import { ProtocolError } from './codes.js';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.js';
import { SEAL_OVERHEAD, open, sealInto } from './seal.js';
import { oneOf, optional, str, validateShape, type Infer } from './schema.js';

/** Longest message an attention event carries, in characters. */
export const MAX_ATTENTION_MESSAGE = 500;
/** Longest box, in base64url characters (as carried in the `attention` message). */
export const MAX_ATTENTION_BOX = 4096;

/** Associated data of every attention box. */
const AAD = utf8('ccremote/v1 attention');

const eventShape = {
  kind: oneOf(['notification', 'stop'] as const),
  message: optional(str({ max: MAX_ATTENTION_MESSAGE })),
};

/** Why the program wants the person: `notification` (it waits for them, `message` says why) or `stop` (it finished its turn). */
export type AttentionEvent = Infer<typeof eventShape>;

/** Seals an event under `key` (attentionKey). Throws RangeError if its message is too long or the box would not fit. */
export function sealAttention(key: Uint8Array, event: AttentionEvent): string {
  if (event.message !== undefined && event.message.length > MAX_ATTENTION_MESSAGE) {
    throw new RangeError(`attention message longer than ${MAX_ATTENTION_MESSAGE} characters`);
  }
  const plaintext = utf8(JSON.stringify(event.message === undefined ? { kind: event.kind } : { kind: event.kind, message: event.message }));
  const box = new Uint8Array(plaintext.length + SEAL_OVERHEAD);
  sealInto(key, AAD, plaintext, box, 0);
  const text = toBase64Url(box);
  if (text.length > MAX_ATTENTION_BOX) throw new RangeError(`attention box longer than ${MAX_ATTENTION_BOX} characters`);
  return text;
}

/**
 * Opens and validates a box made by sealAttention. Throws IntegrityError if it does not open under
 * `key`, ProtocolError if it is malformed or what it holds is not an attention event.
 */
export function openAttention(key: Uint8Array, box: string): AttentionEvent {
  if (box.length > MAX_ATTENTION_BOX) throw new ProtocolError(`attention box longer than ${MAX_ATTENTION_BOX} characters`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(box);
  } catch {
    throw new ProtocolError('attention box is not base64url');
  }
  const plaintext = open(key, AAD, bytes, 'attention');
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(plaintext));
  } catch {
    throw new ProtocolError('attention event is not JSON');
  }
  return validateShape(eventShape, value, 'attention');
}
