// Limits the hook command (attention-hook.ts) and the agent's end of its channel (attention-channel.ts) share.

/** The hook waits for the answer to a permission request at most this long, in ms; Claude Code's own limit for it is a minute longer. */
export const PERMISSION_WAIT_MS = 60 * 60_000;
