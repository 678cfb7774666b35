// The Noise handshake every client connection runs with the agent: Noise_NNpsk0_25519_ChaChaPoly_SHA256
// from the Noise Protocol Framework (revision 34), over audited primitives (@noble/curves X25519,
// @noble/ciphers ChaCha20-Poly1305, @noble/hashes SHA-256 and HMAC). Both sides hold a pre-shared key
// derived from the credential the client presents (channel.ts); each brings a fresh ephemeral key, so the
// keys that come out are new for every connection and past traffic stays unreadable whatever leaks later.
//
//   -> psk, e          client → agent: its ephemeral key; the payload is sealed with the PSK only
//   <- e, ee           agent → client: its ephemeral key; the payload is sealed after the DH
//
// Checked against the published test vectors of this pattern (test/noise.test.ts).

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { IntegrityError } from './seal.js';
import { concatBytes, utf8 } from './encoding.js';

/** The protocol name, hashed into every handshake. */
export const NOISE_PROTOCOL = 'Noise_NNpsk0_25519_ChaChaPoly_SHA256';
const HASH_LEN = 32;
const DH_LEN = 32;
const TAG_LEN = 16;
/** Largest Noise message (the specification's limit). */
export const MAX_NOISE_MESSAGE = 65535;

/** The Noise HKDF: HMAC-SHA256 chained, `count` outputs of 32 bytes. */
function hkdf(chainingKey: Uint8Array, input: Uint8Array, count: 2 | 3): Uint8Array[] {
  const temp = hmac(sha256, chainingKey, input);
  const out: Uint8Array[] = [];
  let previous = new Uint8Array(0);
  for (let i = 1; i <= count; i++) {
    previous = hmac(sha256, temp, concatBytes(previous, Uint8Array.of(i)));
    out.push(previous);
  }
  return out;
}

/** The 96-bit ChaCha20-Poly1305 nonce Noise uses: 32 zero bits, then the counter, little-endian. */
function nonceOf(n: number): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(n), true);
  return nonce;
}

/** A Noise CipherState: a key and a counter. Used for the handshake, and (for the test vectors) for transport. */
export class NoiseCipher {
  private n = 0;
  constructor(private readonly k: Uint8Array) {}

  encrypt(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return chacha20poly1305(this.k, nonceOf(this.n++), ad).encrypt(plaintext);
  }

  decrypt(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    try {
      return chacha20poly1305(this.k, nonceOf(this.n++), ad).decrypt(ciphertext);
    } catch {
      throw new IntegrityError('handshake message failed authentication: another key, or altered');
    }
  }
}

/** An ephemeral X25519 key: its public half, and Diffie-Hellman with a peer's public key (undefined: done elsewhere, see readMessage). */
export interface EphemeralKey {
  publicKey: Uint8Array;
  agree?(peerPublic: Uint8Array): Uint8Array;
}

/** An ephemeral key in pure JavaScript (@noble/curves); `secretKey` for tests only. */
export function nobleEphemeral(secretKey: Uint8Array = x25519.utils.randomSecretKey()): Required<EphemeralKey> {
  return {
    publicKey: x25519.getPublicKey(secretKey),
    agree: (peer) => {
      try {
        return x25519.getSharedSecret(secretKey, peer);
      } catch {
        throw new IntegrityError('handshake carries an invalid public key');
      }
    },
  };
}

let ephemeralKeys: () => Required<EphemeralKey> = () => nobleEphemeral();

/** Replaces how fresh ephemeral keys are made (a native implementation; the same keys); undefined restores the default. */
export function setEphemeralKeys(factory: (() => Required<EphemeralKey>) | undefined): void {
  ephemeralKeys = factory ?? (() => nobleEphemeral());
}

/** A fresh ephemeral key, from the implementation in use. */
export function newEphemeralKey(): Required<EphemeralKey> {
  return ephemeralKeys();
}

/** The peer's ephemeral public key at the start of a handshake message (to agree with it elsewhere first). */
export function peerEphemeral(message: Uint8Array): Uint8Array {
  if (message.length < DH_LEN + TAG_LEN) throw new IntegrityError('handshake message too short');
  return message.slice(0, DH_LEN);
}

/** A Diffie-Hellman result, refused if all zero: the peer sent a low-order point (RFC 7748 §6.1). */
function checkedShared(shared: Uint8Array): Uint8Array {
  if (shared.length !== DH_LEN || shared.every((b) => b === 0)) throw new IntegrityError('handshake carries an invalid public key');
  return shared;
}

/** The two keys a finished handshake yields: the initiator's sending key, and the responder's. */
export interface NoiseKeys {
  initiator: Uint8Array;
  responder: Uint8Array;
}

/** One side of one NNpsk0 handshake. Each instance is used once, for exactly two messages. */
export class NoiseHandshake {
  private h: Uint8Array;
  private ck: Uint8Array;
  private cipher: NoiseCipher | undefined;
  private readonly e: EphemeralKey;
  private re: Uint8Array | undefined;
  private step = 0;

  /**
   * `psk`: 32 bytes both sides share; `prologue`: data both sides must agree on (bound into the handshake,
   * not sent); `ephemeral`: this side's ephemeral key (normally fresh, from newEphemeralKey; a secret key
   * given as bytes is for test vectors).
   */
  constructor(
    readonly role: 'initiator' | 'responder',
    private readonly psk: Uint8Array,
    prologue: Uint8Array,
    ephemeral: EphemeralKey | Uint8Array = newEphemeralKey(),
  ) {
    if (psk.length !== 32) throw new RangeError('a Noise PSK is 32 bytes');
    const name = utf8(NOISE_PROTOCOL);
    this.h = name.length <= HASH_LEN ? concatBytes(name, new Uint8Array(HASH_LEN - name.length)) : sha256(name);
    this.ck = this.h;
    this.mixHash(prologue);
    this.e = ephemeral instanceof Uint8Array ? nobleEphemeral(ephemeral) : ephemeral;
  }

  /** The handshake hash: a digest of everything exchanged, the same on both sides once it is done. */
  get hash(): Uint8Array {
    return this.h;
  }

  /** Writes the next message this side sends, carrying `payload`. */
  writeMessage(payload: Uint8Array): Uint8Array {
    if (this.role === 'initiator' && this.step === 0) {
      this.mixPsk();
      this.sendEphemeral();
    } else if (this.role === 'responder' && this.step === 1) {
      this.sendEphemeral();
      this.mixKey(this.dh(this.re!));
    } else {
      throw new Error('no message to write at this point of the handshake');
    }
    this.step++;
    return concatBytes(this.e.publicKey, this.encryptAndHash(payload));
  }

  /**
   * Reads the next message from the other side and returns its payload; IntegrityError if it does not
   * authenticate. `shared`: the Diffie-Hellman of this side's ephemeral key with the peer's (peerEphemeral),
   * when computed elsewhere (an asynchronous implementation).
   */
  readMessage(message: Uint8Array, shared?: Uint8Array): Uint8Array {
    const re = peerEphemeral(message);
    if (this.role === 'responder' && this.step === 0) {
      this.mixPsk();
      this.receiveEphemeral(re);
    } else if (this.role === 'initiator' && this.step === 1) {
      this.receiveEphemeral(re);
      this.mixKey(shared === undefined ? this.dh(re) : checkedShared(shared));
    } else {
      throw new Error('no message to read at this point of the handshake');
    }
    this.step++;
    return this.decryptAndHash(message.subarray(DH_LEN));
  }

  /** Once both messages went through: the transport keys (Split). */
  split(): NoiseKeys {
    if (this.step !== 2) throw new Error('the handshake is not finished');
    const [initiator, responder] = hkdf(this.ck, new Uint8Array(0), 2) as [Uint8Array, Uint8Array];
    return { initiator, responder };
  }

  private dh(publicKey: Uint8Array): Uint8Array {
    if (!this.e.agree) throw new Error('this ephemeral key agrees elsewhere: pass the shared secret');
    return checkedShared(this.e.agree(publicKey));
  }

  private sendEphemeral(): void {
    this.mixHash(this.e.publicKey);
    this.mixKey(this.e.publicKey); // PSK handshakes mix ephemeral keys into the key too
  }

  private receiveEphemeral(re: Uint8Array): void {
    this.re = Uint8Array.from(re);
    this.mixHash(this.re);
    this.mixKey(this.re);
  }

  private mixHash(data: Uint8Array): void {
    this.h = sha256(concatBytes(this.h, data));
  }

  private mixKey(input: Uint8Array): void {
    const [ck, k] = hkdf(this.ck, input, 2) as [Uint8Array, Uint8Array];
    this.ck = ck;
    this.cipher = new NoiseCipher(k);
  }

  private mixPsk(): void {
    const [ck, h, k] = hkdf(this.ck, this.psk, 3) as [Uint8Array, Uint8Array, Uint8Array];
    this.ck = ck;
    this.mixHash(h);
    this.cipher = new NoiseCipher(k);
  }

  private encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher!.encrypt(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  private decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher!.decrypt(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }
}
