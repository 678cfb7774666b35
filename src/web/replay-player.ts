// The player for a past session (recording/cast-timeline.ts), in the page's own xterm.js at the recording's
// size: play and pause, speed, a position slider, and a jump to the next moment Claude Code waited for the
// person. Seeking draws everything up to that moment at once; playing then writes each event at its time.

import { Terminal } from '@xterm/xterm';
import type { ScreenEvent, Timeline } from '../recording/cast-timeline.js';
import { byId } from './dom.js';
import { clockText } from '../protocol/index.js';

export class ReplayPlayer {
  private readonly section = byId('player');
  private readonly playButton = byId('player-play') as HTMLButtonElement;
  private readonly seekInput = byId('player-seek') as HTMLInputElement;
  private readonly timeText = byId('player-time');
  private readonly speedSelect = byId('player-speed') as HTMLSelectElement;
  private readonly nextWait = byId('player-next-wait') as HTMLButtonElement;
  private term: Terminal | undefined;
  private timeline: Timeline | undefined;
  /** The next event to give the screen. */
  private index = 0;
  /** The recording's time shown when paused; while playing, where the clock started. */
  private time = 0;
  private playing = false;
  private startedWall = 0;
  private speed = 1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Writes and resizes, in order (xterm.js parses writes later; a resize must wait for them). */
  private drawing: Promise<void> = Promise.resolve();

  constructor(private readonly closed: () => void) {
    this.playButton.addEventListener('click', () => (this.playing ? this.pause() : this.play()));
    this.seekInput.addEventListener('input', () => this.seek(Number(this.seekInput.value)));
    this.speedSelect.addEventListener('change', () => this.setSpeed(Number(this.speedSelect.value)));
    this.nextWait.addEventListener('click', () => this.jumpToNextWait());
    byId('player-close').addEventListener('click', () => this.close());
  }

  /** Shows the player on `timeline`, at its start, paused. */
  open(title: string, timeline: Timeline): void {
    this.close();
    this.timeline = timeline;
    byId('player-title').textContent = title;
    this.section.hidden = false;
    // The keys type into the live session: not while a past one plays.
    document.body.dataset.player = 'open';
    const box = byId('player-terminal');
    const fontSize = Math.max(5, Math.min(14, Math.floor(box.clientWidth / (timeline.header.width * 0.62))));
    this.term = new Terminal({ cols: timeline.header.width, rows: timeline.header.height, fontSize, disableStdin: true, cursorBlink: false, scrollback: 1000, theme: { background: '#16181d', foreground: '#e6e6e6' } });
    this.term.open(box);
    this.seekInput.max = String(timeline.duration);
    this.nextWait.disabled = timeline.waits.length === 0;
    this.speed = Number(this.speedSelect.value);
    this.seek(0);
  }

  close(): void {
    this.stopClock();
    this.playing = false;
    this.term?.dispose();
    this.term = undefined;
    this.timeline = undefined;
    byId('player-terminal').replaceChildren();
    if (!this.section.hidden) {
      this.section.hidden = true;
      delete document.body.dataset.player;
      this.closed();
    }
  }

  private now(): number {
    return this.playing ? this.time + ((performance.now() - this.startedWall) / 1000) * this.speed : this.time;
  }

  private play(): void {
    if (!this.timeline || this.playing) return;
    if (this.index >= this.timeline.events.length) this.seek(0);
    this.playing = true;
    this.startedWall = performance.now();
    this.schedule();
    this.showState();
  }

  private pause(): void {
    this.time = this.now();
    this.playing = false;
    this.stopClock();
    this.showState();
  }

  private setSpeed(speed: number): void {
    this.time = this.now();
    this.startedWall = performance.now();
    this.speed = speed;
    if (this.playing) this.schedule();
  }

  /** Draws everything up to `time` afresh, and goes on from there. */
  private seek(time: number): void {
    const timeline = this.timeline;
    const term = this.term;
    if (!timeline || !term) return;
    this.stopClock();
    this.drawing = this.drawing.then(() => {
      term.reset();
      term.resize(timeline.header.width, timeline.header.height);
    });
    this.index = 0;
    this.time = Math.min(Math.max(0, time), timeline.duration);
    this.startedWall = performance.now();
    this.apply(this.time);
    if (this.playing) this.schedule();
    this.showState();
  }

  private jumpToNextWait(): void {
    const timeline = this.timeline;
    if (!timeline) return;
    const after = this.now();
    const next = timeline.waits.find((time) => time > after + 0.001);
    if (next === undefined) return;
    if (this.playing) this.pause();
    this.seek(next);
  }

  /** Gives the screen every event up to `time` (output runs joined into one write). */
  private apply(time: number): void {
    const timeline = this.timeline!;
    const term = this.term!;
    let text = '';
    const flush = (): void => {
      if (!text) return;
      const data = text;
      text = '';
      this.drawing = this.drawing.then(() => new Promise<void>((resolve) => term.write(data, resolve)));
    };
    while (this.index < timeline.events.length && timeline.events[this.index]!.time <= time) {
      const event: ScreenEvent = timeline.events[this.index++]!;
      if ('output' in event) {
        text += event.output;
        continue;
      }
      flush();
      const { cols, rows } = event.size;
      this.drawing = this.drawing.then(() => term.resize(cols, rows));
    }
    flush();
    const shown = this.drawing;
    void shown.then(() => {
      if (this.drawing === shown) this.section.dataset.drawn = String(this.index);
    });
  }

  private schedule(): void {
    this.stopClock();
    const timeline = this.timeline!;
    const next = timeline.events[this.index];
    if (!next) {
      this.time = timeline.duration;
      this.playing = false;
      this.showState();
      return;
    }
    const wait = Math.max(0, ((next.time - this.now()) / this.speed) * 1000);
    this.timer = setTimeout(() => {
      this.apply(this.now());
      this.showState();
      this.schedule();
    }, Math.min(wait, 250));
  }

  private stopClock(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private showState(): void {
    const timeline = this.timeline;
    if (!timeline) return;
    const now = Math.min(this.now(), timeline.duration);
    this.playButton.textContent = this.playing ? '❚❚' : '▶';
    this.playButton.setAttribute('aria-label', this.playing ? 'Pause' : 'Play');
    this.seekInput.value = String(now);
    this.timeText.textContent = `${clockText(now)} / ${clockText(timeline.duration)}`;
    this.section.dataset.state = this.playing ? 'playing' : this.index >= timeline.events.length ? 'ended' : 'paused';
  }
}

