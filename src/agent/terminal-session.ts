// One session at the agent: a program in its own PTY, with its screen mirror, its output stream
// (terminal-stream.ts), Claude Code's attention hooks when the program is Claude Code, and what clients
// list about it (name, folder, command, running or ended, waiting for the person, last activity). When its
// program ends, the last output reaches the relay before the exit is reported; with `restart` it starts
// again a second later, in a new run of the same stream. An ended session keeps its stream and screen (its
// last screen stays readable) until it is disposed.

import { basename } from 'node:path';
import { MAX_ATTENTION_MESSAGE, MAX_NAME_LENGTH, MAX_TEXT_LENGTH, printable, type AttentionEvent, type ExitStatus, type SessionInfo, type SessionKind } from '../protocol/index.js';
import { AttentionChannel, type HookEvent, type HookPermission } from './attention-channel.js';
import type { ClientTable } from './client-table.js';
import type { FramePool } from './frame-pool.js';
import { plainLines } from './plain-lines.js';
import { PtyProcess, type PtyExit } from './pty-process.js';
import { ScreenMirror } from './screen-mirror.js';
import type { RecordingSettings } from './session-recorder.js';
import { TerminalStream, type TerminalStreamOptions } from './terminal-stream.js';
import type { Uplink } from './uplink.js';

/** What a session runs, and how. */
export interface SessionSpec {
  kind: SessionKind;
  /** The executable, found on the PATH already. */
  executable: string;
  /** The command as the person named it (shown in lists and messages). */
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  name: string;
  /** Register Claude Code's hooks, so that clients hear when it waits for the person. */
  attentionHooks: boolean;
  /** Start the program again when it ends. */
  restart: boolean;
  /** The git branch of the worktree it runs in, if it does. */
  worktree?: string;
}

/** Settings every session of an agent shares. */
export interface SessionSettings {
  cols: number;
  rows: number;
  scrollback: number;
  bufferSize?: number;
  mirrorWorker?: string;
  pace?: TerminalStreamOptions['pace'];
  /** Record every session (session-recorder.ts); undefined: none is. */
  recording?: RecordingSettings;
  /** Memory for the sessions' output frames (frame-pool.ts), shared by them; without it each frame is new. */
  frames?: FramePool;
}

/** What a session reports to the agent. */
export interface SessionEvents {
  /**
   * The program ended; its output up to `status.end` has been handed to the relay. `lastLines`: what it
   * said last, when it ended soon after starting or failed.
   */
  exited(session: TerminalSession, status: ExitStatus, exit: PtyExit, ranMs: number, lastLines: string[] | undefined): void;
  /** The program wants the person (`type`: Claude Code's kind of notification). */
  attention(session: TerminalSession, event: AttentionEvent, type: string | undefined): void;
  /** Claude Code asks for a permission, and its hook waits for an answer. */
  permission(session: TerminalSession, request: HookPermission): void;
  /** A tool call of Claude Code's ran or failed (its fingerprint). */
  toolDone(session: TerminalSession, call: string): void;
  /** A client typed into it (keys, not only focus reports). */
  typedInto(session: TerminalSession): void;
  /** What clients list about it changed (it waits, it answered, it ended). */
  changed(session: TerminalSession): void;
  /** Something of it does not work, and it goes on without it (the screen mirror, the hooks). */
  warning(session: TerminalSession, message: string): void;
}

/** A program that ends sooner than this after starting most likely could not start: its last lines are shown, in ms. */
export const EARLY_EXIT_MS = 5000;
/** Lines of a program's last output shown when it ends early or fails. */
const LAST_LINES = 15;

/** Where the session stands. */
type SessionState =
  | { kind: 'running'; pty: PtyProcess; startedAt: number }
  /** Between runs (--restart): the program starts again shortly. */
  | { kind: 'restarting'; timer: ReturnType<typeof setTimeout> }
  | { kind: 'exited'; exit: PtyExit; status: ExitStatus }
  | { kind: 'disposed' };

export class TerminalSession {
  readonly stream: TerminalStream;
  readonly startedAt = Date.now();
  private state: SessionState;
  private lastActivity = Date.now();
  /** Why the program waits for the person, while it does. */
  private waitingFor: { message: string | undefined } | undefined;
  private outputPaused = false;
  private readonly mirror: ScreenMirror;
  /** How the session is recorded (in the mirror's worker), if it is. */
  private readonly recording: RecordingSettings | undefined;
  /** What clients type, for the recording (with --record-input): UTF-8 cut between writes stays whole. */
  private readonly typed = new TextDecoder();
  private readonly commandArgs: string[];

  private constructor(
    readonly terminal: number,
    readonly spec: SessionSpec,
    private readonly settings: SessionSettings,
    uplink: Uplink,
    clients: ClientTable,
    private readonly attentionChannel: AttentionChannel | undefined,
    private readonly events: SessionEvents,
  ) {
    this.commandArgs = attentionChannel ? ['--settings', attentionChannel.settingsJson(), ...spec.args] : spec.args;
    // The mirror's worker records the session too: it gets every byte of output anyway.
    const recorded = { name: spec.name, command: [spec.command, ...spec.args].join(' '), cols: settings.cols, rows: settings.rows, shell: spec.env.SHELL };
    this.recording = settings.recording;
    this.mirror = new ScreenMirror(
      { cols: settings.cols, rows: settings.rows, scrollback: settings.scrollback },
      { progress: () => this.stream.screenProgress(), failed: (reason) => this.mirrorFailed(reason), warning: (message) => this.events.warning(this, message) },
      settings.mirrorWorker,
      settings.recording ? { settings: settings.recording, session: recorded } : undefined,
    );
    this.stream = new TerminalStream(
      terminal,
      uplink,
      {
        write: (data) => {
          // The program first; its echo cannot come back before the recording has the keys.
          this.pty?.write(data);
          if (this.recording?.input) this.mirror.record('i', this.typed.decode(data, { stream: true }));
        },
        resize: ({ cols, rows }) => this.pty?.resize(cols, rows),
        pauseOutput: (paused) => {
          this.outputPaused = paused;
          this.pty?.pauseOutput(paused);
        },
      },
      clients,
      {
        bufferSize: settings.bufferSize,
        screen: this.mirror,
        pace: settings.pace,
        frames: settings.frames,
        onSnapshotFailed: (message) => this.events.warning(this, `a screen snapshot failed (${message}); the client got the output held instead`),
      },
    );
    this.state = { kind: 'running', ...this.spawn() };
  }

  /** Starts a session: its hooks (for Claude Code), its mirror and its program. Throws if the program cannot be started. */
  static async start(terminal: number, spec: SessionSpec, settings: SessionSettings, uplink: Uplink, clients: ClientTable, events: SessionEvents): Promise<TerminalSession> {
    let attention: AttentionChannel | undefined;
    let hookProblem: string | undefined;
    if (spec.attentionHooks) {
      try {
        attention = await AttentionChannel.open({
          attention: (event) => session?.attentionEvent(event),
          permission: (request) => (session?.running ? events.permission(session, request) : request.decide(undefined)),
          toolDone: (call) => session && events.toolDone(session, call),
        });
      } catch (error) {
        hookProblem = `attention hooks are off: ${(error as Error).message}`;
      }
    }
    let session: TerminalSession | undefined;
    try {
      session = new TerminalSession(terminal, spec, settings, uplink, clients, attention, events);
    } catch (error) {
      await attention?.close();
      throw error;
    }
    if (hookProblem) events.warning(session, hookProblem);
    return session;
  }

  /** The program now running, if one is. */
  private get pty(): PtyProcess | undefined {
    return this.state.kind === 'running' ? this.state.pty : undefined;
  }

  /** How its program ended for good, once it did: a client that starts watching it then is told, as those watching were. */
  get ended(): ExitStatus | undefined {
    return this.state.kind === 'exited' ? this.state.status : undefined;
  }

  get running(): boolean {
    return this.state.kind === 'running' || this.state.kind === 'restarting';
  }

  /** What clients list about it. */
  info(): SessionInfo {
    const exit = this.state.kind === 'exited' ? this.state.exit : undefined;
    return {
      terminal: this.terminal,
      name: printable(this.spec.name).slice(0, MAX_NAME_LENGTH) || basename(this.spec.cwd) || 'session',
      cwd: this.spec.cwd,
      kind: this.spec.kind,
      command: printable([this.spec.command, ...this.spec.args].join(' ')).slice(0, MAX_TEXT_LENGTH),
      state: exit ? 'exited' : 'running',
      ...(exit ? (exit.signal ? { signal: exit.signal } : { exit_code: Math.min(255, Math.max(0, exit.exitCode)) }) : {}),
      waiting: this.waitingFor !== undefined,
      ...(this.waitingFor?.message ? { waiting_for: printable(this.waitingFor.message).slice(0, MAX_ATTENTION_MESSAGE) } : {}),
      started_at: this.startedAt,
      last_activity: this.lastActivity,
      ...(this.spec.worktree ? { worktree: this.spec.worktree } : {}),
    };
  }

  /**
   * A client typed `data` into it: whatever it waited for, the person is on it. Focus reports (which a
   * terminal sends by itself when its window gains or loses focus) are not typing.
   */
  typedInto(data: Uint8Array): void {
    if (onlyFocusReports(data)) return;
    this.events.typedInto(this);
    this.attended();
  }

  /** What it waited for was seen to (answered from a client, say). */
  attended(): void {
    if (this.waitingFor === undefined) return;
    this.waitingFor = undefined;
    this.events.changed(this);
  }

  /** Stops its program (SIGHUP, then SIGKILL); the session stays, ended, with its last screen. */
  async end(): Promise<void> {
    if (this.state.kind === 'restarting') {
      // Between two runs: the next one does not start, and this is the session's end.
      clearTimeout(this.state.timer);
      this.spec.restart = false;
      const exit = { exitCode: 0, signal: 1 };
      const status = this.stream.exitStatus({ message: `${basename(this.spec.command)} was ended before it started again`, signal: 1, restarting: false });
      this.state = { kind: 'exited', exit, status };
      this.events.exited(this, status, exit, 0, undefined);
      this.events.changed(this);
      return;
    }
    if (this.state.kind !== 'running') return;
    const pty = this.state.pty;
    // No restart after this: the exit that follows is final.
    this.spec.restart = false;
    await pty.stop();
  }

  /** Stops everything it started (the program, the mirror, the hooks). */
  async dispose(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'disposed' };
    if (state.kind === 'restarting') clearTimeout(state.timer);
    if (state.kind === 'running') await state.pty.stop();
    this.stream.dispose();
    await Promise.all([this.mirror.close(), this.attentionChannel?.close()]);
  }

  private spawn(): { pty: PtyProcess; startedAt: number } {
    // A restarted program starts at the size the clients last set.
    const size = this.stream.size ?? { cols: this.settings.cols, rows: this.settings.rows };
    const pty = new PtyProcess(
      { command: this.spec.executable, args: this.commandArgs, cwd: this.spec.cwd, env: this.spec.env, cols: size.cols, rows: size.rows },
      (data) => {
        this.lastActivity = Date.now();
        this.stream.output(data);
      },
    );
    if (this.outputPaused) pty.pauseOutput(true);
    const startedAt = Date.now();
    void pty.exit.then((exit) => this.exited(pty, exit, Date.now() - startedAt));
    return { pty, startedAt };
  }

  private async exited(pty: PtyProcess, exit: PtyExit, ranMs: number): Promise<void> {
    if (this.pty !== pty) return;
    // Before the exit is told, the program's last output must reach the relay (if anyone watches it:
    // terminal-stream.ts).
    const flushed = !this.spec.restart;
    if (flushed) await this.stream.flush(10_000);
    const failed = exit.signal !== undefined || exit.exitCode !== 0;
    const said = failed || ranMs < EARLY_EXIT_MS ? await this.lastLines() : undefined;
    if (this.pty !== pty) return; // disposed meanwhile
    // An `end` that came meanwhile makes this exit final: no restart, and its output goes first, as for any.
    const restarting = this.spec.restart;
    if (!restarting && !flushed) {
      await this.stream.flush(10_000);
      if (this.pty !== pty) return;
    }
    this.waitingFor = undefined;
    const how = exit.signal ? `was killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`;
    const status = this.stream.exitStatus({
      message: `${basename(this.spec.command)} ${how}${restarting ? '; restarting' : ''}`,
      ...(exit.signal ? { signal: exit.signal } : { exit_code: Math.min(255, Math.max(0, exit.exitCode)) }),
      restarting,
    });
    if (restarting) {
      this.stream.nextRun();
      this.state = {
        kind: 'restarting',
        timer: setTimeout(() => {
          if (this.state.kind === 'restarting') this.state = { kind: 'running', ...this.spawn() };
        }, 1000),
      };
    } else {
      this.state = { kind: 'exited', exit, status };
    }
    this.mirror.record('m', status.message);
    this.events.exited(this, status, exit, ranMs, said);
    this.events.changed(this);
  }

  /** The program's last lines of output as text: from the screen mirror, or from the bytes held if it does not work. */
  private async lastLines(): Promise<string[]> {
    const fromMirror = await this.mirror.lines(LAST_LINES);
    if (fromMirror) return fromMirror;
    const { bytes, cut } = this.stream.tail(64 * 1024);
    return plainLines(bytes, LAST_LINES, cut);
  }

  /** Claude Code waits for the person (a hook said so, or a permission request does). */
  attentionEvent(event: Omit<AttentionEvent, 'terminal'> & Pick<HookEvent, 'type'>): void {
    if (this.state.kind === 'disposed') return;
    const { type, ...said } = event;
    this.waitingFor = { message: said.message };
    this.mirror.record('m', `waiting: ${said.message ?? type ?? 'for you'}`);
    this.events.attention(this, { ...said, terminal: this.terminal }, type);
    this.events.changed(this);
  }

  private mirrorFailed(reason: string): void {
    const consequence = `a client that reconnects after more output than the agent keeps cannot get the screen back${this.recording ? ', and the session is not recorded any more' : ''}`;
    this.events.warning(this, `the screen mirror does not work (${reason}): ${consequence}`);
    this.stream.screenProgress(); // nothing waits for it any more
  }
}

/** Focus-in and focus-out reports (CSI I, CSI O), which xterm.js sends when the program asked for them. */
const FOCUS_REPORT = /^(?:\x1b\[[IO])+$/;

function onlyFocusReports(data: Uint8Array): boolean {
  return data.length > 0 && data.length <= 48 && data[0] === 0x1b && FOCUS_REPORT.test(Buffer.from(data).toString('latin1'));
}
