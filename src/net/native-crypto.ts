// The native cryptography of Node.js (OpenSSL) for the agent, `attach` and the benchmark: the same boxes
// and the same X25519 as the pure-JavaScript defaults the browser keeps, only faster. Installed once per
// process with useNativeCrypto().

import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { IntegrityError, fromBase64Url, setEphemeralKeys, toBase64Url, type EphemeralKey } from '../protocol/index.js';
import { useNativeAead } from './native-aead.js';

/** A fresh ephemeral X25519 key in OpenSSL. */
export function nativeEphemeral(): Required<EphemeralKey> {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    publicKey: fromBase64Url(jwk.x!),
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
