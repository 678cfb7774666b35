// Waiting on events with a deadline: never a fixed sleep.

/** What is awaited, for the timeout's message: a function is asked at the timeout, to describe the state then. */
export type Awaited = string | (() => string);

/** Resolves when `check` returns a value other than undefined/false, re-checking whenever `subscribe` signals. */
export function until<T>(
  subscribe: (notify: () => void) => () => void,
  check: () => T | undefined | false,
  timeoutMs: number,
  what: Awaited,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let unsubscribe: () => void = () => undefined;
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`));
    }, timeoutMs);
    const attempt = (): boolean => {
      const value = check();
      if (value === undefined || value === false) return false;
      clearTimeout(timer);
      unsubscribe();
      resolve(value as T);
      return true;
    };
    if (attempt()) return;
    unsubscribe = subscribe(() => void attempt());
  });
}

/** A list of things that happened, with a way to wait until one matching a predicate has. */
export class EventLog<E> {
  readonly items: E[] = [];
  private readonly listeners = new Set<() => void>();

  push = (item: E): void => {
    this.items.push(item);
    for (const listener of [...this.listeners]) listener();
  };

  /** Calls `listener` after every new item until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits for the first item (counting from index `from`) that matches. */
  next(match: (item: E) => boolean, timeoutMs = 10_000, what: Awaited = 'an event', from = 0): Promise<E> {
    return until(
      (notify) => {
        this.listeners.add(notify);
        return () => this.listeners.delete(notify);
      },
      () => this.items.slice(from).find(match),
      timeoutMs,
      what,
    );
  }

  /** Waits until `check` holds over everything seen so far. */
  until<T>(check: (items: E[]) => T | undefined | false, timeoutMs = 10_000, what: Awaited = 'a condition'): Promise<T> {
    return until(
      (notify) => {
        this.listeners.add(notify);
        return () => this.listeners.delete(notify);
      },
      () => check(this.items),
      timeoutMs,
      what,
    );
  }
}

/** Resolves when `check` holds, checking every 10 ms, for state that announces no event (counts inside a process). */
export function waitFor<T>(check: () => T | undefined | false, timeoutMs: number, what: Awaited): Promise<T> {
  return until(
    (notify) => {
      const timer = setInterval(notify, 10);
      return () => clearInterval(timer);
    },
    check,
    timeoutMs,
    what,
  );
}

/** `promise`'s value, or a rejection naming `what` if it takes longer than `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
