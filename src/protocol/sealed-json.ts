// A JSON value sealed end to end and carried as base64url inside a control message (attention events,
// exit statuses): the relay passes it on unread.
//
//   box = base64url( nonce (24) | sealed JSON | tag (16) )

import { ProtocolError } from './codes.js';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.js';
import { SEAL_OVERHEAD, open, sealInto } from './seal.js';
import { validateShape, type Infer, type Shape } from './schema.js';

/** Longest box, in base64url characters. */
export const MAX_SEALED_JSON = 4096;

/** Seals `value` as JSON under `key` with `aad`; RangeError if the box would be longer than MAX_SEALED_JSON. */
export function sealJson(key: Uint8Array, aad: Uint8Array, value: unknown): string {
  const plaintext = utf8(JSON.stringify(value));
  const box = new Uint8Array(plaintext.length + SEAL_OVERHEAD);
  sealInto(key, aad, plaintext, box, 0);
  const text = toBase64Url(box);
  if (text.length > MAX_SEALED_JSON) throw new RangeError(`sealed box longer than ${MAX_SEALED_JSON} characters`);
  return text;
}

/** Opens a box made by sealJson and validates what it holds: IntegrityError if it does not open, ProtocolError if malformed. */
export function openJson<S extends Shape>(key: Uint8Array, aad: Uint8Array, box: string, shape: S, label: string): Infer<S> {
  if (box.length > MAX_SEALED_JSON) throw new ProtocolError(`${label} box longer than ${MAX_SEALED_JSON} characters`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(box);
  } catch {
    throw new ProtocolError(`${label} box is not base64url`);
  }
  const plaintext = open(key, aad, bytes, label);
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(plaintext));
  } catch {
    throw new ProtocolError(`${label} is not JSON`);
  }
  return validateShape(shape, value, label);
}
