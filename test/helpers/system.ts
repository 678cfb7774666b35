// Real parts for integration tests: relays on 127.0.0.1 (on ports of the test worker's own, see ports.ts), agents running real commands in real
// PTYs, and clients speaking the real protocol (the same ClientSession the web page uses).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createAgent, type Agent, type AgentEvent, type AgentOptions } from '../../src/agent/agent.js';
import { ClientSession, type PairedCredential, type SessionState, type WatchChoice } from '../../src/client/session.js';
import { wsConnect } from '../../src/net/ws-connect.js';
import type { Connect } from '../../src/client/transport.js';
import { ChannelClient } from '../../src/client/channel-client.js';
import { FrameType, PROTOCOL_VERSION, accessToken, decodeFrame, deviceToken, encodeMessage, open, parseAccessLink, parseAgentChannel, randomId, socketUrl, type AgentChannelMessage, type ChannelFrame, type HandshakeFrame, type Refused, type AttentionEvent, type Credential, type DeviceInfo, type ExitStatus, type HistoryMode, type Resume, type SessionInfo, type SnapshotKind, type WelcomePayload } from '../../src/protocol/index.js';
import { createRelay, type Relay, type RelayLogEvent, type RelayOptions } from '../../src/relay/relay.js';
import { EventLog, within } from './wait.js';
import { CutProxy } from './cut-proxy.js';
import { startRedis, type TestRedis } from './redis.js';
import { listenOnOwnPort } from './ports.js';

const cleanups: Array<() => Promise<void> | void> = [];

/** How long one clean-up step may take before it is reported as stuck and the next one runs. */
const CLEANUP_STEP_MS = 20_000;

/**
 * Runs (in reverse order) everything the helpers started; call from afterEach. A step that fails is
 * passed over; one that does not finish in CLEANUP_STEP_MS is left behind, the others still run, and
 * the clean-up then fails naming it (instead of a hook timeout that says nothing of what hung).
 */
export async function cleanup(): Promise<void> {
  groupRedis.clear();
  const stuck: string[] = [];
  while (cleanups.length > 0) {
    const step = cleanups.pop()!;
    if ((await finishesWithin(step, CLEANUP_STEP_MS)) === 'stuck') stuck.push(step.toString().slice(0, 200));
  }
  if (stuck.length > 0) throw new Error(`clean-up steps that did not finish in ${CLEANUP_STEP_MS} ms:\n${stuck.join('\n')}`);
}

/** Runs `step`; says whether it finished (failures count as finished) within `ms`. */
export async function finishesWithin(step: () => Promise<void> | void, ms: number): Promise<'done' | 'stuck'> {
  const run = (async () => {
    try {
      await step();
    } catch {
      // A step that fails is passed over: keep cleaning.
    }
  })();
  try {
    await within(run, ms, 'a clean-up step');
    return 'done';
  } catch {
    return 'stuck';
  }
}

/** Runs `close` at the next cleanup (in reverse order of registration). */
export function atCleanup(close: () => Promise<void> | void): void {
  cleanups.push(close);
}

/** A temporary directory removed at cleanup. */
export function tempDir(prefix = 'ccremote-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestRelay {
  relay: Relay;
  url: string;
  /** Each relay's own URL: the relay's, or those of the group's members. */
  members: string[];
  port: number;
  logs: EventLog<RelayLogEvent>;
  close(): Promise<void>;
}

/**
 * How many relays `startRelay` starts: 1 (the default) is one self-contained relay; with
 * `CCREMOTE_TEST_RELAYS=2` or `3` every test runs against a group of relays on a private Redis behind a load
 * balancer that sends agents to the first and browsers to the others in turn, so that every browser's
 * traffic crosses from one relay to another.
 */
export const RELAYS_PER_TEST = Number(process.env.CCREMOTE_TEST_RELAYS ?? 1);
if (![1, 2, 3].includes(RELAYS_PER_TEST)) throw new Error(`CCREMOTE_TEST_RELAYS must be 1, 2 or 3, not ${process.env.CCREMOTE_TEST_RELAYS}`);

/**
 * The Redis of each data directory given in the running test: a group restarted with the same directory finds
 * its registry again, as a single relay finds its files; a group without one starts with an empty Redis.
 */
const groupRedis = new Map<string, Promise<TestRedis>>();

/**
 * A relay on 127.0.0.1 (on a port of this worker's own unless given, so that it can be started again on it), in memory unless `dataDir` is given; a group of them when
 * `RELAYS_PER_TEST` > 1, unless `alone` (a test of one relay process's own accounting: its sockets, its
 * timeouts on raw TCP).
 */
export async function startRelay(options: RelayOptions = {}, { alone = false }: { alone?: boolean } = {}): Promise<TestRelay> {
  if (RELAYS_PER_TEST > 1 && !alone && !options.redis) return startGroup(RELAYS_PER_TEST, options);
  const logs = new EventLog<RelayLogEvent>();
  const { relay, url, port } = await listenOnOwnPort(options.port, (port) => startListening({ host: '127.0.0.1', ...options, port, log: logs.push }));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await relay.close();
  };
  cleanups.push(close);
  return { relay, url, port, members: [url], logs, close };
}

/** A relay listening on `options.port`, or closed again if it cannot. */
async function startListening(options: RelayOptions): Promise<{ relay: Relay; url: string; port: number }> {
  const relay = await createRelay(options);
  try {
    return { relay, ...(await relay.listen()) };
  } catch (error) {
    await relay.close();
    throw error;
  }
}

/**
 * `size` relays sharing a Redis, behind a load balancer on `options.port` (or a free port): agents reach the
 * first relay, everything else the others in turn. Their logs go to one log; `relay` answers for the group.
 */
async function startGroup(size: number, options: RelayOptions): Promise<TestRelay> {
  let store = options.dataDir === undefined ? undefined : groupRedis.get(options.dataDir);
  if (!store) {
    store = startRedis();
    if (options.dataDir !== undefined) groupRedis.set(options.dataDir, store);
  }
  const redis = (await store).url;
  const logs = new EventLog<RelayLogEvent>();
  const relays: Relay[] = [];
  const ports: number[] = [];
  const members: string[] = [];
  for (let i = 0; i < size; i++) {
    const { relay, url, port } = await listenOnOwnPort(undefined, (port) => startListening({ host: '127.0.0.1', ...options, port, redis, log: logs.push }));
    relays.push(relay);
    members.push(url);
    ports.push(port);
  }
  let turn = 0;
  const front = await listenOnOwnPort(options.port, (port) =>
    CutProxy.start(ports[0]!, {
      port,
      router: (_method, path) => (path.startsWith('/ws/agent') ? ports[0]! : ports[1 + (turn++ % (size - 1))]!),
    }),
  );
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    // The relays first, those serving browsers before the agents' one: their goodbyes (1001) reach every client.
    for (const relay of [...relays].reverse()) await relay.close();
    await front.close();
  };
  cleanups.push(close);
  const total = (each: (relay: Relay) => number): number => relays.reduce((sum, relay) => sum + each(relay), 0);
  const group: Relay = {
    listen: () => Promise.resolve({ url: front.url, port: front.port, address: '127.0.0.1' }),
    close,
    publicUrl: relays[0]!.publicUrl,
    stats: () => ({ agentsOnline: total((r) => r.stats().agentsOnline), clients: total((r) => r.stats().clients) }),
    sockets: () => ({ open: total((r) => r.sockets().open), waiting: total((r) => r.sockets().waiting) }),
  };
  return { relay: group, url: front.url, port: front.port, members, logs, close };
}

/** Peak resident memory of a process (VmHWM) or its current one (VmRSS), in bytes. */
export function memory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** Processes whose parent is this one (the agents' commands run in PTYs forked from here), in order. */
export function childProcesses(): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children.sort((a, b) => a - b);
}

/** The environment test commands run with: a clean shell with a fixed prompt. */
export function shellEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, PS1: '$ ', LANG: 'C.UTF-8', TERM: 'xterm-256color' };
}

/** What `rawCommand` prints once the terminal is raw; everything after it is exactly what its command prints. */
export const RAW_READY = '<raw>';

/**
 * `sh -c` arguments that put the terminal in raw mode, print RAW_READY, wait for one keystroke and then run
 * `command`. Wait for the marker before typing (`TestClient.go`): a key typed before `stty` has run would
 * be echoed by the terminal into the output.
 */
export function rawCommand(command: string): string[] {
  return ['-c', `stty raw -echo; printf '${RAW_READY}'; head -c1 >/dev/null; ${command}`];
}

export interface TestAgent {
  agent: Agent;
  events: EventLog<AgentEvent>;
  configDir: string;
  /** The command's working directory (the identity is per relay and directory). */
  cwd: string;
  /** The access link once ready. */
  url: string;
  close(): Promise<void>;
}

/** An agent running `/bin/sh` (or `options.command`) that has registered and connected. */
export async function startAgent(relayUrl: string, options: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const events = new EventLog<AgentEvent>();
  const configDir = options.configDir ?? tempDir('ccremote-agent-');
  const home = options.cwd ?? tempDir('ccremote-home-');
  const agent = await createAgent({
    relayUrl,
    command: '/bin/sh',
    cwd: home,
    env: shellEnv(home),
    backoff: { baseMs: 50, capMs: 500 },
    ...options,
    configDir,
    onEvent: events.push,
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await agent.close();
  };
  cleanups.push(close);
  const first = await events.next((e) => e.event === 'ready' || e.event === 'error', 15_000, 'agent ready');
  if (first.event === 'error') throw new Error(`agent failed: ${first.message}`);
  const ready = first as Extract<AgentEvent, { event: 'ready' }>;
  return { agent, events, configDir, cwd: home, url: ready.url, close };
}

/** A paired device's credential, as a client connecting with it gives it. */
export const asCredential = (paired: PairedCredential): Credential => ({ kind: 'device', id: paired.id, secret: paired.secret, readOnly: paired.access === 'view' });

/** Pairs a device named `name` through `link` and disconnects it; its credential connects it again. */
export async function pairDevice(link: string, name: string): Promise<PairedCredential> {
  const client = new TestClient(link, { pair: name });
  const paired = await client.pairings.next(() => true, 10_000, `${name} paired`);
  client.close();
  return paired;
}

/** A client speaking the real protocol, recording everything it receives. */
export class TestClient {
  readonly session: ClientSession;
  readonly states = new EventLog<SessionState>();
  /** The command's exits, as the agent sealed them. */
  readonly exits = new EventLog<ExitStatus>();
  /** Channels opened with the agent (one per connection to it). */
  readonly welcomes = new EventLog<WelcomePayload>();
  /** The device credential, once paired (with `pair`). */
  readonly pairings = new EventLog<PairedCredential>();
  readonly deviceLists = new EventLog<DeviceInfo[]>();
  readonly errors = new EventLog<{ code: string; message: string }>();
  /** Output reported lost (bytes history only). */
  readonly gaps = new EventLog<number>();
  /** Attention events from the agent (the program waits for the person). */
  readonly attentions = new EventLog<AttentionEvent>();
  /** The agent's session lists, as they came. */
  readonly sessionLists = new EventLog<SessionInfo[]>();
  /** How many sessions the agent allows at once, as its last list said. */
  maxSessions: number | undefined;
  /** The sessions watched, in turn (null: none). */
  readonly watchings = new EventLog<number | null>();
  /** Whether this device gets push alerts, as the agent said each time. */
  /** What the agent said of this device's push alerts: whether it gets them, and the sessions it muted. */
  readonly pushStates = new EventLog<{ subscribed: boolean; muted: number[]; problem?: string }>();
  /** Permission requests settled, as the agent told this client. */
  readonly settlements = new EventLog<{ terminal: number; id: string; outcome: string; message: string }>();
  /** The stream keys the agent gave for the session watched, in turn. */
  readonly streamKeys = new EventLog<{ terminal: number; key: string }>();
  /** Every output or snapshot event, in order (a snapshot with what it holds: the screen, or nothing). */
  readonly chunks = new EventLog<{ kind: 'output' | 'snapshot'; data: Buffer; screen?: SnapshotKind }>();
  private bytes: Buffer[] = [];
  private joined: Buffer | undefined;
  /** Bytes received since the last snapshot. */
  length = 0;
  /**
   * How long every 64 KiB of output takes this client to process (a slow screen): it is busy for that long,
   * reading nothing meanwhile, then acknowledges it. Undefined: no time, and the session acknowledges by
   * itself. Only meaningful with relay and agent in other processes. Set by the option of the same name,
   * which a test may change later (not to or from undefined: who acknowledges is fixed).
   */
  processingMs: number | undefined;

  /**
   * `link`: an access link; `credential` (with a link's relay and agent) replaces the link's own, for a
   * paired device. `pair`: pair under this name once the agent accepts the link.
   */
  constructor(
    link: string,
    options: {
      history?: HistoryMode;
      origin?: string;
      connect?: Connect;
      processingMs?: number;
      pin?: string;
      pair?: string;
      credential?: Credential;
      watch?: WatchChoice;
      answerTimeoutMs?: number;
      maxQueuedInputBytes?: number;
    } = {},
  ) {
    const parsed = parseAccessLink(link);
    this.processingMs = options.processingMs;
    this.session = new ClientSession({
      relayUrl: parsed.relayUrl,
      agentId: parsed.agentId,
      credential: options.credential ?? { kind: 'link', secret: parsed.secret, readOnly: parsed.readOnly === true },
      pin: options.pin,
      ...(options.pair ? { pair: { name: options.pair } } : {}),
      connect: options.connect ?? wsConnect(options.origin ?? new URL(parsed.relayUrl).origin),
      history: options.history,
      watch: options.watch,
      answerTimeoutMs: options.answerTimeoutMs,
      maxQueuedInputBytes: options.maxQueuedInputBytes,
      backoff: { baseMs: 50, capMs: 500 },
      manualAck: options.processingMs !== undefined,
      events: {
        output: (data, _end, processed) => {
          const slow = this.processingMs;
          if (slow !== undefined) {
            const until = performance.now() + (slow * data.length) / 65536;
            while (performance.now() < until); // busy, like a terminal drawing
            processed();
          }
          const copy = Buffer.from(data);
          this.bytes.push(copy);
          this.joined = undefined;
          this.length += copy.length;
          this.chunks.push({ kind: 'output', data: copy });
        },
        snapshot: (data, _offset, screen) => {
          const copy = Buffer.from(data);
          this.bytes = [copy];
          this.joined = undefined;
          this.length = copy.length;
          this.chunks.push({ kind: 'snapshot', data: copy, screen });
        },
        gap: this.gaps.push,
        attention: this.attentions.push,
        state: this.states.push,
        exit: this.exits.push,
        opened: this.welcomes.push,
        paired: this.pairings.push,
        devices: this.deviceLists.push,
        sessions: (sessions, max) => {
          this.maxSessions = max;
          this.sessionLists.push(sessions);
        },
        watching: this.watchings.push,
        streamKey: (terminal, key) => this.streamKeys.push({ terminal, key }),
        pushState: (subscribed, muted, problem) => this.pushStates.push({ subscribed, muted, ...(problem ? { problem } : {}) }),
        permissionSettled: this.settlements.push,
        error: (code, message) => this.errors.push({ code, message }),
      },
    });
    cleanups.push(() => this.session.close());
    this.session.start();
  }

  /** Everything received since the last snapshot. */
  get output(): Buffer {
    this.joined ??= Buffer.concat(this.bytes);
    return this.joined;
  }

  get text(): string {
    return this.output.toString('utf8');
  }

  /**
   * Waits until the output (since the last snapshot) matches. A string is looked for in what arrived since
   * the last look only (with an overlap), so that waiting on megabytes of output stays linear.
   */
  waitForOutput(pattern: string | RegExp, timeoutMs = 10_000): Promise<string> {
    let matches: () => boolean;
    if (typeof pattern === 'string') {
      const needle = Buffer.from(pattern);
      let chunks = this.bytes;
      let looked = 0;
      let tail = Buffer.alloc(0);
      matches = () => {
        if (chunks !== this.bytes) [chunks, looked, tail] = [this.bytes, 0, Buffer.alloc(0)]; // a snapshot started over
        for (; looked < chunks.length; looked++) {
          const window = Buffer.concat([tail, chunks[looked]!]);
          if (window.includes(needle)) return true;
          tail = window.subarray(Math.max(0, window.length - needle.length + 1));
        }
        return false;
      };
    } else {
      matches = () => pattern.test(this.text);
    }
    return this.chunks.until(() => matches() && this.text, timeoutMs, () => `output matching ${String(pattern)} (have ${JSON.stringify(this.text.slice(-300))})`);
  }

  waitForState(kind: SessionState['kind'], timeoutMs = 10_000, from = 0): Promise<SessionState> {
    return this.states.next((s) => s.kind === kind, timeoutMs, `client state ${kind}`, from);
  }

  type(text: string): void {
    this.session.sendData(text);
  }

  /** Starts a `rawCommand`: waits until the terminal is raw, then types the keystroke it waits for. */
  async go(): Promise<void> {
    await this.waitForOutput(RAW_READY, 20_000);
    this.type('\r');
  }

  /** Bytes a `rawCommand` printed so far: the output after RAW_READY (which must come first). */
  get rawLength(): number {
    return this.length - RAW_READY.length;
  }

  /** The output of a `rawCommand`: everything after RAW_READY, which must be the first thing received. */
  get rawOutput(): Buffer {
    const output = this.output;
    if (output.subarray(0, RAW_READY.length).toString() !== RAW_READY) throw new Error(`output does not start with ${RAW_READY}: ${JSON.stringify(output.subarray(0, 40).toString())}`);
    return output.subarray(RAW_READY.length);
  }

  close(): void {
    this.session.close();
  }
}

/** What a raw WebSocket saw: messages and how it closed. */
export interface RawSocket {
  ws: WebSocket;
  messages: EventLog<{ text?: string; binary?: Buffer }>;
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
}

/** A bare WebSocket to the relay, for feeding it bad input. */
export function rawSocket(url: string, options: { origin?: string; headers?: Record<string, string> } = {}): RawSocket {
  const ws = new WebSocket(url, { origin: options.origin, headers: options.headers });
  const messages = new EventLog<{ text?: string; binary?: Buffer }>();
  ws.on('message', (data, isBinary) => messages.push(isBinary ? { binary: data as Buffer } : { text: data.toString() }));
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error('closed before opening')));
  });
  opened.catch(() => undefined);
  cleanups.push(() => ws.terminate());
  return { ws, messages, closed, opened };
}

/**
 * A raw client socket to `relayUrl` for `agentId`, past the relay's hello with `credential` (its token, and
 * the device's id for a device), once the relay said `connected`; its channel is not open yet.
 */
export async function admittedRawClient(relayUrl: string, agentId: string, credential: Credential, session = randomId()): Promise<{ raw: RawSocket; session: string }> {
  const raw = rawSocket(socketUrl(relayUrl, `/ws/client/${agentId}`), { origin: relayUrl });
  await raw.opened;
  const token = credential.kind === 'device' ? deviceToken(credential.secret, agentId, credential.id) : accessToken(credential.secret, agentId);
  raw.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token, ...(credential.kind === 'device' ? { device: credential.id } : {}), session }));
  await raw.messages.next((m) => m.text !== undefined && JSON.parse(m.text).type === 'connected', 10_000, 'connected');
  return { raw, session };
}

/** A channel opened by hand over a raw client socket: its keys, what the agent said, and the session it used. */
export interface RawChannel {
  keys: { send: Uint8Array; receive: Uint8Array };
  welcome: WelcomePayload;
  session: string;
}

/**
 * Runs the channel handshake over a raw socket the relay admitted (after `connected`), as a client would;
 * resolves with its keys, or rejects with the agent's refusal.
 */
export async function openRawChannel(
  socket: RawSocket,
  agentId: string,
  credential: Credential,
  options: { session?: string; pin?: string; history?: HistoryMode; watch?: { terminal: number; resume?: Resume } } = {},
): Promise<RawChannel> {
  const session = options.session ?? randomId();
  const client = new ChannelClient(agentId, credential, options.pin, () => ({ session, history: options.history ?? 'screen', ...(options.watch ? { watch: options.watch } : {}) }));
  let from = socket.messages.items.length;
  socket.ws.send(await client.start());
  for (;;) {
    const message = await socket.messages.next((m) => m.binary?.[0] === FrameType.Handshake, 10_000, 'a handshake frame', from);
    from = socket.messages.items.indexOf(message) + 1;
    const outcome = await client.receive(decodeFrame(message.binary!) as HandshakeFrame);
    if (outcome.kind === 'send') socket.ws.send(outcome.frame);
    else if (outcome.kind === 'open') return { keys: outcome.keys, welcome: outcome.welcome, session };
    else throw new RefusedError(outcome.refused);
  }
}

/** The channel messages a raw client received (opened with its connection's key). */
export function channelMessages(raw: RawSocket, channel: RawChannel): AgentChannelMessage[] {
  return raw.messages.items
    .filter((m) => m.binary?.[0] === FrameType.Channel)
    .map((m) => {
      const frame = decodeFrame(m.binary!) as ChannelFrame;
      return parseAgentChannel(open(channel.keys.receive, frame.header, frame.box, 'channel message'));
    });
}

/** Waits for the `stream` message of a raw client that watches a terminal: the key and end of its output then. */
export async function rawStream(raw: RawSocket, channel: RawChannel, terminal = 1): Promise<Extract<AgentChannelMessage, { type: 'stream' }>> {
  const find = (): Extract<AgentChannelMessage, { type: 'stream' }> | undefined =>
    channelMessages(raw, channel).find((m): m is Extract<AgentChannelMessage, { type: 'stream' }> => m.type === 'stream' && m.terminal === terminal);
  await raw.messages.until(() => find() !== undefined, 10_000, `the stream of terminal ${terminal}`);
  return find()!;
}

/** The agent refused a handshake. */
export class RefusedError extends Error {
  constructor(readonly refused: Refused) {
    super(`refused (${refused.reason}): ${refused.message}`);
  }
}
