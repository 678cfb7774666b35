// Attention events: the program waits for the person (Claude Code's Notification hook) or has finished
// its turn (its Stop hook). The agent seals each event end to end (sealed-json.ts) with a key derived from
// the stream key (channel.ts), and sends it in an `attention` control message; the relay passes the box on
// to every client unread. Every client of the stream, read-only ones too, opens it.

import { utf8 } from './encoding.js';
import { MAX_SEALED_JSON, openJson, sealJson } from './sealed-json.js';
import { oneOf, optional, str, type Infer } from './schema.js';

/** Longest message an attention event carries, in characters. */
export const MAX_ATTENTION_MESSAGE = 500;
/** Longest box, in base64url characters (as carried in the `attention` message). */
export const MAX_ATTENTION_BOX = MAX_SEALED_JSON;

/** Associated data of every attention box. */
const AAD = utf8('ccremote/v3 attention');

const eventShape = {
  kind: oneOf(['notification', 'stop'] as const),
  message: optional(str({ max: MAX_ATTENTION_MESSAGE })),
};

/** Why the program wants the person: `notification` (it waits for them, `message` says why) or `stop` (it finished its turn). */
export type AttentionEvent = Infer<typeof eventShape>;

/** Seals an event under `key` (streamSubkey 'attention'). Throws RangeError if its message is too long. */
export function sealAttention(key: Uint8Array, event: AttentionEvent): string {
  if (event.message !== undefined && event.message.length > MAX_ATTENTION_MESSAGE) {
    throw new RangeError(`attention message longer than ${MAX_ATTENTION_MESSAGE} characters`);
  }
  return sealJson(key, AAD, event.message === undefined ? { kind: event.kind } : { kind: event.kind, message: event.message });
}

/** Opens and validates an attention box: IntegrityError if it does not open under `key`, ProtocolError if malformed. */
export function openAttention(key: Uint8Array, box: string): AttentionEvent {
  return openJson(key, AAD, box, eventShape, 'attention');
}
