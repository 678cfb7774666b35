// A client's side of sending files into a session's folder and taking files from it (the agent's side is
// agent/file-transfers.ts). Each transfer has an id of its own and survives lost connections: when the channel
// opens again, an upload is announced again and goes on from what the agent says it has, a download is asked
// for again from what arrived. At most TRANSFER_WINDOW chunks go unacknowledged either way.

import { TRANSFER_CHUNK, TRANSFER_WINDOW, concatBytes, fromBase64Url, randomId, toBase64Url, type AgentChannelMessage, type ClientChannelMessage } from '../protocol/index.js';

/** How far a transfer got, in bytes. */
export type Progress = (done: number, size: number) => void;

/** What the transfers need of the client session. */
export interface TransferLink {
  /** Sends a channel message if the channel is open (else nothing: the transfer goes on once it opens again). */
  send(message: ClientChannelMessage): void;
  /** Whether the channel is open now. */
  open(): boolean;
  /** A request number no other request of the session uses. */
  nextRequest(): number;
}

interface Outgoing {
  kind: 'upload';
  terminal: number;
  name: string;
  bytes: Uint8Array;
  /** Next offset to send, and what the agent has written. */
  sent: number;
  acked: number;
  /** The announcement waiting for `upload_ready`. */
  request: number | undefined;
  progress: Progress | undefined;
  resolve(result: { path: string; size: number }): void;
  reject(error: Error): void;
}

interface Incoming {
  kind: 'download';
  /** A file under a session's folder, or one of the agent's recordings. */
  source: { kind: 'session'; terminal: number; path: string } | { kind: 'recording'; file: string };
  path: string;
  name: string | undefined;
  size: number | undefined;
  chunks: Uint8Array[];
  received: number;
  request: number | undefined;
  progress: Progress | undefined;
  resolve(result: { name: string; bytes: Uint8Array }): void;
  reject(error: Error): void;
}

type Transfer = Outgoing | Incoming;

export class ClientTransfers {
  private readonly transfers = new Map<string, Transfer>();

  constructor(private readonly link: TransferLink) {}

  /** Sends `bytes` as a file named `name` into the upload folder of session `terminal`; resolves with where the agent put it (relative to the session's folder). */
  upload(terminal: number, name: string, bytes: Uint8Array, progress?: Progress): Promise<{ path: string; size: number }> {
    return new Promise((resolve, reject) => {
      const id = randomId();
      // The protocol carries a printable name of up to 255 characters (the agent makes it a safe one).
      const sent = [...name.replace(/[\p{Cc}\u2028\u2029]/gu, '_')].slice(0, 255).join('') || 'upload';
      this.transfers.set(id, { kind: 'upload', terminal, name: sent, bytes, sent: 0, acked: 0, request: undefined, progress, resolve, reject });
      this.announce(id);
    });
  }

  /** Takes the file at `path` (in session `terminal`'s folder); resolves with its name and bytes. */
  download(terminal: number, path: string, progress?: Progress): Promise<{ name: string; bytes: Uint8Array }> {
    return this.take({ kind: 'session', terminal, path }, path, progress);
  }

  /** Takes one of the agent's recordings (a file name as `recordings` lists it). */
  recording(file: string, progress?: Progress): Promise<{ name: string; bytes: Uint8Array }> {
    return this.take({ kind: 'recording', file }, file, progress);
  }

  private take(source: Incoming['source'], path: string, progress: Progress | undefined): Promise<{ name: string; bytes: Uint8Array }> {
    return new Promise((resolve, reject) => {
      const id = randomId();
      this.transfers.set(id, { kind: 'download', source, path, name: undefined, size: undefined, chunks: [], received: 0, request: undefined, progress, resolve, reject });
      this.announce(id);
    });
  }

  /** The channel opened (again): every transfer is announced again, and goes on from where the agent stands. */
  opened(): void {
    for (const id of this.transfers.keys()) this.announce(id);
  }

  /** Stops every transfer (the session closes). */
  close(): void {
    for (const [id, transfer] of [...this.transfers]) this.fail(id, transfer, new Error('The connection was closed.'), false);
  }

  /** A message of the agent about transfers; false if it is not one (or not one of these transfers). */
  receive(message: AgentChannelMessage): boolean {
    switch (message.type) {
      case 'upload_ready':
      case 'upload_ack':
      case 'upload_done':
        return this.uploadMessage(message);
      case 'download_ready':
      case 'download_data':
        return this.downloadMessage(message);
      case 'transfer_failed': {
        const transfer = this.transfers.get(message.id);
        if (!transfer) return false;
        this.fail(message.id, transfer, new Error(message.message), false);
        return true;
      }
      default:
        return false;
    }
  }

  /** A refusal of request `request`; false if no transfer asked it. */
  refused(request: number, text: string): boolean {
    for (const [id, transfer] of this.transfers) {
      if (transfer.request !== request) continue;
      this.fail(id, transfer, new Error(text), false);
      return true;
    }
    return false;
  }

  private announce(id: string): void {
    const transfer = this.transfers.get(id)!;
    if (!this.link.open()) return;
    const request = this.link.nextRequest();
    transfer.request = request;
    if (transfer.kind === 'upload') {
      this.link.send({ type: 'upload', request, id, terminal: transfer.terminal, name: transfer.name, size: transfer.bytes.length });
    } else {
      const offset = transfer.received > 0 ? { offset: transfer.received } : {};
      const { source } = transfer;
      if (source.kind === 'session') this.link.send({ type: 'download', request, id, terminal: source.terminal, path: source.path, ...offset });
      else this.link.send({ type: 'recording_download', request, id, file: source.file, ...offset });
    }
  }

  private uploadMessage(message: Extract<AgentChannelMessage, { type: 'upload_ready' | 'upload_ack' | 'upload_done' }>): boolean {
    const upload = this.transfers.get(message.id);
    if (upload?.kind !== 'upload') return false;
    if (message.type === 'upload_done') {
      this.transfers.delete(message.id);
      upload.progress?.(upload.bytes.length, upload.bytes.length);
      upload.resolve({ path: message.path, size: message.size });
      return true;
    }
    if (message.type === 'upload_ready') {
      if (message.request !== upload.request) return true; // an answer to an announcement made before a reconnection
      upload.request = undefined;
      upload.sent = upload.acked = Math.min(message.received, upload.bytes.length);
    } else {
      upload.acked = Math.max(upload.acked, Math.min(message.received, upload.sent));
    }
    upload.progress?.(upload.acked, upload.bytes.length);
    this.pump(message.id, upload);
    return true;
  }

  private pump(id: string, upload: Outgoing): void {
    while (this.link.open() && upload.request === undefined && upload.sent < upload.bytes.length && upload.sent - upload.acked < TRANSFER_WINDOW * TRANSFER_CHUNK) {
      const end = Math.min(upload.bytes.length, upload.sent + TRANSFER_CHUNK);
      this.link.send({ type: 'upload_data', id, offset: upload.sent, data: toBase64Url(upload.bytes.subarray(upload.sent, end)) });
      upload.sent = end;
    }
  }

  private downloadMessage(message: Extract<AgentChannelMessage, { type: 'download_ready' | 'download_data' }>): boolean {
    const download = this.transfers.get(message.id);
    if (download?.kind !== 'download') return false;
    if (message.type === 'download_ready') {
      if (message.request !== download.request) return true;
      download.request = undefined;
      if (message.offset !== download.received || (download.size !== undefined && download.size !== message.size)) {
        this.fail(message.id, download, new Error(`${download.path} changed while it was being taken; take it again.`), true);
        return true;
      }
      download.name = message.name;
      download.size = message.size;
      this.progressOrDone(message.id, download);
      return true;
    }
    // Data of an earlier request (before a reconnection) or out of place is not ours to keep.
    if (download.request !== undefined || message.offset !== download.received) return true;
    const data = fromBase64Url(message.data);
    if (download.received + data.length > download.size!) {
      this.fail(message.id, download, new Error('The agent sent more than the file holds.'), true);
      return true;
    }
    download.chunks.push(data);
    download.received += data.length;
    this.link.send({ type: 'download_ack', id: message.id, received: download.received });
    this.progressOrDone(message.id, download);
    return true;
  }

  private progressOrDone(id: string, download: Incoming): void {
    download.progress?.(download.received, download.size!);
    if (download.received < download.size!) return;
    this.transfers.delete(id);
    download.resolve({ name: download.name!, bytes: concatBytes(...download.chunks) });
  }

  /** Ends a transfer with `error`; `tell`: the agent is told to stop it too. */
  private fail(id: string, transfer: Transfer, error: Error, tell: boolean): void {
    this.transfers.delete(id);
    if (tell) this.link.send({ type: transfer.kind === 'upload' ? 'upload_cancel' : 'download_cancel', id });
    transfer.reject(error);
  }
}
