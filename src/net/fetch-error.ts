// Why a fetch() failed, in a few words: the system's error code behind it (ECONNREFUSED, ENOTFOUND…), or
// its cause's message, or its own.

/** The reason a fetch() rejected with `error`. */
export function fetchFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
