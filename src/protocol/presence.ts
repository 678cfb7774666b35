// `POST /api/presence` (docs/PROTOCOL.md §2): the start page asks whether agents it remembers are
// online, proving for each that it holds a link or is a paired device (the token it would connect with,
// and the device's id). Both sides validate with these shapes.

import { ProtocolError } from './codes.js';
import { ID_LENGTH } from './encoding.js';
import { array, bool, oneOf, optional, str, validateShape, type Infer } from './schema.js';
import { MAX_NAME_LENGTH } from './limits.js';

/** Agents one request may ask about. */
export const MAX_PRESENCE_AGENTS = 32;

const id = str({ min: ID_LENGTH, max: ID_LENGTH, pattern: /^[A-Za-z0-9_-]+$/ });
const token = str({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/ });

const requestShape = { agents: array((v, path) => validateShape({ id, token, device: optional(id) }, v, path), { max: MAX_PRESENCE_AGENTS }) };
export type PresenceRequest = Infer<typeof requestShape>;

/** One agent's answer: its state, or that there is none for this caller (a wrong token and an unknown agent alike). */
export type Presence = { id: string; online: boolean; name?: string } | { id: string; error: 'unauthorized' };

const presenceShape = { id, online: optional(bool), name: optional(str({ max: MAX_NAME_LENGTH })), error: optional(oneOf(['unauthorized'] as const)) };
const answerShape = { agents: array((v, path) => validateShape(presenceShape, v, path), { max: MAX_PRESENCE_AGENTS }) };

/** Validates a request body (parsed JSON); throws ProtocolError naming the bad field. */
export function parsePresenceRequest(value: unknown): PresenceRequest {
  return validateShape(requestShape, value, 'body');
}

/** Validates the relay's answer (parsed JSON); throws ProtocolError naming the bad field. */
export function parsePresenceAnswer(value: unknown): Presence[] {
  return validateShape(answerShape, value, 'answer').agents.map((p) => {
    if (p.error !== undefined) return { id: p.id, error: p.error };
    if (p.online === undefined) throw new ProtocolError(`answer: agent ${p.id} has neither "online" nor "error"`);
    return p.name === undefined ? { id: p.id, online: p.online } : { id: p.id, online: p.online, name: p.name };
  });
}
