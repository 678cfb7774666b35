// Ctrl-C and SIGTERM: the first asks for a clean stop, a second one ends the process at once.

/**
 * Runs `run` with a signal that aborts on the first SIGINT or SIGTERM, listened for from before `run` starts
 * until it settles; a second one, once the signal has aborted, exits at once with 130.
 */
export async function untilStopSignal<T>(run: (stop: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const handler = (): void => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await run(stop.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}
