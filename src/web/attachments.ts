// Photos and files from the phone to the session, and files back: the composer's paperclip picks them (the phone
// offers its camera, its photo library and its files), photos are shrunk first so that their long side is at
// most 2,000 px (unless "Photos at full size" is on), and each is sent sealed to the agent, which puts it in
// the session's upload folder; the composer then holds an `@` reference to it for Claude Code, ready to go
// with the prompt. "Get a file" takes one from the session's folder by its path and saves it on the phone.

import { percentText, sizeText } from '../protocol/index.js';
import { byId } from './dom.js';

/** What the attachments need from the page. */
export interface AttachmentsHost {
  /** Sends a file to the session shown; resolves with where the agent put it (relative to the session's folder). */
  upload(name: string, bytes: Uint8Array, progress: (done: number, size: number) => void): Promise<{ path: string }>;
  /** Takes a file from the session shown. */
  download(path: string, progress: (done: number, size: number) => void): Promise<{ name: string; bytes: Uint8Array }>;
  /** Adds text to what the composer holds. */
  insert(text: string): void;
}

/** The longest side of a photo sent, unless it is sent at full size, in pixels. */
export const MAX_PHOTO_SIDE = 2000;
/** Image types the page can shrink (others go as they are). */
const SHRINKABLE = /^image\/(jpeg|png|webp)$/;

export class Attachments {
  private readonly picker = byId('composer-files') as HTMLInputElement;
  private readonly original = byId('composer-original') as HTMLInputElement;
  private readonly status = byId('transfer-status');
  private readonly fetchForm = byId('fetch-file') as HTMLFormElement;
  private readonly fetchToggle = byId('fetch-toggle') as HTMLButtonElement;
  private readonly fetchPath = byId('fetch-path') as HTMLInputElement;
  /** One transfer after another, in the order they were asked for. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly host: AttachmentsHost) {
    byId('composer-attach').addEventListener('click', () => this.picker.click());
    this.picker.addEventListener('change', () => {
      const files = [...(this.picker.files ?? [])];
      this.picker.value = '';
      for (const file of files) this.enqueue(() => this.send(file));
    });
    this.fetchToggle.addEventListener('click', () => {
      this.fetchForm.hidden = !this.fetchForm.hidden;
      this.fetchToggle.setAttribute('aria-expanded', String(!this.fetchForm.hidden));
      if (!this.fetchForm.hidden) this.fetchPath.focus();
    });
    this.fetchForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const path = this.fetchPath.value.trim();
      if (path) this.enqueue(() => this.take(path));
    });
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task);
  }

  private async send(file: File): Promise<void> {
    try {
      this.show(`Preparing ${file.name}…`);
      const { name, bytes } = this.original.checked ? { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) } : await shrunk(file);
      const { path } = await this.host.upload(name, bytes, (done, size) => this.show(`Sending ${name}: ${percentText(done, size)}`));
      this.host.insert(`@${path} `);
      this.show(`${name} is on the computer: ${path}`);
    } catch (error) {
      this.show(`${file.name} was not sent: ${(error as Error).message}`, 'error');
    }
  }

  private async take(path: string): Promise<void> {
    try {
      this.show(`Getting ${path}…`);
      const { name, bytes } = await this.host.download(path, (done, size) => this.show(`Getting ${path}: ${percentText(done, size)}`));
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      this.show(`${name} saved (${sizeText(bytes.length)})`);
      this.fetchPath.value = '';
    } catch (error) {
      this.show(`${path} could not be taken: ${(error as Error).message}`, 'error');
    }
  }

  private show(text: string, kind: 'info' | 'error' = 'info'): void {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
    this.status.hidden = false;
  }
}

/**
 * The file as it is sent: a photo whose long side is above MAX_PHOTO_SIDE drawn again at that size (a JPEG
 * or WebP as JPEG, a PNG as PNG, turned the way the photo's own data says); anything else as it is.
 */
export async function shrunk(file: File): Promise<{ name: string; bytes: Uint8Array }> {
  const asIs = async (): Promise<{ name: string; bytes: Uint8Array }> => ({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  if (!SHRINKABLE.test(file.type)) return asIs();
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return asIs(); // not an image the browser can read: it goes as it is
  }
  const scale = MAX_PHOTO_SIDE / Math.max(bitmap.width, bitmap.height);
  if (scale >= 1) {
    bitmap.close();
    return asIs();
  }
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const png = file.type === 'image/png';
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, png ? 'image/png' : 'image/jpeg', 0.88));
  if (!blob) return asIs();
  const name = png || /\.jpe?g$/i.test(file.name) ? file.name : `${file.name.replace(/\.[^.]*$/, '')}.jpg`;
  return { name, bytes: new Uint8Array(await blob.arrayBuffer()) };
}
