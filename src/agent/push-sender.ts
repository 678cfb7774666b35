// The agent's side of Web Push: a message for one device, encrypted for that device's subscription keys
// (RFC 8291, the aes128gcm content coding) so that the relay and the push service see only ciphertext, its
// endpoint and its size. The relay signs the request (VAPID) and sends it (relay/push-relay.ts).

import webpush from 'web-push';
import { toBase64Url } from '../protocol/index.js';

/** A device's push subscription, as the browser's PushManager gives it. */
export interface PushSubscriptionKeys {
  endpoint: string;
  /** The device's P-256 public key and its authentication secret, base64url. */
  keys: { p256dh: string; auth: string };
}

/** Largest message sent, in bytes before encryption: push services take 4,096 bytes of ciphertext. */
export const MAX_PUSH_MESSAGE = 3_000;

/** `message` as JSON, encrypted for the subscription, base64url (the `payload` of a `push` message). */
export function encryptPush(subscription: PushSubscriptionKeys, message: unknown): string {
  const json = JSON.stringify(message);
  if (Buffer.byteLength(json) > MAX_PUSH_MESSAGE) throw new RangeError(`a push message is at most ${MAX_PUSH_MESSAGE} bytes`);
  const { cipherText } = webpush.encrypt(subscription.keys.p256dh, subscription.keys.auth, json, 'aes128gcm');
  return toBase64Url(cipherText);
}
