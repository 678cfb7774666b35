// The optional PIN: a second factor on top of the access link, so that a photographed QR code alone
// does not reach the terminal. The PIN never leaves the device it is typed on. It is stretched with
// scrypt (slow on purpose) into a PIN key, which is mixed into both secrets before anything else is
// derived from them: the token the relay checks and every end-to-end key. Without the PIN a link gives
// a token the relay refuses, and the relay counts such refusals and rate-limits them, so PINs are
// guessed online, slowly, or not at all.
//
//   pin key     = scrypt(NFKC(pin), salt "ccremote/v1 pin:" + agentId, N 2^15, r 8, p 1) → 32 bytes
//   full secret = HKDF(link secret | pin key, info "pin-full:" + agentId)
//   view secret = HKDF(view secret of the link | pin key, info "pin-view:" + agentId)
//
// Links with a PIN say so (`#pin.<secret>`, `#view.pin.<view secret>`), so the page knows to ask.

import { hkdf } from '@noble/hashes/hkdf.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { viewSecret } from './access.js';
import { fromBase64Url, toBase64Url, utf8 } from './encoding.js';

/** Fewest characters a PIN may have. */
export const MIN_PIN_LENGTH = 6;
/** Most characters a PIN may have. */
export const MAX_PIN_LENGTH = 64;

const SALT = utf8('ccremote/v1');
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, dkLen: 32 } as const;

/** Why `pin` cannot be used, or undefined if it can. */
export function pinProblem(pin: string): string | undefined {
  const length = [...pin.normalize('NFKC')].length;
  if (length < MIN_PIN_LENGTH) return `the PIN must have at least ${MIN_PIN_LENGTH} characters`;
  if (length > MAX_PIN_LENGTH) return `the PIN must have at most ${MAX_PIN_LENGTH} characters`;
  return undefined;
}

/** Stretches a PIN into the PIN key of one agent (about a tenth of a second, more on a phone). */
export async function pinKey(pin: string, agentId: string): Promise<Uint8Array> {
  const problem = pinProblem(pin);
  if (problem) throw new Error(problem);
  return scryptAsync(utf8(pin.normalize('NFKC')), utf8(`ccremote/v1 pin:${agentId}`), SCRYPT);
}

function mix(secret: string, key: Uint8Array, info: string): string {
  const secretBytes = fromBase64Url(secret);
  const input = new Uint8Array(secretBytes.length + key.length);
  input.set(secretBytes);
  input.set(key, secretBytes.length);
  return toBase64Url(hkdf(sha256, input, SALT, utf8(info), 32));
}

/** The secrets that tokens and keys derive from. `full` is absent for a read-only link. */
export interface KeySecrets {
  full?: string;
  view: string;
}

/**
 * The key secrets of a link's secret: the full secret and its view secret, or a read-only link's view
 * secret alone, with the PIN key mixed in if there is one.
 */
export function keySecrets(secret: string, agentId: string, readOnly: boolean, pin?: Uint8Array): KeySecrets {
  const view = readOnly ? secret : viewSecret(secret, agentId);
  if (!pin) return readOnly ? { view } : { full: secret, view };
  const pinnedView = mix(view, pin, `pin-view:${agentId}`);
  return readOnly ? { view: pinnedView } : { full: mix(secret, pin, `pin-full:${agentId}`), view: pinnedView };
}
