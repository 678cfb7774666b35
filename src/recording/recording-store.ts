// The folder of an agent's recordings (`<config dir>/recordings` unless given): how a new recording is
// named, what `ccremote recordings` lists (read from each file's header and its last event), and how old
// recordings are removed (older than the days kept, then the oldest while all of them take more than the cap).

import { open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MAX_LISTED, MAX_NAME_LENGTH, MAX_TEXT_LENGTH, isRecordingFile, printable, type RecordingInfo as ListedRecording } from '../protocol/index.js';
import { CastFormatError, parseEvent, parseHeader } from './asciicast.js';

/** Recordings are kept this many days unless told otherwise (--record-days). */
export const DEFAULT_RECORD_DAYS = 7;
/** All recordings together take at most this much unless told otherwise (--record-max); one at most a quarter. */
export const DEFAULT_RECORD_MAX_BYTES = 1 << 30;

/** The recordings folder in a config directory. */
export const recordingsDir = (configDir: string): string => join(configDir, 'recordings');

/** A file name for a recording of session `name` started at `at` (ms since the epoch): sorts by time. */
export function recordingName(name: string, at: number, unique: string): string {
  const time = new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const slug = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 40) || 'session';
  return `${time}-${slug}-${unique}.cast`;
}

/** The names of the recordings in `dir` (files ending in .cast); none if the folder does not exist. */
async function castFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.cast'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** What the list says about one recording. */
export interface RecordingInfo {
  /** Its path. */
  file: string;
  bytes: number;
  /** The session's name (the header's title), its command, its first size. */
  name?: string;
  command?: string;
  width?: number;
  height?: number;
  /** When it started, in ms since the epoch. */
  startedAt?: number;
  /** Seconds from its start to its last event. */
  duration?: number;
  /** Why it cannot be read, if it cannot. */
  problem?: string;
}

/** How much of a file's start and end is read for the list. */
const PEEK_BYTES = 64 * 1024;

/** Every recording in `dir`, oldest first; none if the folder does not exist. */
export async function listRecordings(dir: string): Promise<RecordingInfo[]> {
  const names = (await castFiles(dir)).sort();
  const list: RecordingInfo[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      list.push(await describe(file));
    } catch (error) {
      // Removed meanwhile: not listed.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return list;
}

/** The recordings in `dir` as clients get them listed: those that can be read, newest first, at most MAX_LISTED. */
export async function recordingsForClients(dir: string): Promise<ListedRecording[]> {
  return (await listRecordings(dir))
    .filter((r) => r.problem === undefined && isRecordingFile(basename(r.file)))
    .reverse()
    .slice(0, MAX_LISTED)
    .map((r) => ({
      file: basename(r.file),
      name: printable(r.name ?? '').slice(0, MAX_NAME_LENGTH * 4),
      command: printable(r.command ?? '').slice(0, MAX_TEXT_LENGTH),
      started_at: Math.max(0, r.startedAt ?? 0),
      duration: Math.round((r.duration ?? 0) * 1000),
      bytes: r.bytes,
    }));
}

async function describe(file: string): Promise<RecordingInfo> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, PEEK_BYTES));
    await handle.read(head, 0, head.length, 0);
    const firstEnd = head.indexOf(0x0a);
    if (firstEnd < 0) return { file, bytes: size, problem: 'no header line' };
    let header;
    try {
      header = parseHeader(head.subarray(0, firstEnd).toString('utf8'));
    } catch (error) {
      if (error instanceof CastFormatError) return { file, bytes: size, problem: error.message };
      throw error;
    }
    const tailStart = Math.max(firstEnd + 1, size - PEEK_BYTES);
    const tail = Buffer.alloc(size - tailStart);
    await handle.read(tail, 0, tail.length, tailStart);
    return {
      file,
      bytes: size,
      name: header.title,
      command: header.command,
      width: header.width,
      height: header.height,
      startedAt: Math.round(header.timestamp * 1000),
      duration: lastTime(tail.toString('utf8')),
    };
  } finally {
    await handle.close();
  }
}

/** The time of the last whole event in `text` (the end of a file), 0 if there is none. */
function lastTime(text: string): number {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return parseEvent(lines[i]!).time;
    } catch {
      // A line cut by the peek, or one being written: look at the one before.
    }
  }
  return 0;
}

/** What to remove. */
export interface Retention {
  /** Recordings last written longer ago than this go, in ms. */
  maxAgeMs: number;
  /** Then the oldest go while all of them take more than this. */
  maxBytes: number;
  /** Files being written now: never removed. */
  inUse?: ReadonlySet<string>;
  now?: number;
}

/** Removes what `retention` says from `dir`; returns the files removed. */
export async function pruneRecordings(dir: string, retention: Retention): Promise<string[]> {
  const names = await castFiles(dir);
  const now = retention.now ?? Date.now();
  const files: Array<{ file: string; bytes: number; mtime: number }> = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const info = await stat(file);
      if (info.isFile()) files.push({ file, bytes: info.size, mtime: info.mtimeMs });
    } catch {
      // Removed meanwhile.
    }
  }
  files.sort((a, b) => a.mtime - b.mtime);
  const removed: string[] = [];
  let total = files.reduce((sum, f) => sum + f.bytes, 0);
  for (const f of files) {
    if (retention.inUse?.has(f.file)) continue;
    if (now - f.mtime <= retention.maxAgeMs && total <= retention.maxBytes) continue;
    try {
      await unlink(f.file);
      removed.push(f.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    total -= f.bytes;
  }
  return removed;
}
