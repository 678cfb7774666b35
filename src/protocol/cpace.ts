// CPace, the balanced password-authenticated key exchange of draft-irtf-cfrg-cpace, with the cipher suite
// CPACE-RISTR255-SHA512 in the initiator-responder setting, over @noble/curves and @noble/hashes. A device
// pairing with a link that needs a PIN runs it with the agent before the Noise handshake (channel.ts): the
// PIN becomes a shared key only if both sides typed the same one, and nobody who watches, or even talks to
// one side, can test a guess without the other side's help. So a PIN can only be guessed online, one guess
// per exchange, and the agent counts those. Checked against the draft's test vectors (test/cpace.test.ts).

import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes, utf8 } from './encoding.js';
import { IntegrityError } from './seal.js';

/** Domain-separation identifier of the group. */
const DSI = utf8('CPaceRistretto255');
const DSI_ISK = utf8('CPaceRistretto255_ISK');
/** Input block size of SHA-512, in bytes. */
const S_IN_BYTES = 128;
/** Bytes of an encoded group element. */
export const CPACE_SHARE_BYTES = 32;
const ORDER = ristretto255.Point.Fn.ORDER;
const IDENTITY = new Uint8Array(CPACE_SHARE_BYTES);

/** `data` with its length in front, LEB128. */
export function prependLen(data: Uint8Array): Uint8Array {
  const length: number[] = [];
  let n = data.length;
  do {
    length.push(n < 128 ? n : (n & 0x7f) | 0x80);
    n >>= 7;
  } while (n > 0);
  return concatBytes(Uint8Array.from(length), data);
}

/** Length-value concatenation. */
export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.map(prependLen));
}

/** The string the generator is hashed from: DSI, PRS, zero padding filling the first hash block, CI, sid. */
export function generatorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  const zpad = Math.max(0, S_IN_BYTES - 1 - prependLen(prs).length - prependLen(DSI).length);
  return lvCat(DSI, prs, new Uint8Array(zpad), ci, sid);
}

function generator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array) {
  return ristretto255_hasher.deriveToCurve!(sha512(generatorString(prs, ci, sid)));
}

function scalarOf(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value % ORDER;
}

/** A fresh scalar: 32 random bytes with the bits above the group's 252 cleared, little-endian. */
function sampleScalar(): Uint8Array {
  const bytes = randomBytes(32);
  bytes[31]! &= 0x0f;
  return bytes;
}

/** The inputs both sides must share: the password-related string, the channel identifier and the session id. */
export interface CPaceInputs {
  /** The password-related string (here: the PIN, NFKC, UTF-8). */
  prs: Uint8Array;
  /** The channel identifier: binds the exchange to one agent and link (never sent). */
  ci: Uint8Array;
  /** A public, fresh session identifier, the same on both sides. */
  sid: Uint8Array;
}

/** One side of one CPace exchange. */
export class CPace {
  private readonly y: bigint;
  /** This side's public share (Ya or Yb), sent to the other side with its associated data. */
  readonly share: Uint8Array;

  /** `scalar`: the secret scalar, little-endian (tests only; normally fresh and random). */
  constructor(
    readonly role: 'initiator' | 'responder',
    private readonly inputs: CPaceInputs,
    /** This side's associated data (ADa or ADb), sent in the clear and authenticated by the exchange. */
    readonly ad: Uint8Array = new Uint8Array(0),
    scalar: Uint8Array = sampleScalar(),
  ) {
    this.y = scalarOf(scalar);
    if (this.y === 0n) throw new RangeError('CPace scalar is zero');
    this.share = generator(inputs.prs, inputs.ci, inputs.sid).multiply(this.y).toBytes();
  }

  /**
   * The intermediate session key (64 bytes) from the other side's share and associated data. Throws
   * IntegrityError for a share that is not a valid encoding or gives the neutral element (the protocol aborts).
   */
  finish(theirShare: Uint8Array, theirAd: Uint8Array = new Uint8Array(0)): Uint8Array {
    const k = scalarMultVfy(this.y, theirShare);
    if (k.every((b) => b === 0)) throw new IntegrityError('PIN exchange: the other side sent an invalid share');
    const [ya, ada, yb, adb] = this.role === 'initiator' ? [this.share, this.ad, theirShare, theirAd] : [theirShare, theirAd, this.share, this.ad];
    return sha512(concatBytes(lvCat(DSI_ISK, this.inputs.sid, k), lvCat(ya, ada), lvCat(yb, adb)));
  }
}

/** y·X for an encoded element X; the encoding of the neutral element if X does not decode. */
export function scalarMultVfy(y: bigint, encoded: Uint8Array): Uint8Array {
  let point;
  try {
    point = ristretto255.Point.fromBytes(encoded);
  } catch {
    return IDENTITY;
  }
  if (point.is0()) return IDENTITY;
  return point.multiply(y).toBytes();
}

