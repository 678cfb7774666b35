// `ccremote sessions URL`: the sessions of the agent behind a link, as the agent lists them (sealed: the
// relay does not see them). One line each, or one JSON object per line with --json.

import { ClientSession } from '../client/session.js';
import { useNativeCrypto } from '../net/native-crypto.js';
import { wsConnect } from '../net/ws-connect.js';
import { agoText, parseAccessLink, pinProblem, printable, type SessionInfo } from '../protocol/index.js';
import { UsageError, type Parsed } from './options.js';
import { readPin } from './pin-prompt.js';
import type { Printer } from './printer.js';

/** How long to wait for the agent's list before giving up, in ms. */
const WAIT_MS = 20_000;

/** `ccremote sessions`. */
export async function sessionsCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const url = parsed.positionals[0]!;
  let link;
  try {
    link = parseAccessLink(url);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const pin = link.pin === true || parsed.values.pin === true ? await readPin({ env: process.env, input: process.stdin, output: process.stderr }, false) : undefined;
  const problem = pin === undefined ? undefined : pinProblem(pin);
  if (problem) throw new UsageError(problem);
  useNativeCrypto();
  const listed = await new Promise<SessionInfo[] | string>((resolve) => {
    const timer = setTimeout(() => done('the agent did not answer in time (is it running?)'), WAIT_MS);
    const done = (result: SessionInfo[] | string): void => {
      clearTimeout(timer);
      session.close();
      resolve(result);
    };
    const session = new ClientSession({
      relayUrl: link.relayUrl,
      agentId: link.agentId,
      credential: { kind: 'link', secret: link.secret, readOnly: link.readOnly === true },
      pin,
      connect: wsConnect(new URL(link.relayUrl).origin),
      watch: 'none',
      events: {
        sessions: (sessions) => done(sessions),
        state: (state) => {
          if (state.kind === 'failed') done(state.reason);
          if (state.kind === 'agent_offline') done('the agent is offline');
        },
      },
    });
    session.start();
  });
  if (typeof listed === 'string') {
    printer.error(listed);
    return 1;
  }
  for (const s of listed) {
    printer.event({ id: s.terminal, ...s });
    const state = s.state === 'running' ? (s.waiting ? 'waiting for you' : 'running') : `ended (${s.signal ? `signal ${s.signal}` : `code ${s.exit_code ?? 0}`})`;
    printer.line(`${String(s.terminal).padStart(3)}  ${printable(s.name).padEnd(24)} ${state.padEnd(16)} ${printable(s.command)}  in ${printable(s.cwd)}  (active ${agoText(s.last_activity)})`);
  }
  if (listed.length === 0) printer.line('no sessions');
  return 0;
}

