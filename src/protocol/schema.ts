// A small validator for JSON control messages: each field is a check that returns the value or throws.
// The message types in messages.ts are inferred from these checks, so the type and its validation
// cannot drift apart.

import { ProtocolError } from './codes.js';

/** Validates one value; returns it (possibly narrowed) or throws a ProtocolError naming `path`. */
export type Check<T> = (value: unknown, path: string) => T;

/** A set of field checks describing one object. */
export type Shape = Record<string, Check<unknown>>;

type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends ReturnType<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;

/** The object type a shape validates. */
export type Infer<S extends Shape> = { [K in RequiredKeys<S>]: ReturnType<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<ReturnType<S[K]>, undefined>;
};

function fail(path: string, what: string): never {
  throw new ProtocolError(`${path}: ${what}`);
}

/** A string of bounded length, optionally matching a pattern. */
export function str(opts: { min?: number; max: number; pattern?: RegExp }): Check<string> {
  return (v, path) => {
    if (typeof v !== 'string') fail(path, 'expected a string');
    if (v.length < (opts.min ?? 0) || v.length > opts.max) fail(path, `length must be ${opts.min ?? 0}..${opts.max}`);
    if (opts.pattern && !opts.pattern.test(v)) fail(path, 'has an invalid format');
    return v;
  };
}

/** `value` if `check` accepts it, else undefined (for what may be read from a message that is refused anyway). */
export function valid<T>(check: Check<T>, value: unknown): T | undefined {
  try {
    return check(value, '');
  } catch (error) {
    if (error instanceof ProtocolError) return undefined;
    throw error;
  }
}

/** An integer in [min, max]. */
export function int(min: number, max: number): Check<number> {
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, 'expected an integer');
    if (v < min || v > max) fail(path, `must be ${min}..${max}`);
    return v;
  };
}

/** A boolean. */
export const bool: Check<boolean> = (v, path) => {
  if (typeof v !== 'boolean') fail(path, 'expected a boolean');
  return v;
};

/** A finite number (timestamps echoed back, for example). */
export const num: Check<number> = (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'expected a number');
  return v;
};

/** One exact value. */
export function literal<const V extends string | number>(expected: V): Check<V> {
  return (v, path) => {
    if (v !== expected) fail(path, `must be ${JSON.stringify(expected)}`);
    return expected;
  };
}

/** One of a list of strings. */
export function oneOf<const V extends string>(values: readonly V[]): Check<V> {
  return (v, path) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(path, `must be one of ${values.join(', ')}`);
    return v as V;
  };
}

/** The check, or absent (`undefined`; `null` is accepted as absent too). */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v, path) => (v === undefined || v === null ? undefined : check(v, path));
}

/** The check, or `null`. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, path) => (v === null ? null : check(v, path));
}

/** A nested object with its own shape; unknown fields are dropped. */
export function object<S extends Shape>(shape: S): Check<Infer<S>> {
  return (v, path) => validateShape(shape, v, path);
}

/** An array of at most `max` items, each passing `check`. */
export function array<T>(check: Check<T>, opts: { max: number }): Check<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) fail(path, 'expected an array');
    if (v.length > opts.max) fail(path, `at most ${opts.max} items`);
    return v.map((item, i) => check(item, `${path}[${i}]`));
  };
}

/** Validates `value` against `shape`, returning a new object holding only the known fields. */
export function validateShape<S extends Shape>(shape: S, value: unknown, path: string): Infer<S> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'expected an object');
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) {
    const field = `${path}.${key}`;
    let checked: unknown;
    try {
      checked = shape[key]!(source[key], field);
    } catch (error) {
      // A required field that is absent says just that.
      if (source[key] === undefined && error instanceof ProtocolError) fail(field, 'missing');
      throw error;
    }
    if (checked !== undefined) out[key] = checked;
  }
  return out as Infer<S>;
}
