// Ctrl-C and SIGTERM: the first asks for a clean stop, a second one ends the process at once.

/** Calls `stop` on the first SIGINT or SIGTERM; exits with 130 on a second. Returns a function that removes the handlers. */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Runs `run` with a signal that aborts on the first SIGINT or SIGTERM (see onStopSignal) until it settles. */
export async function untilStopSignal<T>(run: (stop: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const removeHandlers = onStopSignal(() => stop.abort());
  try {
    return await run(stop.signal);
  } finally {
    removeHandlers();
  }
}
