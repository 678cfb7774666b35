// Answering Claude Code's permission request from a notification, without opening the app
// (docs/PROTOCOL.md §2, `POST /api/answer`). With each permission alert it pushes to a paired device with
// full access, the agent sends (inside the Web Push message, which only that device can decrypt) an answer
// id and a fresh 32-byte answer key for that request and device alone. The service worker seals the
// person's decision with that key and posts it to the relay, which hands it to the agent; the agent seals
// what became of it with the same key. The relay sees an opaque id and two boxes: it can drop an answer
// but can neither read one, make one up, turn a Deny into an Allow, nor use one for another request; the
// agent takes one answer per request, and only one sealed within the last ANSWER_MAX_AGE_MS.

import { ProtocolError } from './codes.js';
import { ID_LENGTH, fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.js';
import { MAX_POSITION, MAX_TEXT_LENGTH } from './limits.js';
import { int, oneOf, str, validateShape, type Infer } from './schema.js';
import { SEAL_OVERHEAD, open, sealInto } from './seal.js';

/** An answer sealed longer ago than this (by the phone's clock) is refused: a relay that held it back cannot play it later. */
export const ANSWER_MAX_AGE_MS = 120_000;

const id = str({ min: ID_LENGTH, max: ID_LENGTH, pattern: /^[A-Za-z0-9_-]+$/ });
/** A sealed box in base64url: a decision or a result is far smaller than this. */
const box = str({ min: 1, max: 1024, pattern: /^[A-Za-z0-9_-]+$/ });

/** The body of `POST /api/answer`. */
const requestShape = { agent_id: id, answer: id, sealed: box };
export type AnswerRequest = Infer<typeof requestShape>;

/** The body of its 200 answer: the agent's sealed result. */
const replyShape = { sealed: box };

/** What the person decided. */
const decisionShape = { decision: oneOf(['allow', 'deny'] as const), sent_at: int(0, MAX_POSITION) };
export type AnswerDecision = Infer<typeof decisionShape>;

/**
 * What became of an answer: `allowed` or `denied` (Claude Code has it), `gone` (the request was answered at
 * the terminal, timed out, or its session ended: nothing was done), `refused` (it came too late or twice).
 */
const resultShape = { outcome: oneOf(['allowed', 'denied', 'gone', 'refused'] as const), message: str({ max: MAX_TEXT_LENGTH }) };
export type AnswerResult = Infer<typeof resultShape>;
export type AnswerOutcome = AnswerResult['outcome'];

/** Validates a request body (parsed JSON); throws ProtocolError naming the bad field. */
export function parseAnswerRequest(value: unknown): AnswerRequest {
  return validateShape(requestShape, value, 'body');
}

/** Validates the relay's reply (parsed JSON). */
export function parseAnswerReply(value: unknown): { sealed: string } {
  return validateShape(replyShape, value, 'answer');
}

/** Associated data: a box opens only for the agent and answer id it was sealed for, and in its direction. */
function header(direction: 'decision' | 'result', agentId: string, answerId: string): Uint8Array {
  return utf8(`ccremote/answer/${direction}/${agentId}/${answerId}`);
}

function sealJson(key: Uint8Array, aad: Uint8Array, value: unknown): string {
  const plaintext = utf8(JSON.stringify(value));
  const out = new Uint8Array(plaintext.length + SEAL_OVERHEAD);
  sealInto(key, aad, plaintext, out, 0);
  return toBase64Url(out);
}

function openJson(key: Uint8Array, aad: Uint8Array, sealed: string, what: string): unknown {
  const bytes = open(key, aad, fromBase64Url(sealed), what);
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    throw new ProtocolError(`${what}: malformed JSON`);
  }
}

/** The service worker seals the person's decision. */
export function sealDecision(key: Uint8Array, agentId: string, answerId: string, decision: AnswerDecision): string {
  return sealJson(key, header('decision', agentId, answerId), decision);
}

/** The agent opens a decision; throws (IntegrityError, ProtocolError) if it is not one sealed with `key` for this answer. */
export function openDecision(key: Uint8Array, agentId: string, answerId: string, sealed: string): AnswerDecision {
  return validateShape(decisionShape, openJson(key, header('decision', agentId, answerId), sealed, 'answer'), 'answer');
}

/** The agent seals what became of it. */
export function sealResult(key: Uint8Array, agentId: string, answerId: string, result: AnswerResult): string {
  return sealJson(key, header('result', agentId, answerId), result);
}

/** The service worker opens the agent's result; throws if the relay made it up or altered it. */
export function openResult(key: Uint8Array, agentId: string, answerId: string, sealed: string): AnswerResult {
  return validateShape(resultShape, openJson(key, header('result', agentId, answerId), sealed, 'result'), 'result');
}
