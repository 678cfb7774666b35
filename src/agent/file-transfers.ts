// Files sent from a client into a session's folder, and files taken back from it, in sealed channel messages
// (protocol/channel.ts: upload…, download…). An upload is announced with its name and size before any of it
// (a file above --max-upload is refused then), written to a hidden part file in the session's upload folder
// (`.ccremote/uploads` in the session's folder unless --upload-dir says otherwise, with a .gitignore), and
// put in place under a name of its own once complete; the name sent is only ever a name, never a path. A
// client that lost its connection announces the same upload again and goes on from what arrived: nothing is
// sent twice. A download is any regular file whose real path is under the session's folder. Both go at most
// TRANSFER_WINDOW chunks ahead of what the other side acknowledged, so the relay holds little of them.

import { constants, type Stats } from 'node:fs';
import { link, mkdir, open, realpath, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { isInside } from './inside-folder.js';
import { TRANSFER_CHUNK, TRANSFER_WINDOW, fromBase64Url, sizeText, toBase64Url, type AgentChannelMessage, type ClientChannelMessage } from '../protocol/index.js';

/** The messages this module serves. */
export type TransferMessage = Extract<ClientChannelMessage, { type: 'upload' | 'upload_data' | 'upload_cancel' | 'download' | 'download_ack' | 'download_cancel' | 'recording_download' }>;

/** Files up to this size are taken and given unless told otherwise (--max-upload). */
export const DEFAULT_MAX_UPLOAD = 25 << 20;
/** Where uploads go in a session's folder unless told otherwise (--upload-dir). */
export const DEFAULT_UPLOAD_DIR = join('.ccremote', 'uploads');
/** An upload nothing arrived for in this long is dropped (its part file removed), in ms. */
const UPLOAD_IDLE_MS = 10 * 60_000;
/** Uploads put in place whose `upload_done` is told again to a client that announces one again (its answer lost with its connection). */
const FINISHED_KEPT = 64;

export interface TransferSettings {
  maxBytes: number;
  /** Relative: inside each session's folder; absolute: that folder. */
  uploadDir: string;
  /** The recordings folder (recordings are taken from it by name); undefined: sessions are not recorded. */
  recordings: string | undefined;
}

export interface TransferEvents {
  send(client: number, message: AgentChannelMessage): void;
  /** The folder of a session, if there is that session. */
  folder(terminal: number): string | undefined;
  /** A file arrived, or was taken (for the agent's terminal). */
  done(what: { direction: 'received' | 'sent'; terminal: number; path: string; size: number }): void;
}

/** What a client proved at its channel: the client session it belongs to (stable across reconnects). */
export interface TransferClient {
  number: number;
  session: string;
}

/** A refusal meant for the person who asked. */
export class TransferRefused extends Error {
  override name = 'TransferRefused';
}

interface Upload {
  owner: string;
  terminal: number;
  /** The name as sent (an upload announced again must match it), and the name the file gets. */
  name: string;
  safeName: string;
  size: number;
  received: number;
  folder: string;
  dir: string;
  part: string;
  handle: FileHandle;
  /** Writes in order, one at a time. */
  writing: Promise<void>;
  idle: ReturnType<typeof setTimeout>;
}

interface Download {
  client: number;
  /** The session whose folder it is in (none for a recording). */
  terminal: number | undefined;
  path: string;
  handle: FileHandle;
  size: number;
  sent: number;
  acked: number;
  reading: boolean;
}

export class FileTransfers {
  private readonly uploads = new Map<string, Upload>();
  private readonly downloads = new Map<string, Download>();
  /** The latest uploads put in place, by id: what their `upload_done` said, and whose they were. */
  private readonly finished = new Map<string, { owner: string; terminal: number; name: string; size: number; path: string }>();

  constructor(
    private readonly settings: TransferSettings,
    private readonly events: TransferEvents,
  ) {}

  /** Serves a transfer message of a client with full access; throws TransferRefused (or a system error) for `upload` and `download` that cannot be done. */
  async serve(client: TransferClient, message: TransferMessage): Promise<void> {
    switch (message.type) {
      case 'upload':
        return this.startUpload(client, message);
      case 'upload_data':
        return this.uploadData(client, message);
      case 'upload_cancel': {
        const upload = this.uploads.get(message.id);
        if (upload?.owner === client.session) await this.dropUpload(message.id, upload);
        return;
      }
      case 'download': {
        const folder = this.events.folder(message.terminal);
        if (folder === undefined) throw new TransferRefused(`There is no session ${message.terminal} (any more).`);
        return this.startDownload(client, message, folder, message.path, message.terminal);
      }
      case 'recording_download':
        if (this.settings.recordings === undefined) throw new TransferRefused('This computer does not record its sessions (the agent runs with --no-record).');
        return this.startDownload(client, message, this.settings.recordings, message.file, undefined);
      case 'download_ack': {
        const download = this.downloads.get(message.id);
        if (!download || download.client !== client.number) return;
        download.acked = Math.max(download.acked, Math.min(message.received, download.sent));
        return this.pump(message.id, download);
      }
      case 'download_cancel': {
        const download = this.downloads.get(message.id);
        if (download?.client === client.number) await this.endDownload(message.id, download);
        return;
      }
    }
  }

  /** A client's connection is gone: its downloads stop (it asks again from what it has); its uploads wait for it. */
  async clientLeft(client: number): Promise<void> {
    for (const [id, download] of [...this.downloads]) if (download.client === client) await this.endDownload(id, download);
  }

  /** Stops every transfer; what arrived of unfinished uploads is removed. */
  async close(): Promise<void> {
    await Promise.all([...[...this.uploads].map(([id, upload]) => this.dropUpload(id, upload)), ...[...this.downloads].map(([id, download]) => this.endDownload(id, download))]);
  }

  private async startUpload(client: TransferClient, message: Extract<TransferMessage, { type: 'upload' }>): Promise<void> {
    const finished = this.finished.get(message.id);
    if (finished) {
      if (finished.owner !== client.session || finished.terminal !== message.terminal || finished.size !== message.size || finished.name !== message.name) {
        throw new TransferRefused('That upload belongs to another client.');
      }
      // Announced again after it was put in place: its answer was lost with the connection; it is not taken twice.
      this.events.send(client.number, { type: 'upload_ready', request: message.request, id: message.id, received: finished.size });
      this.events.send(client.number, { type: 'upload_done', id: message.id, path: finished.path, size: finished.size });
      return;
    }
    const known = this.uploads.get(message.id);
    if (known) {
      if (known.owner !== client.session || known.terminal !== message.terminal || known.size !== message.size || known.name !== message.name) {
        throw new TransferRefused('That upload belongs to another client.');
      }
      await known.writing;
      this.events.send(client.number, { type: 'upload_ready', request: message.request, id: message.id, received: known.received });
      return;
    }
    if (message.size > this.settings.maxBytes) {
      throw new TransferRefused(`${message.name} is ${sizeText(message.size)}; this computer takes files up to ${sizeText(this.settings.maxBytes)} (the agent's --max-upload).`);
    }
    const folder = this.events.folder(message.terminal);
    if (folder === undefined) throw new TransferRefused(`There is no session ${message.terminal} (any more).`);
    const dir = await this.uploadFolder(folder);
    const part = join(dir, `.${message.id}.part`);
    const handle = await open(part, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    const upload: Upload = {
      owner: client.session,
      terminal: message.terminal,
      name: message.name,
      safeName: safeFileName(message.name),
      size: message.size,
      received: 0,
      folder,
      dir,
      part,
      handle,
      writing: Promise.resolve(),
      idle: this.idleTimer(message.id),
    };
    upload.idle.unref();
    this.uploads.set(message.id, upload);
    this.events.send(client.number, { type: 'upload_ready', request: message.request, id: message.id, received: 0 });
    if (message.size === 0) await this.finishUpload(client.number, message.id, upload);
  }

  private uploadData(client: TransferClient, message: Extract<TransferMessage, { type: 'upload_data' }>): Promise<void> {
    const upload = this.uploads.get(message.id);
    if (!upload || upload.owner !== client.session) {
      this.events.send(client.number, { type: 'transfer_failed', id: message.id, message: 'The agent has no such upload (it was dropped, or the agent restarted): send the file again.' });
      return Promise.resolve();
    }
    upload.writing = upload.writing.then(async () => {
      if (this.uploads.get(message.id) !== upload) return;
      // Sent again after a reconnection that raced the acknowledgement: it is there already.
      if (message.offset < upload.received) return this.events.send(client.number, { type: 'upload_ack', id: message.id, received: upload.received });
      const data = fromBase64Url(message.data);
      if (message.offset > upload.received || upload.received + data.length > upload.size) {
        await this.dropUpload(message.id, upload);
        return this.events.send(client.number, { type: 'transfer_failed', id: message.id, message: 'The upload came out of order or longer than announced; it was dropped.' });
      }
      try {
        await upload.handle.write(data, 0, data.length, upload.received);
      } catch (error) {
        await this.dropUpload(message.id, upload);
        return this.events.send(client.number, { type: 'transfer_failed', id: message.id, message: `The file could not be written: ${(error as Error).message}` });
      }
      upload.received += data.length;
      upload.idle.refresh();
      this.events.send(client.number, { type: 'upload_ack', id: message.id, received: upload.received });
      if (upload.received === upload.size) await this.finishUpload(client.number, message.id, upload);
    });
    return upload.writing;
  }

  /** Puts a complete upload in place under a name no other file has, and says where. */
  private async finishUpload(client: number, id: string, upload: Upload): Promise<void> {
    this.uploads.delete(id);
    clearTimeout(upload.idle);
    await upload.handle.close();
    const name = upload.safeName;
    const ext = extname(name);
    const stem = name.slice(0, name.length - ext.length);
    for (let n = 1; ; n++) {
      const path = join(upload.dir, n === 1 ? name : `${stem}-${n}${ext}`);
      try {
        // A link never replaces a file that is there: the first free name takes it.
        await link(upload.part, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST' && n < 1000) continue;
        await unlink(upload.part).catch(() => undefined);
        this.events.send(client, { type: 'transfer_failed', id, message: `The file could not be put in place: ${(error as Error).message}` });
        return;
      }
      await unlink(upload.part);
      const shown = relative(upload.folder, path);
      const told = shown.startsWith('..') ? path : shown;
      this.finished.set(id, { owner: upload.owner, terminal: upload.terminal, name: upload.name, size: upload.size, path: told });
      if (this.finished.size > FINISHED_KEPT) this.finished.delete(this.finished.keys().next().value!);
      this.events.send(client, { type: 'upload_done', id, path: told, size: upload.size });
      this.events.done({ direction: 'received', terminal: upload.terminal, path, size: upload.size });
      return;
    }
  }

  private async dropUpload(id: string, upload: Upload): Promise<void> {
    if (this.uploads.get(id) !== upload) return;
    this.uploads.delete(id);
    clearTimeout(upload.idle);
    await upload.handle.close().catch(() => undefined);
    await unlink(upload.part).catch(() => undefined);
  }

  private idleTimer(id: string): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      const upload = this.uploads.get(id);
      if (upload) void this.dropUpload(id, upload);
    }, UPLOAD_IDLE_MS);
  }

  /** The session's upload folder, made if needed; one inside the session's folder must stay inside it (no link out). */
  private async uploadFolder(folder: string): Promise<string> {
    const inside = !isAbsolute(this.settings.uploadDir);
    const dir = resolve(folder, this.settings.uploadDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (inside) {
      const [realFolder, realDir] = await Promise.all([realpath(folder), realpath(dir)]);
      if (!isInside(realFolder, realDir)) throw new TransferRefused(`The upload folder ${this.settings.uploadDir} leads out of the session's folder; files are not written there.`);
      if (this.settings.uploadDir === DEFAULT_UPLOAD_DIR) {
        // Git ignores everything ccremote keeps in a project.
        await writeFile(join(dirname(dir), '.gitignore'), '*\n', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
      }
    }
    return dir;
  }

  /** Sends the file at `path` under `folder` (a session's, or the recordings folder). */
  private async startDownload(
    client: TransferClient,
    message: { request: number; id: string; offset?: number | undefined },
    folder: string,
    path: string,
    terminal: number | undefined,
  ): Promise<void> {
    const where = terminal === undefined ? 'the recordings' : "the session's folder";
    let real: string;
    let info: Stats;
    try {
      const [realFolder, realFile] = await Promise.all([realpath(folder), realpath(resolve(folder, path))]);
      real = realFile;
      if (!isInside(realFolder, real)) throw new TransferRefused(`${path} is not under ${where}; only files there can be taken.`);
      info = await stat(real);
    } catch (error) {
      if (error instanceof TransferRefused) throw error;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new TransferRefused(`There is no file ${path} in ${where}.`);
      throw error;
    }
    if (!info.isFile()) throw new TransferRefused(`${path} is not a file.`);
    if (info.size > this.settings.maxBytes) throw new TransferRefused(`${path} is ${sizeText(info.size)}; this computer gives files up to ${sizeText(this.settings.maxBytes)} (the agent's --max-upload).`);
    const offset = Math.min(message.offset ?? 0, info.size);
    const old = this.downloads.get(message.id);
    if (old) await this.endDownload(message.id, old);
    const handle = await open(real, 'r');
    const download: Download = { client: client.number, terminal, path: real, handle, size: info.size, sent: offset, acked: offset, reading: false };
    this.downloads.set(message.id, download);
    this.events.send(client.number, { type: 'download_ready', request: message.request, id: message.id, name: basename(real), size: info.size, offset });
    await this.pump(message.id, download);
  }

  /** Sends what the window allows; ends the download once all of it was acknowledged. */
  private async pump(id: string, download: Download): Promise<void> {
    if (download.reading) return;
    download.reading = true;
    try {
      while (this.downloads.get(id) === download && download.sent < download.size && download.sent - download.acked < TRANSFER_WINDOW * TRANSFER_CHUNK) {
        const chunk = Buffer.allocUnsafe(Math.min(TRANSFER_CHUNK, download.size - download.sent));
        const { bytesRead } = await download.handle.read(chunk, 0, chunk.length, download.sent);
        if (this.downloads.get(id) !== download) return;
        if (bytesRead === 0) {
          await this.endDownload(id, download);
          return this.events.send(download.client, { type: 'transfer_failed', id, message: 'The file got shorter while it was being sent.' });
        }
        this.events.send(download.client, { type: 'download_data', id, offset: download.sent, data: toBase64Url(chunk.subarray(0, bytesRead)) });
        download.sent += bytesRead;
      }
    } finally {
      download.reading = false;
    }
    if (download.acked === download.size && this.downloads.get(id) === download) {
      await this.endDownload(id, download);
      if (download.terminal !== undefined) this.events.done({ direction: 'sent', terminal: download.terminal, path: download.path, size: download.size });
    }
  }

  private async endDownload(id: string, download: Download): Promise<void> {
    if (this.downloads.get(id) !== download) return;
    this.downloads.delete(id);
    await download.handle.close().catch(() => undefined);
  }
}

/**
 * A name that is only a name: the last part of whatever path arrived, without control characters, leading
 * dots (no hidden files, no "..") or characters file systems refuse, at most 120 characters; "upload" if
 * nothing is left.
 */
export function safeFileName(sent: string): string {
  const last = sent.split(/[/\\]/).pop() ?? '';
  const cleaned = last
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}<>:"|?*]/gu, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  const ext = extname(cleaned).slice(0, 16);
  const stem = cleaned.slice(0, cleaned.length - extname(cleaned).length).slice(0, 120 - ext.length);
  return stem ? stem + ext : `upload${ext}`;
}
