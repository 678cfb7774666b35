// The native cryptography of Node.js (OpenSSL) for the agent, `attach` and the benchmark: the same boxes
// and the same X25519 as the pure-JavaScript defaults the browser keeps, only faster. Installed once per
// process with useNativeCrypto().

import { createPublicKey, diffieHellman, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { IntegrityError, fromBase64Url, setEphemeralKeys, toBase64Url, type EphemeralKey } from '../protocol/index.js';
import { useNativeAead } from './native-aead.js';

/**
 * A fresh ephemeral X25519 key in OpenSSL. The public key comes out of the key generation already encoded,
 * not exported from its key object afterwards: in Node.js 20 an export holds the key's lock while it
 * allocates, and when that allocation collects the generation's spent job as garbage, the job's destructor
 * waits for the same lock, and the thread stops for good (it happened to an agent in the tests).
 */
export function nativeEphemeral(): Required<EphemeralKey> {
  // Node.js 20 encodes a generated key as JWK; its type definitions do not say so.
  const { publicKey, privateKey } = generateKeyPairSync('x25519', { publicKeyEncoding: { format: 'jwk' } } as never) as unknown as { publicKey: JsonWebKey; privateKey: KeyObject };
  if (typeof publicKey.x !== 'string') throw new Error('OpenSSL gave no X25519 public key');
  return {
    publicKey: fromBase64Url(publicKey.x),
    agree: (peer) => {
      try {
        const theirs = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(peer) }, format: 'jwk' });
        return new Uint8Array(diffieHellman({ privateKey, publicKey: theirs }));
      } catch {
        throw new IntegrityError('handshake carries an invalid public key');
      }
    },
  };
}

/** Whether this Node.js has X25519 in OpenSSL. */
export function nativeX25519Available(): boolean {
  try {
    nativeEphemeral();
    return true;
  } catch {
    return false;
  }
}

/** Makes this process seal, open and agree keys natively wherever it can. */
export function useNativeCrypto(): void {
  useNativeAead();
  if (nativeX25519Available()) setEphemeralKeys(nativeEphemeral);
}
