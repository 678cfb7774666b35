// `POST /api/answer`: a notification's Allow or Deny on its way to the agent (answer-relay.ts), or to the
// relay of the group that serves it (answer-pass.ts). JSON only (a page elsewhere cannot send that without
// the browser asking first), small, and limited per address and per agent; the answer says plainly when
// the agent is off line or did not answer.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAnswerRequest } from '../protocol/index.js';
import type { RateLimitOptions } from '../net/rate-limit.js';
import { addressKey } from './address.js';
import { passAnswer } from './answer-pass.js';
import type { HttpContext } from './http-context.js';
import { isJson, rateLimited, readJson, sendJson, unsupportedMediaType } from './http-replies.js';

/** Answers one address may send: 20 at once, then one every 2 s. */
export const ANSWER_ADDRESS_RATE: RateLimitOptions = { burst: 20, perMinute: 30 };
const MAX_ANSWER_BODY = 2048;

export async function answer(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed', message: 'use POST' }, { allow: 'POST' });
  if (!isJson(req)) return unsupportedMediaType(res);
  // One passed on by a relay of the group was counted against its device's address there.
  const relayed = ctx.group?.forwarded(req.headers);
  const client = ctx.proxies.client(req);
  const address = relayed?.address ?? client.address;
  const counted = addressKey(address);
  if (!relayed && !ctx.answerAddresses.take(counted)) return rateLimited(res, ctx.answerAddresses.retryAfterMs(counted), (s) => `too many answers from this address; try again in ${s} s`);
  const request = await readJson(req, res, MAX_ANSWER_BODY, parseAnswerRequest);
  if (request === undefined) return;
  let result = await ctx.answers.forward(request.agent_id, request.answer, request.sealed);
  if (result.kind === 'offline' && ctx.group && !relayed) result = await passAnswer(ctx.group, request, address, ctx.secure || client.forwardedSecure);
  ctx.log('answer_forwarded', { agent: request.agent_id, result: result.kind });
  switch (result.kind) {
    case 'answered':
      return sendJson(res, 200, { sealed: result.sealed });
    case 'unknown':
      return sendJson(res, 404, { error: 'unknown_answer', message: 'The computer does not know this request any more (it may have restarted).' });
    case 'offline':
      return sendJson(res, 503, { error: 'agent_offline', message: 'The computer is not connected to the relay.' });
    case 'timeout':
      return sendJson(res, 504, { error: 'timeout', message: 'The computer did not answer in time.' });
    case 'rate_limited':
      return rateLimited(res, result.retryAfterMs, (s) => `too many answers for this computer; try again in ${s} s`);
  }
}
