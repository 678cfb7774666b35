// A device's answer to a permission request from its notification, as the relay hands it over
// (protocol/answer.ts): the decision opens only with the key this agent gave that device for that
// request, it counts only while the request waits, once, and only if it was sealed lately by a device
// still paired with full access; the result is sealed with the same key, for that device alone.

import { ANSWER_MAX_AGE_MS, openDecision, sealResult, type AnswerDecision, type AnswerResult } from '../protocol/index.js';
import type { PairedDevice } from './identity.js';
import type { Permissions } from './permissions.js';

/** What answering needs from the agent. */
export interface NotificationAnswerContext {
  agentId: string;
  permissions: Permissions;
  devices: readonly PairedDevice[];
  /** Clock, in ms (tests may pass their own). */
  now?: () => number;
}

/**
 * Applies the answer `sealed` given for answer id `answer`. Returns the result sealed for the device, or
 * nothing when there is no such answer or the decision does not open (then nothing was done, and the
 * relay says the answer is unknown); `warning` tells the person of an answer that was made up or altered.
 */
export function answerFromNotification(context: NotificationAnswerContext, message: { answer: string; sealed: string }): { sealed?: string; warning?: string } {
  const found = context.permissions.answerFor(message.answer);
  if (!found) return {};
  const { request, key } = found;
  let decision: AnswerDecision;
  try {
    decision = openDecision(key.key, context.agentId, message.answer, message.sealed);
  } catch {
    return { warning: 'an answer to a permission request did not open (altered or made up on the way); it was ignored' };
  }
  const seal = (result: AnswerResult): { sealed: string } => ({ sealed: sealResult(key.key, context.agentId, message.answer, result) });
  const age = (context.now ?? Date.now)() - decision.sent_at;
  if (Math.abs(age) > ANSWER_MAX_AGE_MS) {
    return seal({ outcome: 'refused', message: `Nothing was done: this answer arrived ${Math.round(age / 1000)} s after it was given (or the phone's clock is off). Answer again.` });
  }
  const device = context.devices.find((d) => d.id === key.device);
  if (!device || device.access !== 'full') return seal({ outcome: 'refused', message: 'Nothing was done: this device may no longer answer.' });
  return seal(context.permissions.answer(request, decision.decision, `${device.name}'s notification`));
}
