// Ports for the relays and balancers the helpers start. A test that stops one and starts it again on the same
// port must find that port free: ports the kernel hands out itself (port 0, and the local end of every outgoing
// connection) come from its ephemeral range (32768–60999 on Linux), so a port freed there can be taken by
// another test in between. Ports below that range, a block per worker of the pool, are taken by nobody else.

const BLOCK_START = 12_000;
const BLOCK_SIZE = 4_000;
const BLOCKS = 5;

const pool = Number(process.env.VITEST_POOL_ID ?? 1);
const first = BLOCK_START + ((pool - 1) % BLOCKS) * BLOCK_SIZE;
let next = 0;

/** The next port of this worker's block; a caller that finds it taken (by some other program) asks again. */
function nextPort(): number {
  const port = first + next;
  next = (next + 1) % BLOCK_SIZE;
  return port;
}

/**
 * Runs `listen` on `port` if given, else on ports of this worker's block until one is free; resolves with what
 * `listen` resolved. `listen` must fail with EADDRINUSE (and leave nothing open) when its port is taken.
 */
export async function listenOnOwnPort<T>(port: number | undefined, listen: (port: number) => Promise<T>): Promise<T> {
  if (port !== undefined && port !== 0) return listen(port);
  for (let tries = 1; ; tries++) {
    try {
      return await listen(nextPort());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries >= 50) throw error;
    }
  }
}
