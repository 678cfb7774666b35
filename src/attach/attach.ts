// `ccremote attach URL`: joins a session from another terminal. Interactive when stdin and stdout are
// terminals (raw mode, keystrokes forwarded, size followed, detach with Ctrl-]); otherwise it writes the
// session's output bytes exactly as the PTY produced them, for pipes and scripts.

import { ClientSession, type SessionState } from '../client/session.js';
import { parseAccessLink, printable } from '../protocol/index.js';
import { wsConnect } from '../net/ws-connect.js';
import { useNativeCrypto } from '../net/native-crypto.js';

/** The key that detaches an interactive attach: Ctrl-] (0x1d), as in telnet. */
export const DETACH_KEY = 0x1d;

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
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      session.close();
      options.input.off('data', onInput);
      if (interactive) options.input.setRawMode?.(false);
      options.input.pause();
      resolveExit(code);
    };
    const onState = (state: SessionState): void => {
      switch (state.kind) {
        case 'online':
          exitCode = undefined; // the command was restarted, or a new agent process runs it
          notice(`connected to ${state.name ?? link.agentId}${link.readOnly ? ', read-only' : ''}${interactive ? ' (detach: Ctrl-])' : ''}`);
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
    const session = new ClientSession({
      relayUrl: link.relayUrl,
      agentId: link.agentId,
      credential: { kind: 'link', secret: link.secret, readOnly: link.readOnly === true },
      pin: options.pin,
      connect: wsConnect(new URL(link.relayUrl).origin),
      history: interactive ? 'screen' : 'bytes',
      // Output counts as processed once written out, so a slow pipe paces the session like a slow screen.
      manualAck: true,
      events: {
        output: (data, end) => {
          exitCode = undefined; // output after an exit status: the command was restarted
          options.output.write(data, () => session.acknowledge(end));
        },
        snapshot: (data, offset, kind) => {
          options.output.write(Buffer.concat([Buffer.from('\x1bc'), data]), () => session.acknowledge(offset));
          if (kind === 'unavailable') notice('the screen could not be restored (the agent has no copy of it); below is only the latest output it kept');
        },
        gap: (missing) => notice(`${missing} bytes of earlier output were no longer buffered`),
        state: onState,
        exit: (status) => {
          notice(status.message);
          if (!status.restarting) exitCode = status.exit_code ?? 128 + (status.signal ?? 0);
        },
        error: (code, message) => code !== 'agent_offline' && notice(message),
      },
    });
    const onInput = (chunk: Buffer): void => {
      const detach = interactive ? chunk.indexOf(DETACH_KEY) : -1;
      if (detach >= 0) {
        if (detach > 0 && session.canType) session.sendData(chunk.subarray(0, detach));
        notice('detached');
        return finish(0);
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
