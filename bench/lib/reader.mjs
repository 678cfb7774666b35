// A client reading a session's output to the end of a known file, hashing every byte: when its first and
// last bytes came, and whether it got exactly the file. A gap (it fell behind the agent's buffer) fails the
// waiter at once.

import { createHash } from 'node:crypto';
import { openClient } from './client.mjs';

/**
 * Opens a client on `link` that reads `file.bytes` bytes, poking `w` once it has them; `who` names it in
 * errors. `warmUp`: bytes that come first (a warm-up's output), counted in `reader.warm`, neither timed nor
 * hashed; `warmed` is poked once they are all there.
 */
export async function openReader(link, file, w, who, { warmUp = 0, warmed = undefined } = {}) {
  const reader = { warm: 0, bytes: 0, first: 0n, last: 0n, hash: createHash('sha256') };
  reader.session = await openClient(link, {
    onGap: (missing) => w.fail(new Error(`${who} lost ${missing} bytes: it fell more than the agent's buffer behind`)),
    onOutput: (output) => {
      let data = output;
      if (reader.warm < warmUp) {
        const take = Math.min(warmUp - reader.warm, data.length);
        reader.warm += take;
        if (reader.warm === warmUp) warmed?.poke();
        data = data.subarray(take);
        if (data.length === 0) return;
      }
      if (reader.bytes === 0) reader.first = process.hrtime.bigint();
      reader.bytes += data.length;
      reader.hash.update(data);
      if (reader.bytes >= file.bytes) {
        reader.last = process.hrtime.bigint();
        w.poke();
      }
    },
  });
  return reader;
}

/** Throws unless `reader` got exactly the file; then closes it. Returns the seconds from its first byte to its last. */
export function checkAndClose(reader, file) {
  if (reader.bytes !== file.bytes || reader.hash.digest('hex') !== file.sha256) throw new Error('a client received different bytes');
  reader.session.close();
  return Number(reader.last - reader.first) / 1e9;
}
