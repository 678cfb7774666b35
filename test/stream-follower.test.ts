// The client's follower of a session's stream, on its own: what a relay may hand it and what it must refuse.
// (Whole-system cases with a hostile relay are in replay.test.ts and relay-attacks.test.ts.)

import { describe, expect, it } from 'vitest';
import { StreamFollower } from '../src/client/stream-follower.js';
import { IntegrityError, decodeFrame, randomBytes, randomId, sealOutput, sealSnapshot, snapshotKey, toBase64Url, type OutputFrame, type SnapshotFrame } from '../src/protocol/index.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('a stream follower', () => {
  it('refuses a snapshot older than what it has on the same connection, and takes a current one', () => {
    const key = randomBytes(32);
    const connection = randomBytes(32);
    const seen: string[] = [];
    const follower = new StreamFollower('screen', { output: (data) => seen.push(new TextDecoder().decode(data)), snapshot: (data) => seen.push(`[${new TextDecoder().decode(data)}]`) });
    follower.follow(1);
    follower.attach(1, randomId(), toBase64Url(key), 1);
    const frame = <T extends OutputFrame | SnapshotFrame>(sealed: Uint8Array): T => decodeFrame(sealed) as T;
    const snap = (offset: number, text: string): SnapshotFrame => frame(sealSnapshot(snapshotKey(connection, key), 1, offset, bytes(text)));
    follower.receive(snap(0, 'screen at 0'), connection);
    follower.receive(frame<OutputFrame>(sealOutput(key, 1, 0, bytes('0123456789'))), connection);
    expect(follower.offset).toBe(10);
    // A relay that recorded the first snapshot and plays it again now would show an older screen as live.
    expect(() => follower.receive(snap(0, 'screen at 0'), connection)).toThrow(IntegrityError);
    expect(() => follower.receive(snap(4, 'screen at 4'), connection)).toThrow(/snapshot at 4 is older than what was already received \(at 10\)/);
    expect(follower.offset).toBe(10);
    follower.receive(snap(10, 'screen at 10'), connection);
    expect(seen).toEqual(['[screen at 0]', '0123456789', '[screen at 10]']);
  });

  it('reports a program’s end once, though the agent tells it again to a client that comes back', () => {
    const key = randomBytes(32);
    const connection = randomBytes(32);
    const exits: number[] = [];
    const follower = new StreamFollower('bytes', { exit: (status) => exits.push(status.exit_code ?? -1) });
    const stream = randomId();
    follower.follow(1);
    follower.attach(1, stream, toBase64Url(key), 1);
    follower.receive(decodeFrame(sealOutput(key, 1, 0, bytes('bye'))) as OutputFrame, connection);
    const ended = { terminal: 1, message: 'sh exited with code 3', exit_code: 3, end: 3, run: 1, restarting: false };
    follower.exitStatus(ended);
    expect(exits).toEqual([3]);
    // The connection drops; the client comes back to the same stream, and the agent says it ended.
    follower.detach();
    follower.attach(1, stream, toBase64Url(key), 1);
    follower.exitStatus(ended);
    expect(exits).toEqual([3]);
    // A new stream of the session (the agent restarted) ends again: that is news.
    follower.attach(1, randomId(), toBase64Url(key), 1);
    follower.receive(decodeFrame(sealOutput(key, 1, 0, bytes('new'))) as OutputFrame, connection);
    follower.exitStatus({ ...ended, exit_code: 4 });
    expect(exits).toEqual([3, 4]);
  });
});
