// `ccremote attach URL`: joins one of the agent's sessions from another terminal: the most recently active
// one, a given one, or a new one it starts. Interactive when stdin and stdout are terminals (raw mode,
// keystrokes forwarded, size followed, detach with Ctrl-], switch sessions with Ctrl-^); otherwise it writes
// the session's output bytes exactly as the PTY produced them, for pipes and scripts. It ends when the
// session's program does, with its exit code.

import { ClientSession, type SessionState } from '../client/session.js';
import { parseAccessLink, printable, type SessionInfo } from '../protocol/index.js';
import { wsConnect } from '../net/ws-connect.js';
import { useNativeCrypto } from '../net/native-crypto.js';

/** The key that detaches an interactive attach: Ctrl-] (0x1d), as in telnet. */
export const DETACH_KEY = 0x1d;
/** The key that offers the other sessions to switch to: Ctrl-^ (0x1e). */
export const SWITCH_KEY = 0x1e;

/** Settings of an attach. */
export interface AttachOptions {
  /** The access link, `http(s)://HOST/a/AGENT_ID#SECRET`. */
  link: string;
  /** The agent's PIN, for a link that needs one. */
  pin?: string;
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number; on(event: 'resize', cb: () => void): unknown };
  /** Where notices go (connection state, exit status). */
  errors: NodeJS.WritableStream;
  /** Join this session (its number) instead of the most recently active one. */
  session?: number;
  /** Start a new session and join it: Claude Code, or `command`, in `cwd` (default: the agent's folder). */
  start?: { cwd?: string; command?: string[] };
}

/** Attaches until detached, the command exits, or the link is refused; resolves with an exit code. */
export async function attach(options: AttachOptions): Promise<number> {
  useNativeCrypto();
  const link = parseAccessLink(options.link);
  const interactive = options.input.isTTY === true && options.output.isTTY === true;
  // Notices carry the relay's words (names, close reasons, status and error messages): printed as data.
  const notice = (text: string): void => {
    const line = printable(text);
    options.errors.write(interactive ? `\r\n[ccremote] ${line}\r\n` : `[ccremote] ${line}\n`);
  };
  return new Promise<number>((resolveExit) => {
    let exitCode: number | undefined;
    let finished = false;
    let listed = false;
    /** Offering the sessions to switch to: the next key picks one. */
    let choosing: SessionInfo[] | undefined;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      session.close();
      options.input.off('data', onInput);
      if (interactive) options.input.setRawMode?.(false);
      options.input.pause();
      resolveExit(code);
    };
    /** Ends once what was written has gone out. */
    const finishAfterOutput = (code: number): void => void options.output.write('', () => finish(code));
    const onState = (state: SessionState): void => {
      switch (state.kind) {
        case 'online':
          notice(`connected to ${state.name ?? link.agentId}${link.readOnly ? ', read-only' : ''}${interactive ? ' (detach: Ctrl-], other sessions: Ctrl-^)' : ''}`);
          return;
        case 'agent_offline':
          if (exitCode !== undefined) return finish(exitCode);
          notice('agent offline; waiting for it');
          return;
        case 'waiting':
          notice(`${state.reason} Reconnecting in ${(state.retryInMs / 1000).toFixed(1)} s.`);
          return;
        case 'failed':
          notice(state.reason);
          return finish(2);
        default:
          return;
      }
    };
    /** The first list of sessions: join the one asked for, or start one. */
    const firstList = (sessions: SessionInfo[]): void => {
      if (options.session !== undefined) {
        if (!sessions.some((s) => s.terminal === options.session)) {
          notice(`the agent has no session ${options.session}; \`ccremote sessions\` lists them`);
          return finish(2);
        }
        session.watch(options.session);
        return;
      }
      if (options.start) {
        const { cwd, command } = options.start;
        session
          .startSession({ kind: command ? 'command' : 'claude', ...(cwd ? { cwd } : {}), ...(command ? { command } : {}) })
          .then((terminal) => session.watch(terminal))
          .catch((error: unknown) => {
            notice(`the session could not be started: ${(error as Error).message}`);
            finish(2);
          });
      }
    };
    const session = new ClientSession({
      relayUrl: link.relayUrl,
      agentId: link.agentId,
      credential: { kind: 'link', secret: link.secret, readOnly: link.readOnly === true },
      pin: options.pin,
      connect: wsConnect(new URL(link.relayUrl).origin),
      history: interactive ? 'screen' : 'bytes',
      watch: options.session !== undefined || options.start ? 'none' : 'latest',
      // Output counts as processed once written out, so a slow pipe paces the session like a slow screen.
      manualAck: true,
      events: {
        output: (data, _end, processed) => {
          exitCode = undefined; // output after an exit status: the command was restarted
          options.output.write(data, () => processed());
        },
        snapshot: (data, _offset, kind, processed) => {
          options.output.write(Buffer.concat([Buffer.from('\x1bc'), data]), () => processed());
          if (kind === 'unavailable') notice('the screen could not be restored (the agent has no copy of it); below is only the latest output it kept');
        },
        gap: (missing) => notice(`${missing} bytes of earlier output were no longer buffered`),
        state: onState,
        sessions: (sessions) => {
          if (!listed) {
            listed = true;
            firstList(sessions);
          }
          // The session watched was dismissed: nothing left to show.
          const watched = session.watching;
          if (listed && watched === null && options.session === undefined && !options.start && sessions.length === 0) notice('the agent has no session now');
        },
        watching: (terminal) => {
          const info = session.sessions.find((s) => s.terminal === terminal);
          if (info) notice(`session ${info.terminal}: ${info.name}, in ${info.cwd}`);
        },
        exit: (status) => {
          notice(status.message);
          if (status.restarting) return;
          exitCode = status.exit_code ?? 128 + (status.signal ?? 0);
          finishAfterOutput(exitCode);
        },
        error: (code, message) => code !== 'agent_offline' && notice(message),
      },
    });
    /** Ctrl-^: the sessions, numbered; the next key picks one (any other key goes back). */
    const offerSessions = (): void => {
      choosing = session.sessions.slice(0, 9);
      const lines = choosing.map((s, i) => `${i + 1}) ${s.name}${s.terminal === session.watching ? ' (this one)' : ''} · ${s.state === 'running' ? (s.waiting ? 'waiting for you' : 'running') : 'ended'} · ${s.command}`);
      notice(`sessions, press a number to switch (any other key to stay):\r\n${lines.map(printable).join('\r\n')}`);
    };
    const onInput = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      if (choosing) {
        // One key picks: a digit a session; anything else stays. What follows it is typed as usual.
        const picked = choosing[chunk[0]! - 0x31];
        choosing = undefined;
        if (picked) session.watch(picked.terminal);
        else notice('staying');
        return onInput(chunk.subarray(1));
      }
      const detach = interactive ? chunk.indexOf(DETACH_KEY) : -1;
      if (detach >= 0) {
        if (detach > 0 && session.canType) session.sendData(chunk.subarray(0, detach));
        notice('detached');
        return finish(0);
      }
      const switching = interactive ? chunk.indexOf(SWITCH_KEY) : -1;
      if (switching >= 0) {
        if (switching > 0 && session.canType) session.sendData(chunk.subarray(0, switching));
        offerSessions();
        return onInput(chunk.subarray(switching + 1));
      }
      if (session.canType) session.sendData(chunk);
    };
    if (interactive) {
      options.input.setRawMode?.(true);
      const sendSize = (): void => {
        if (options.output.columns && options.output.rows) session.resize(options.output.columns, options.output.rows);
      };
      options.output.on('resize', sendSize);
      sendSize();
    }
    if (interactive || options.input.isTTY !== true) {
      options.input.on('data', onInput);
      options.input.resume();
    }
    session.start();
  });
}
