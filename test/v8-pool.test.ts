// When a relay tells the person starting it to size the engine's helper pool (cli/v8-pool.ts).
import { describe, expect, it } from 'vitest';
import { poolAdvice, poolSizeChosen } from '../src/cli/v8-pool.js';

describe('the V8 pool advice', () => {
  it('is given where the CPUs are fewer than the default pool and nobody chose a size', () => {
    expect(poolAdvice(1, [], undefined)).toMatch(/^this relay may use 1 CPU, fewer than the engine's 4 helper threads/);
    expect(poolAdvice(3, [], '--max-old-space-size=512')).toMatch(/may use 3 CPUs.*NODE_OPTIONS=--v8-pool-size=0/);
    expect(poolAdvice(4, [], undefined)).toBeUndefined();
    expect(poolAdvice(64, [], undefined)).toBeUndefined();
  });

  it('is not given when a size was chosen, on the command line or in NODE_OPTIONS, in either spelling', () => {
    expect(poolSizeChosen(['--v8-pool-size=2'], undefined)).toBe(true);
    expect(poolSizeChosen(['--v8-pool-size', '2'], undefined)).toBe(true);
    expect(poolSizeChosen([], ' --inspect  --v8-pool-size=0 ')).toBe(true);
    expect(poolSizeChosen(['--v8-pool-sizes=2', '--expose-gc'], '--v8-pool-size-x=1')).toBe(false);
    expect(poolAdvice(1, [], '--v8-pool-size=1')).toBeUndefined();
  });
});
