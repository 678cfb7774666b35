// CPace (CPACE-RISTR255-SHA512) as implemented in src/protocol/cpace.ts, against the test vectors of
// draft-irtf-cfrg-cpace, then as ccremote uses it: the same PIN agrees, another does not, bad shares abort.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CPace, IntegrityError, generatorString, lvCat, prependLen, randomBytes, scalarMultVfy, utf8 } from '../src/protocol/index.js';

interface Vectors {
  PRS: string;
  CI: string;
  sid: string;
  generator_string: string;
  ADa: string;
  ya: string;
  Ya: string;
  ADb: string;
  yb: string;
  Yb: string;
  K: string;
  ISK_IR: string;
  valid_scalar_mult: { s: string; X: string; result: string };
  invalid_shares: string[];
  lv_cat_1234_5_empty_678: string;
  prepend_len_128: string;
}
const v = JSON.parse(readFileSync(new URL('./vectors/cpace-ristr255-sha512.json', import.meta.url), 'utf8')) as Vectors;
const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const le = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);

describe('CPace', () => {
  it('matches the draft\'s test vectors: string encodings, generator string, shares, K and ISK', () => {
    expect(toHex(lvCat(utf8('1234'), utf8('5'), new Uint8Array(0), utf8('678')))).toBe(v.lv_cat_1234_5_empty_678);
    expect(toHex(prependLen(new Uint8Array(128)).subarray(0, 2))).toBe(v.prepend_len_128);
    const inputs = { prs: hex(v.PRS), ci: hex(v.CI), sid: hex(v.sid) };
    expect(toHex(generatorString(inputs.prs, inputs.ci, inputs.sid))).toBe(v.generator_string);
    const a = new CPace('initiator', inputs, hex(v.ADa), hex(v.ya));
    const b = new CPace('responder', inputs, hex(v.ADb), hex(v.yb));
    expect(toHex(a.share)).toBe(v.Ya);
    expect(toHex(b.share)).toBe(v.Yb);
    expect(toHex(scalarMultVfy(le(hex(v.ya)), b.share))).toBe(v.K);
    expect(toHex(a.finish(b.share, hex(v.ADb)))).toBe(v.ISK_IR);
    expect(toHex(b.finish(a.share, hex(v.ADa)))).toBe(v.ISK_IR);
    const { s, X, result } = v.valid_scalar_mult;
    expect(toHex(scalarMultVfy(le(hex(s)), hex(X)))).toBe(result);
    for (const bad of v.invalid_shares) {
      expect(toHex(scalarMultVfy(le(hex(s)), hex(bad)))).toBe('00'.repeat(32));
      expect(() => a.finish(hex(bad), hex(v.ADb))).toThrow(IntegrityError);
    }
  });

  it('agrees only when both sides used the same PIN, channel and session', () => {
    const sid = randomBytes(16);
    const ci = utf8('ccremote test');
    const run = (pinA: string, pinB: string, sidB = sid): boolean => {
      const a = new CPace('initiator', { prs: utf8(pinA), ci, sid });
      const b = new CPace('responder', { prs: utf8(pinB), ci, sid: sidB });
      return toHex(a.finish(b.share)) === toHex(b.finish(a.share));
    };
    expect(run('483921', '483921')).toBe(true);
    expect(run('483921', '483922')).toBe(false);
    expect(run('483921', '483921', randomBytes(16))).toBe(false);
    // Shares are fresh every time, whatever the PIN.
    const one = new CPace('initiator', { prs: utf8('483921'), ci, sid });
    const two = new CPace('initiator', { prs: utf8('483921'), ci, sid });
    expect(toHex(one.share)).not.toBe(toHex(two.share));
  });
});
