// The handshake's ephemeral keys from the browser's own WebCrypto X25519 (native, and the private key never
// leaves it), on pages that have it: a secure context (HTTPS, or localhost) in a browser that offers X25519.
// Elsewhere (a plain-HTTP page on the local network) the pure-JavaScript implementation stays in use.

import { defaultKeyAgreement, keyMadeAhead, type AsyncEphemeral, type KeyAgreement } from '../client/channel-client.js';
import { IntegrityError } from '../protocol/index.js';

const X25519 = { name: 'X25519' } as const;

/** WebCrypto's key agreement, or undefined where this page has no WebCrypto. */
export function webCryptoAgreement(): KeyAgreement | undefined {
  const subtle = globalThis.isSecureContext ? globalThis.crypto?.subtle : undefined;
  if (!subtle) return undefined;
  let supported = true;
  return async (): Promise<AsyncEphemeral> => {
    let pair: CryptoKeyPair;
    try {
      if (!supported) return await defaultKeyAgreement();
      pair = (await subtle.generateKey(X25519, false, ['deriveBits'])) as CryptoKeyPair;
    } catch {
      supported = false; // this browser's WebCrypto has no X25519
      return defaultKeyAgreement();
    }
    const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
    return {
      publicKey,
      agree: async (peer) => {
        try {
          const theirs = await subtle.importKey('raw', peer as BufferSource, X25519, false, []);
          return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: theirs }, pair.privateKey, 256));
        } catch {
          throw new IntegrityError('handshake carries an invalid public key');
        }
      },
    };
  };
}

/**
 * The page's key agreement: WebCrypto's where the page has it, else the pure-JavaScript one, with the next
 * ephemeral key made ahead (keyMadeAhead): the first while the page opens its connection, each next one
 * after a handshake took the one before.
 */
export function pageKeyAgreement(): { agreement: KeyAgreement; dispose(): void } {
  return keyMadeAhead(webCryptoAgreement() ?? defaultKeyAgreement);
}
