// The relay's routing core, independent of message transport: which agents are online, which clients are
// attached to each agent, which of the agent's terminals each client watches (the agent says, when the
// client asked it), and where each client stands in that terminal's output stream. A terminal's output is
// fanned out to the clients watching it without copying; a client that falls behind (its socket backs up)
// or misses part of the stream stops receiving live output and is brought back by asking the agent to
// `sync` it. Flow control is per terminal. Callers authenticate peers and validate frames' headers before
// calling in; the hub never reads payloads, and knows terminals only by number and stream id.

import {
  CloseCode,
  ErrorCode,
  FrameType,
  MAX_TERMINALS,
  continuation,
  encodeFromClient,
  encodeMessage,
  decodeFrame,
  decodeFrameOf,
  type AgentToRelay,
  type ClientToRelay,
  type OutputFrame,
  type RelayToAgent,
  type RelayToClient,
  type Resume,
  type SnapshotFrame,
} from '../protocol/index.js';
import type { Peer } from '../net/peer.js';
import { DrainRate } from './drain-rate.js';
import { TerminalFlow, type FlowSettings } from './terminal-flow.js';

/** Bytes waiting for a peer above which answers to its own messages are dropped (64 KiB); see HubOptions. */
export const DEFAULT_REPLY_HIGH_WATER = 64 * 1024;

/** Settings of a Hub. */
export interface HubOptions {
  /** Bytes waiting for one client above which it stops getting live output (default 4 MiB, the largest flow window). */
  clientHighWater?: number;
  /** Bytes waiting below which a client that fell behind is synced again (default 512 KiB). */
  clientLowWater?: number;
  /** Clients one agent may have at once (default 32). */
  maxClientsPerAgent?: number;
  /**
   * Flow control: output an agent may read beyond what its slowest pacing client has processed, at least
   * (default 512 KiB). The window holds `flowWindowMs` of that client's processing rate, up to `flowWindowMax`.
   */
  flowWindow?: number;
  /** Flow control: the most the window grows to for clients that process output fast (default 4 MiB; never below `flowWindow`). */
  flowWindowMax?: number;
  /** Flow control: the window holds this many ms of the slowest pacing client's processing rate (default 50). */
  flowWindowMs?: number;
  /**
   * Flow control while someone types into a flood: the window for TYPING_MS after a key from a client that
   * had more than this much output unprocessed (default 64 KiB; never above `flowWindow`). See TerminalFlow.typed.
   */
  typingWindow?: number;
  /** Flow control: a client that acknowledged nothing for this long while output waits for it stops pacing the agent (default 2 s). */
  stallMs?: number;
  /**
   * Bytes waiting for a peer above which answers to its own messages (pong, heartbeat_ack, refusals of
   * its input) are dropped, so that a peer that sends without reading cannot make the relay queue
   * answers without bound (default 64 KiB).
   */
  replyHighWater?: number;
  /** Clock, in ms (tests may pass their own). */
  now?: () => number;
  /** Told when the hub starts and stops holding connections of an agent (a relay group follows those agents). */
  holding?: (agentId: string, held: boolean) => void;
}

type Hello = Extract<ClientToRelay, { type: 'hello' }>;
type AgentHello = Extract<AgentToRelay, { type: 'hello' }>;

/** A client attached to an agent; returned by `connectClient` and handed back on every later call. */
export interface ClientHandle {
  readonly number: number;
  readonly agentId: string;
}

interface Client extends ClientHandle {
  readonly peer: Peer;
  readonly session: string;
  /** Admitted with a read-only credential: its input is dropped here (and refused by the agent anyway), and it never paces the agent. */
  readonly readOnly: boolean;
  /** The paired device whose credential admitted it (undefined: a link). */
  readonly device: string | undefined;
  /** Where it connects from, as this relay sees it (told to the agent). */
  readonly address: string | undefined;
  /** The terminal it watches (the agent said so); null: none. */
  terminal: number | null;
  /** The output stream `position` refers to. */
  stream: string | undefined;
  /** Stream offset of the next byte this client needs; null until its first sync. */
  position: number | null;
  /** Number of the latest sync requested for this client (0: none yet). */
  syncRequested: number;
  /** Number of the sync whose answer the agent is sending; frames of older answers are dropped. */
  syncAnswered: number;
  /**
   * The agent began answering (`sync_begin`) but no frame of the answer has arrived yet. Stream and
   * position still describe what the client has, so a sync requested now (the agent's connection was
   * cut mid-answer) resumes from there instead of from nothing.
   */
  awaitingAnswer: boolean;
  /** Its socket backed up; it gets nothing until it drains, then it is synced. */
  lagging: boolean;
  /** Stream offset up to which the client says it has processed output (flow control); null before its first ack. */
  acked: number | null;
  /** When it last acknowledged, or (if later) when output began to wait for it after it had processed all it was sent, in ms. */
  ackedAt: number;
  /** How fast it processes output (from its acknowledgements), for the flow window. */
  readonly drain: DrainRate;
}

/** One of an agent's terminals: its output stream, and its flow control. */
interface Terminal {
  readonly number: number;
  readonly stream: string;
  readonly flow: TerminalFlow;
}

interface Agent {
  readonly id: string;
  name: string | undefined;
  peer: Peer | undefined;
  readonly terminals: Map<number, Terminal>;
  readonly clients: Map<number, Client>;
}

/** Most terminals the relay keeps for one agent (the protocol's bound). */
const MAX_TERMINALS_PER_AGENT = MAX_TERMINALS;

/** Counts for `/health`. */
export interface HubStats {
  agentsOnline: number;
  clients: number;
}

/** Bytes of frames received from agents and from clients since the relay started (for `/metrics`). */
export interface HubTraffic {
  bytesFromAgents: number;
  bytesFromClients: number;
}

/** The routing core. One per relay process. */
export class Hub {
  private readonly agents = new Map<string, Agent>();
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly maxClients: number;
  private readonly flow: FlowSettings;
  private readonly replyHighWater: number;
  private readonly now: () => number;
  private readonly holding: ((agentId: string, held: boolean) => void) | undefined;
  private nextClient = 1;
  private clientCount = 0;
  private bytesFromAgents = 0;
  private bytesFromClients = 0;

  constructor(options: HubOptions = {}) {
    const least = options.flowWindow ?? 512 * 1024;
    const most = Math.max(least, options.flowWindowMax ?? 4 << 20);
    this.flow = {
      window: { least, most, ms: options.flowWindowMs ?? 50 },
      typingWindow: Math.min(options.typingWindow ?? 64 * 1024, least),
      stallMs: options.stallMs ?? 2000,
    };
    // Its default is the largest window's: with both, a client that keeps up never has more waiting here.
    this.highWater = options.clientHighWater ?? 4 << 20;
    this.lowWater = options.clientLowWater ?? 512 * 1024;
    this.maxClients = options.maxClientsPerAgent ?? 32;
    this.replyHighWater = options.replyHighWater ?? DEFAULT_REPLY_HIGH_WATER;
    this.now = options.now ?? Date.now;
    this.holding = options.holding;
  }

  /** Re-evaluates flow control (clients that stopped acknowledging stop pacing); call a few times a second. */
  tick(): void {
    for (const agent of [...this.agents.values()]) {
      for (const terminal of agent.terminals.values()) {
        if (terminal.flow.changesWithTime) this.updateFlow(agent, terminal);
      }
      this.forgetIfIdle(agent);
    }
  }

  stats(): HubStats {
    let online = 0;
    for (const agent of this.agents.values()) if (agent.peer) online++;
    return { agentsOnline: online, clients: this.clientCount };
  }

  traffic(): HubTraffic {
    return { bytesFromAgents: this.bytesFromAgents, bytesFromClients: this.bytesFromClients };
  }

  /** Whether the agent is connected, and the name it goes by (undefined: only the registered name is known). */
  presence(agentId: string): { online: boolean; name: string | undefined } {
    const agent = this.agents.get(agentId);
    return { online: agent?.peer !== undefined, name: agent?.name };
  }

  /** Sends a control message to the agent's current connection: that connection, or undefined if the agent is off line. */
  messageAgent(agentId: string, message: RelayToAgent): Peer | undefined {
    const peer = this.agents.get(agentId)?.peer;
    peer?.send(encodeMessage(message));
    return peer;
  }

  /** An authenticated agent connection said hello. A previous connection of the same agent is closed. */
  connectAgent(agentId: string, peer: Peer, hello: AgentHello, registeredName?: string): void {
    const agent = this.agent(agentId);
    if (agent.peer) agent.peer.close(CloseCode.Replaced, 'another connection of this agent took over');
    agent.peer = peer;
    agent.name = hello.name ?? registeredName;
    // Terminals that go on (the same stream) keep their pacing clients; the others are gone.
    const previous = agent.terminals;
    const terminals = new Map<number, Terminal>();
    for (const { terminal: number, stream } of hello.terminals) {
      const before = previous.get(number);
      terminals.set(number, { number, stream, flow: before?.stream === stream ? before.flow.next() : new TerminalFlow(this.flow) });
    }
    agent.terminals.clear();
    for (const [number, terminal] of terminals) agent.terminals.set(number, terminal);
    toAgent(agent, { type: 'connected', agent_id: agentId });
    for (const client of agent.clients.values()) {
      client.lagging = false;
      // Every client opens a new channel with the agent, which says what it watches: until then it
      // paces (for a while) as a departed client of what it watched.
      this.unwatch(agent, client);
    }
    // The limits go before the clients are announced: an agent waiting for them reads on at these limits.
    for (const terminal of agent.terminals.values()) this.updateFlow(agent, terminal);
    for (const client of agent.clients.values()) toAgent(agent, joined(client));
    this.broadcast(agent, { type: 'agent_online', agent_id: agentId, name: agent.name });
  }

  /** A control message from an agent connection; ignored unless `peer` is the agent's current connection. */
  agentMessage(agentId: string, peer: Peer, message: AgentToRelay): void {
    const agent = this.agents.get(agentId);
    if (!agent || agent.peer !== peer) return;
    switch (message.type) {
      case 'heartbeat':
        this.reply(peer, { type: 'heartbeat_ack' });
        return;
      case 'terminal_opened': {
        if (agent.terminals.size >= MAX_TERMINALS_PER_AGENT && !agent.terminals.has(message.terminal)) return;
        const before = agent.terminals.get(message.terminal);
        if (before?.stream === message.stream) return;
        if (before) this.closeTerminal(agent, before);
        agent.terminals.set(message.terminal, { number: message.terminal, stream: message.stream, flow: new TerminalFlow(this.flow) });
        return;
      }
      case 'terminal_closed': {
        const terminal = agent.terminals.get(message.terminal);
        if (terminal) this.closeTerminal(agent, terminal);
        return;
      }
      case 'watch': {
        const client = agent.clients.get(message.client);
        if (client) this.watch(agent, client, message.terminal, message.resume);
        return;
      }
      case 'error':
        this.broadcast(agent, { type: 'error', code: ErrorCode.ProcessError, message: message.message });
        return;
      case 'sync_begin': {
        const client = agent.clients.get(message.client);
        if (!client || message.sync !== client.syncRequested) return;
        // The answer to the latest request starts here: its first frame re-establishes stream and position.
        client.syncAnswered = message.sync;
        client.awaitingAnswer = true;
        return;
      }
      case 'hello':
        return;
    }
  }

  /** A binary frame from an agent connection: OUTPUT for every client, or TO_CLIENT for one. Throws ProtocolError if malformed. */
  agentFrame(agentId: string, peer: Peer, bytes: Uint8Array): void {
    const agent = this.agents.get(agentId);
    if (!agent || agent.peer !== peer) return;
    this.bytesFromAgents += bytes.length;
    const frame = decodeFrameOf(bytes, [FrameType.Output, FrameType.ToClient], 'agent');
    if (frame.type === FrameType.Output) {
      const terminal = agent.terminals.get(frame.terminal);
      if (!terminal) return;
      for (const client of agent.clients.values()) if (client.terminal === terminal.number) this.deliverLive(agent, terminal, client, frame, bytes);
      return;
    }
    const client = agent.clients.get(frame.client);
    if (!client) return; // it left while the agent was answering
    const inner = decodeFrame(frame.inner);
    if (inner.type === FrameType.Output || inner.type === FrameType.Snapshot) {
      const terminal = agent.terminals.get(inner.terminal);
      // An answer for a terminal the client no longer watches is dropped (a newer watch has its own sync).
      if (terminal && client.terminal === terminal.number) this.deliverSync(agent, terminal, client, inner, frame.inner);
      return;
    }
    // Acknowledgements and the channel's own frames go straight to the client, in order.
    client.peer.send(frame.inner);
  }

  /** The agent's connection closed; true if it was the agent's current one. */
  disconnectAgent(agentId: string, peer: Peer): boolean {
    const agent = this.agents.get(agentId);
    if (!agent || agent.peer !== peer) return false;
    agent.peer = undefined;
    this.broadcast(agent, { type: 'agent_offline', agent_id: agentId });
    this.forgetIfIdle(agent);
    return true;
  }

  /**
   * The agent is served by another relay of the group now: its connection here (if any) is replaced, and
   * the browsers here are told to reconnect at once, to be forwarded there.
   */
  moveAway(agentId: string): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    agent.peer?.close(CloseCode.Replaced, 'the agent connected through another relay of the group');
    for (const client of [...agent.clients.values()]) client.peer.close(CloseCode.Moved, 'the agent is served by another relay of the group now; reconnect');
  }

  /** Admits an authenticated client; returns null (after closing it) when the agent has too many. */
  connectClient(
    agentId: string,
    peer: Peer,
    hello: Hello,
    registeredName?: string,
    readOnly = false,
    from: { device?: string; address?: string } = {},
  ): ClientHandle | null {
    const agent = this.agent(agentId);
    if (agent.clients.size >= this.maxClients) {
      peer.close(CloseCode.TooMany, `an agent may have at most ${this.maxClients} clients`);
      this.forgetIfIdle(agent);
      return null;
    }
    const client: Client = {
      number: this.allocateNumber(),
      agentId,
      peer,
      session: hello.session,
      readOnly,
      device: from.device,
      address: from.address,
      terminal: null,
      stream: undefined,
      position: null,
      syncRequested: 0,
      syncAnswered: 0,
      awaitingAnswer: false,
      lagging: false,
      acked: null,
      ackedAt: this.now(),
      drain: new DrainRate(),
    };
    agent.clients.set(client.number, client);
    this.clientCount++;
    agent.name ??= registeredName;
    toClient(client, {
      type: 'connected',
      client_id: String(client.number),
      agent_id: agentId,
      agent_online: agent.peer !== undefined,
      name: agent.name,
      read_only: readOnly,
    });
    // What it watches, and from where, the agent says once the client's channel is open.
    if (agent.peer) toAgent(agent, joined(client));
    return client;
  }

  /** A control message from a client. */
  clientMessage(handle: ClientHandle, message: ClientToRelay): void {
    const client = this.client(handle);
    if (!client) return;
    if (message.type === 'ping') this.reply(client.peer, { type: 'pong', t: message.t });
    if (message.type === 'ack' && client.position !== null && message.terminal === client.terminal) {
      // Nobody can have processed more than it was sent.
      client.acked = Math.min(message.offset, client.position);
      client.ackedAt = this.now();
      client.drain.acked(client.acked, client.ackedAt);
      const agent = this.agents.get(client.agentId)!;
      const terminal = agent.terminals.get(client.terminal);
      if (terminal) this.updateFlow(agent, terminal);
    }
  }

  /** A binary frame from a client (INPUT, or its channel's HANDSHAKE and CHANNEL); throws ProtocolError if malformed. */
  clientFrame(handle: ClientHandle, bytes: Uint8Array): void {
    const client = this.client(handle);
    if (!client) return;
    this.bytesFromClients += bytes.length;
    const frame = decodeFrameOf(bytes, [FrameType.Input, FrameType.Handshake, FrameType.Channel], 'client');
    if (client.readOnly && frame.type === FrameType.Input) {
      this.reply(client.peer, { type: 'error', code: ErrorCode.ReadOnly, message: 'This is a read-only link: input is not accepted.' });
      return;
    }
    const agent = this.agents.get(client.agentId)!;
    if (!agent.peer) {
      this.reply(client.peer, { type: 'error', code: ErrorCode.AgentOffline, message: 'Agent is offline' });
      return;
    }
    agent.peer.send(encodeFromClient(client.number, bytes));
    if (frame.type === FrameType.Input) this.typed(agent, client);
  }

  /** A client typed: into a flood, that narrows the terminal's window for a while (TerminalFlow.typed). */
  private typed(agent: Agent, client: Client): void {
    const terminal = client.terminal === null ? undefined : agent.terminals.get(client.terminal);
    if (!terminal || client.acked === null || client.position === null) return;
    if (terminal.flow.typed(client.position - client.acked, this.now())) this.updateFlow(agent, terminal);
  }

  /** Closes the clients whose credential the agent took back: the links (replaced), or revoked devices. */
  revokeClients(agentId: string, change: { linkReplaced: boolean; removedDevices: readonly string[] }): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    for (const client of [...agent.clients.values()]) {
      const gone = client.device === undefined ? change.linkReplaced : change.removedDevices.includes(client.device);
      if (gone) client.peer.close(CloseCode.Unauthorized, client.device === undefined ? 'the link was replaced' : 'this device was revoked');
    }
  }

  /** The client's connection closed. */
  disconnectClient(handle: ClientHandle): void {
    const client = this.client(handle);
    if (!client) return;
    const agent = this.agents.get(client.agentId)!;
    agent.clients.delete(client.number);
    this.clientCount--;
    if (agent.peer) toAgent(agent, { type: 'client_left', client: client.number });
    this.unwatch(agent, client);
    this.forgetIfIdle(agent);
  }

  /** The agent says `client` watches `number` now (null: nothing), resuming from `resume` if that continues the terminal's stream. */
  private watch(agent: Agent, client: Client, number: number | null, resume: Resume | undefined): void {
    const terminal = number === null ? undefined : agent.terminals.get(number);
    this.unwatch(agent, client);
    if (!terminal) return;
    const continues = resume !== undefined && resume.stream === terminal.stream;
    client.terminal = terminal.number;
    client.stream = continues ? resume.stream : undefined;
    client.position = continues ? resume.offset : null;
    client.lagging = false;
    // A client that resumes has at least what it resumes from: it paces from there at once (taking over
    // from its departed self, if it was one).
    client.acked = continues ? resume.offset : null;
    client.ackedAt = this.now();
    client.drain.reset();
    terminal.flow.returned(client.session);
    this.updateFlow(agent, terminal);
    this.requestSync(agent, client);
  }

  /** The client stops watching what it watched: a pacing client paces as departed for a while, so it finds its place again. */
  private unwatch(agent: Agent, client: Client): void {
    const terminal = client.terminal === null ? undefined : agent.terminals.get(client.terminal);
    const acked = client.acked;
    const paced = acked !== null && terminal !== undefined && !terminal.flow.stalled(client, this.now());
    client.terminal = null;
    client.acked = null;
    client.drain.reset();
    client.syncRequested++; // answers on their way are for the old watch
    client.awaitingAnswer = false;
    if (!terminal) return;
    // The same client session back on another connection, watching this terminal, paces as itself already.
    const back = [...agent.clients.values()].some((c) => c !== client && c.session === client.session && c.terminal === terminal.number);
    if (paced && acked !== null && !back && !client.lagging && !client.readOnly && client.stream === terminal.stream) {
      terminal.flow.depart(client.session, acked, this.now());
    }
    this.updateFlow(agent, terminal);
  }

  /** A terminal is gone: its clients watch nothing (the agent tells them, sealed). */
  private closeTerminal(agent: Agent, terminal: Terminal): void {
    agent.terminals.delete(terminal.number);
    for (const client of agent.clients.values()) if (client.terminal === terminal.number) this.unwatch(agent, client);
  }

  /** Live output: forwarded only to a client whose position it continues; a gap means the client must be synced. */
  private deliverLive(agent: Agent, terminal: Terminal, client: Client, frame: OutputFrame, bytes: Uint8Array): void {
    if (client.lagging || client.syncAnswered !== client.syncRequested || client.awaitingAnswer) return;
    const next = client.position === null || client.stream !== terminal.stream ? 'gap' : continuation(client.position, frame.offset, frame.length);
    if (next === 'gap') {
      this.requestSync(agent, client);
      return;
    }
    if (next === 'repeats' || frame.length === 0) return; // the client has it (a sync answer brought it)
    if (client.acked !== null && client.acked === client.position) client.ackedAt = this.now(); // output waits for it from now on
    client.position = frame.offset + frame.length;
    this.send(agent, terminal, client, bytes);
  }

  /** Part of the agent's answer to a sync: forwarded if it answers the latest request. */
  private deliverSync(agent: Agent, terminal: Terminal, client: Client, frame: OutputFrame | SnapshotFrame, bytes: Uint8Array): void {
    if (client.lagging || client.syncAnswered !== client.syncRequested || client.syncAnswered === 0) return;
    let skipped = false;
    if (client.awaitingAnswer) {
      client.awaitingAnswer = false;
      client.stream = terminal.stream;
      // The answer starts here: what the client lacked before it (gone from the agent's buffer, or replaced
      // by a snapshot) is no output it has to process, so it does not hold the agent back.
      if (client.acked !== null && client.acked < frame.offset) {
        client.acked = frame.offset;
        client.drain.restart();
        skipped = true;
      }
    }
    if (client.acked !== null && client.acked === client.position) client.ackedAt = this.now(); // output waits for it from now on
    client.position = frame.type === FrameType.Snapshot ? frame.offset : frame.offset + frame.length;
    if (client.acked !== null && client.acked > client.position) {
      client.acked = null; // a new stream
      client.drain.reset();
    }
    this.send(agent, terminal, client, bytes);
    if (skipped) this.updateFlow(agent, terminal); // the limit may move now, not at the next re-evaluation
  }

  /**
   * Flow control (terminal-flow.ts): the limit follows the clients that pace the terminal, those watching its
   * stream that acknowledge output and are neither behind (lagging) nor read-only (a viewer cannot slow the
   * program down). With no pacing client there is no limit.
   */
  private updateFlow(agent: Agent, terminal: Terminal): void {
    // Computed even while the agent is offline (nothing is sent then): departed clients expire here.
    const pacers: Client[] = [];
    for (const c of agent.clients.values()) {
      if (c.terminal === terminal.number && !c.lagging && !c.readOnly && c.stream === terminal.stream) pacers.push(c);
    }
    const limit = terminal.flow.limit(pacers, this.now());
    if (limit !== undefined) toAgent(agent, { type: 'flow', terminal: terminal.number, limit });
  }

  private send(agent: Agent, terminal: Terminal, client: Client, bytes: Uint8Array): void {
    if (client.peer.send(bytes) <= this.highWater) return;
    client.lagging = true;
    this.updateFlow(agent, terminal);
    client.peer.onceBelow(this.lowWater, () => {
      if (!client.lagging || agent.clients.get(client.number) !== client || client.terminal !== terminal.number) return;
      client.lagging = false;
      this.requestSync(agent, client);
    });
  }

  /**
   * An answer to something `peer` sent. Dropped while more than `replyHighWater` waits for the peer: the
   * peer is not reading, and each of its messages would otherwise queue one more answer. (Pongs and
   * acknowledgements are only signs of life, and refusals of input are repeated by the next input.)
   */
  private reply(peer: Peer, message: RelayToClient | RelayToAgent): void {
    if (peer.waiting > this.replyHighWater) return;
    peer.send(encodeMessage(message));
  }

  private requestSync(agent: Agent, client: Client): void {
    if (!agent.peer || client.terminal === null) return;
    client.syncRequested++;
    client.awaitingAnswer = false;
    const resume: Resume | undefined =
      client.stream !== undefined && client.position !== null ? { stream: client.stream, offset: client.position } : undefined;
    toAgent(agent, { type: 'sync', client: client.number, terminal: client.terminal, sync: client.syncRequested, resume });
  }

  private broadcast(agent: Agent, message: RelayToClient): void {
    const text = encodeMessage(message);
    for (const client of agent.clients.values()) client.peer.send(text);
  }

  private agent(agentId: string): Agent {
    let agent = this.agents.get(agentId);
    if (!agent) {
      agent = { id: agentId, name: undefined, peer: undefined, terminals: new Map(), clients: new Map() };
      this.agents.set(agentId, agent);
      this.holding?.(agentId, true);
    }
    return agent;
  }

  private client(handle: ClientHandle): Client | undefined {
    return this.agents.get(handle.agentId)?.clients.get(handle.number);
  }

  private forgetIfIdle(agent: Agent): void {
    if (agent.peer || agent.clients.size > 0) return;
    for (const terminal of agent.terminals.values()) if (terminal.flow.awaitsDeparted) return;
    this.agents.delete(agent.id);
    this.holding?.(agent.id, false);
  }

  private allocateNumber(): number {
    const n = this.nextClient;
    this.nextClient = n >= 0xffffffff ? 1 : n + 1;
    return n;
  }
}

/** The message that introduces a client to its agent. */
function joined(client: Client): RelayToAgent {
  return {
    type: 'client_joined',
    client: client.number,
    session: client.session,
    read_only: client.readOnly,
    ...(client.device ? { device: client.device } : {}),
    ...(client.address ? { address: client.address } : {}),
  };
}

function toAgent(agent: Agent, message: RelayToAgent): void {
  agent.peer?.send(encodeMessage(message));
}

function toClient(client: Client, message: RelayToClient): void {
  client.peer.send(encodeMessage(message));
}
