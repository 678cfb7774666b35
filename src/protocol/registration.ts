// `POST /api/agents` (docs/PROTOCOL.md §2): an agent registers and gets its id and key. Both sides
// validate with these shapes: the relay what it is asked, the agent what it is answered (a key with a
// line break in it would otherwise be saved and then break every connection the agent makes).

import { ID_LENGTH } from './encoding.js';
import { MAX_NAME_LENGTH } from './limits.js';
import { optional, str, validateShape, type Infer } from './schema.js';

const requestShape = { name: optional(str({ max: MAX_NAME_LENGTH })) };
export type RegistrationRequest = Infer<typeof requestShape>;

const answerShape = {
  agent_id: str({ min: ID_LENGTH, max: ID_LENGTH, pattern: /^[A-Za-z0-9_-]+$/ }),
  /** 32 random bytes, base64url. */
  agent_key: str({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/ }),
  /** The agent's page at the relay, for information: agents build links from the relay URL they were given. */
  client_url: optional(str({ max: 2048 })),
};
export type RegistrationAnswer = Infer<typeof answerShape>;

/** Validates a registration request body (parsed JSON); throws ProtocolError naming the bad field. */
export function parseRegistrationRequest(value: unknown): RegistrationRequest {
  return validateShape(requestShape, value, 'body');
}

/** Validates the relay's answer to a registration (parsed JSON); throws ProtocolError naming the bad field. */
export function parseRegistrationAnswer(value: unknown): RegistrationAnswer {
  return validateShape(answerShape, value, 'answer');
}
