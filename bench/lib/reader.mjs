// A client reading a session's output to the end of a known file, hashing every byte: when its first and
// last bytes came, and whether it got exactly the file (openReader), or the same file once per turn
// (fileReader, for paths that take turns). A gap (it fell behind the agent's buffer) fails the waiter at once.

import { createHash } from 'node:crypto';
import { openClient } from './client.mjs';
import { waiter } from './setup.mjs';

/** What a reader that fell more than the agent's buffer behind fails with. */
const lostBytes = (who, missing) => new Error(`${who} lost ${missing} bytes: it fell more than the agent's buffer behind`);

/**
 * The part of `data` past the warm-up's `total` bytes, counting those in `progress.warm` (neither timed nor
 * hashed); pokes `warmed` once they are all there.
 */
function pastWarmUp(progress, total, data, warmed) {
  if (progress.warm >= total) return data;
  const take = Math.min(total - progress.warm, data.length);
  progress.warm += take;
  if (progress.warm === total) warmed?.poke();
  return data.subarray(take);
}

/**
 * Opens a client on `link` that reads `file.bytes` bytes, poking `w` once it has them; `who` names it in
 * errors. `warmUp`: bytes that come first (a warm-up's output), counted in `reader.warm`, neither timed nor
 * hashed; `warmed` is poked once they are all there.
 */
export async function openReader(link, file, w, who, { warmUp = 0, warmed = undefined } = {}) {
  const reader = { warm: 0, bytes: 0, first: 0n, last: 0n, hash: createHash('sha256') };
  reader.session = await openClient(link, {
    onGap: (missing) => w.fail(lostBytes(who, missing)),
    onOutput: (output) => {
      const data = pastWarmUp(reader, warmUp, output, warmed);
      if (data.length === 0) return;
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

/** `sh` arguments of the command fileReader reads from: `warmUp` on the first key, then `file` on each further one. */
export const fileOnKeys = (warmUp, file) => ['-c', `stty raw -echo; head -c1 >/dev/null; cat ${warmUp.path}; while head -c1 >/dev/null; do cat ${file.path}; done`];

/**
 * One client on `link` to an agent running fileOnKeys: `warm()` takes the warm-up (see M3), each `turn()` one
 * file, hash-checked, and says its MiB/s (first byte to last).
 */
export async function fileReader(link, file, warmUp, who) {
  const state = { warm: 0, turn: undefined, failure: undefined };
  const warmed = waiter(120_000, `${who} to receive the ${warmUp.bytes} bytes of the warm-up`);
  const fail = (error) => {
    state.failure ??= error;
    warmed.fail(error);
    state.turn?.w.fail(error);
  };
  const session = await openClient(link, {
    onGap: (missing) => fail(lostBytes(who, missing)),
    onOutput: (output) => {
      const data = pastWarmUp(state, warmUp.bytes, output, warmed);
      if (data.length === 0) return;
      const turn = state.turn;
      if (!turn || turn.bytes + data.length > file.bytes) return fail(new Error(`${who} received bytes beyond the file`));
      if (turn.bytes === 0) turn.first = process.hrtime.bigint();
      turn.bytes += data.length;
      turn.hash.update(data);
      if (turn.bytes === file.bytes) {
        turn.last = process.hrtime.bigint();
        turn.w.poke();
      }
    },
  });
  return {
    async warm() {
      session.sendData('\r');
      await warmed.until(() => state.warm >= warmUp.bytes);
    },
    async turn() {
      const turn = { bytes: 0, first: 0n, last: 0n, hash: createHash('sha256'), w: waiter(120_000, `${who} to receive ${file.bytes} bytes`) };
      state.turn = turn;
      if (state.failure) throw state.failure;
      session.sendData('\r');
      await turn.w.until(() => turn.bytes >= file.bytes);
      state.turn = undefined;
      if (turn.hash.digest('hex') !== file.sha256) throw new Error(`${who} received different bytes`);
      return file.bytes / (1 << 20) / (Number(turn.last - turn.first) / 1e9);
    },
    close: () => session.close(),
  };
}
