// `ccremote agent` and the agent half of the local mode: builds an agent from parsed options and
// prints its events until it stops.

import { createAgent, type AgentOptions } from '../agent/agent.js';
import { UsageError, parseBytes, parseCount, parseDuration, parsePositive, type Parsed } from './options.js';
import { readPin } from './pin-prompt.js';
import type { Printer } from './printer.js';
import { untilStopSignal } from './signals.js';

/** Agent options shared by `agent` and the local mode, from parsed arguments (asking for the PIN with `--pin`). */
export async function agentOptionsFrom(parsed: Parsed): Promise<Omit<AgentOptions, 'relayUrl'>> {
  const v = parsed.values;
  const [command, ...args] = parsed.command;
  return {
    command,
    args,
    cwd: v.cwd as string | undefined,
    name: v.name as string | undefined,
    configDir: v['config-dir'] as string | undefined,
    restart: v.restart === true,
    stay: v.stay === true,
    roots: v.root as string[] | undefined,
    maxSessions: parseCount(v['max-sessions'] as string | undefined, '--max-sessions'),
    rotate: v.rotate === true,
    attentionHooks: v['no-attention-hooks'] !== true,
    bufferSize: v['buffer-size'] !== undefined ? parseBytes(v['buffer-size'] as string, 'buffer size') : undefined,
    maxUpload: v['max-upload'] !== undefined ? parseBytes(v['max-upload'] as string, '--max-upload', [1, 1024 ** 3]) : undefined,
    uploadDir: v['upload-dir'] as string | undefined,
    recording:
      v['no-record'] === true
        ? false
        : {
            dir: v['record-dir'] as string | undefined,
            days: parsePositive(v['record-days'] as string | undefined, '--record-days', 36_500),
            maxBytes: v['record-max'] !== undefined ? parseBytes(v['record-max'] as string, '--record-max', [4 << 20, 1024 ** 4]) : undefined,
            input: v['record-input'] === true,
          },
    linkTtlMs: v['link-ttl'] !== undefined ? parseDuration(v['link-ttl'] as string, 'link TTL') : undefined,
    remindAfterMs: v['remind-after'] === undefined ? undefined : v['remind-after'] === '0' ? 0 : parseDuration(v['remind-after'] as string, 'reminder delay'),
    pin: v.pin === true ? await readPin({ env: process.env, input: process.stdin, output: process.stderr }, true) : undefined,
  };
}

/**
 * Runs an agent until it stops or `stop` aborts; resolves with the process exit code. The caller listens for
 * the stop signals (untilStopSignal) before anyone can read that it started, so an early one still stops it cleanly.
 */
export async function runAgent(options: AgentOptions, printer: Printer, qr: boolean, stop: AbortSignal): Promise<number> {
  if (stop.aborted) {
    printer.notice('stopping');
    return 0;
  }
  let printing = Promise.resolve();
  const agent = await createAgent({
    ...options,
    onEvent: (event) => {
      printing = printing.then(() => printer.agentEvent(event, qr));
    },
  });
  const close = (): void => {
    printer.notice('stopping');
    void agent.close();
  };
  if (stop.aborted) close();
  else stop.addEventListener('abort', close, { once: true });
  const code = await agent.done;
  stop.removeEventListener('abort', close);
  await printing;
  return code;
}

/** `ccremote agent`. */
export async function agentCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const relays = (parsed.values.relay as string[] | string | undefined) ?? [];
  const [relay, ...fallbackRelays] = typeof relays === 'string' ? [relays] : relays;
  if (!relay) throw new UsageError('--relay URL is required (the relay this agent serves through)');
  const options = {
    ...(await agentOptionsFrom(parsed)),
    relayUrl: relay,
    ...(fallbackRelays.length > 0 ? { fallbackRelays } : {}),
    registrationToken: (parsed.values['registration-token'] as string | undefined) ?? process.env.CCREMOTE_REGISTRATION_TOKEN,
  };
  return untilStopSignal((stop) => runAgent(options, printer, parsed.values['no-qr'] !== true, stop));
}
