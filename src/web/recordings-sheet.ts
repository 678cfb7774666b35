// Past sessions, from the sessions list: the agent's recordings (newest first) with when each started, how
// long it ran and its size; Replay takes one from the agent (sealed, like any file) and plays it
// (replay-player.ts). Text only (textContent): every name comes from elsewhere.

import type { ClientSession } from '../client/session.js';
import { clockText, percentText, sizeText, type RecordingInfo } from '../protocol/index.js';
import { castTimeline } from '../recording/cast-timeline.js';
import { byId } from './dom.js';
import { ReplayPlayer } from './replay-player.js';

export class RecordingsSheet {
  private readonly sheet = byId('recordings');
  private readonly list = byId('recording-list');
  private readonly note = byId('recordings-note');
  private readonly player: ReplayPlayer;

  constructor(
    private readonly session: () => ClientSession | undefined,
    /** The player was closed: the page gets the keyboard back. */
    closed: () => void,
  ) {
    this.player = new ReplayPlayer(closed);
    byId('recordings-close').addEventListener('click', () => this.close());
  }

  async open(): Promise<void> {
    this.sheet.hidden = false;
    this.list.replaceChildren();
    this.say('Asking the computer for its recordings…');
    try {
      const recordings = await this.session()!.listRecordings();
      this.list.replaceChildren(...recordings.map((r) => this.row(r)));
      this.say(recordings.length === 0 ? 'No recordings on this computer (sessions are recorded unless the agent runs with --no-record).' : '');
    } catch (error) {
      this.say(`The recordings could not be listed: ${(error as Error).message}`);
    }
  }

  close(): void {
    this.sheet.hidden = true;
  }

  /** Closes the sheet and the player (the page's terminal goes away). */
  dispose(): void {
    this.close();
    this.player.close();
  }

  private say(text: string): void {
    this.note.textContent = text;
    this.note.hidden = text === '';
  }

  private row(recording: RecordingInfo): HTMLElement {
    const row = document.createElement('li');
    row.className = 'session recording';
    const replay = document.createElement('button');
    replay.type = 'button';
    replay.className = 'session-open';
    const name = document.createElement('span');
    name.className = 'session-name';
    name.textContent = recording.name || recording.file;
    const when = document.createElement('span');
    when.className = 'session-state';
    when.textContent = `${new Date(recording.started_at).toLocaleString()} · ${clockText(recording.duration / 1000)}`;
    const detail = document.createElement('span');
    detail.className = 'session-detail';
    detail.textContent = `${recording.command} · ${sizeText(recording.bytes)}`;
    replay.append(name, when, detail);
    replay.setAttribute('aria-label', `Replay ${recording.name || recording.file}`);
    replay.addEventListener('click', () => void this.replay(recording));
    row.append(replay);
    return row;
  }

  private async replay(recording: RecordingInfo): Promise<void> {
    const title = recording.name || recording.file;
    try {
      this.say(`Getting ${title}…`);
      const { bytes } = await this.session()!.downloadRecording(recording.file, (done, total) => this.say(`Getting ${title}: ${percentText(done, total)}`));
      const timeline = castTimeline(new TextDecoder().decode(bytes));
      this.say('');
      this.close();
      this.player.open(`${title} · ${new Date(recording.started_at).toLocaleString()}`, timeline);
    } catch (error) {
      this.say(`${title} cannot be replayed: ${(error as Error).message}`);
    }
  }
}

