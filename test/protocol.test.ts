// The protocol module: every message and frame round-trips; malformed and oversized input is refused
// with a ProtocolError carrying the right close code.

import { describe, expect, it } from 'vitest';
import { RelayRoute } from '../src/client/relay-route.js';
import {
  PROTOCOL_VERSION,
  agoText,
  clockText,
  percentText,
  sizeText,
  openDecision,
  openResult,
  parseAnswerRequest,
  sealDecision,
  sealResult,
  Backoff,
  RetrySchedule,
  closeAction,
  continuation,
  rateLimitReason,
  CloseCode,
  FrameType,
  MAX_CONTROL_BYTES,
  MAX_INPUT_CHUNK,
  ProtocolError,
  MAX_ATTENTION_MESSAGE,
  MAX_PATH_LENGTH,
  encodeChannelMessage,
  parseAgentChannel,
  parseClientChannel,
  type AgentChannelMessage,
  type ClientChannelMessage,
  accessToken,
  agentToRelay,
  checkControlSize,
  clientToRelay,
  closeReason,
  decodeFrame,
  decodeFrameOf,
  decodeInputRecord,
  IntegrityError,
  SEAL_OVERHEAD,
  pinProblem,
  nobleAead,
  type Aead,
  open as openBox,
  sealInto,
  setAead,
  encodeFromClient,
  encodeInputRecord,
  encodeMessage,
  encodeToClient,
  openFrame,
  sealInput,
  sealInputAck,
  sealOutput,
  sealSnapshot,
  openSnapshot,
  type SnapshotFrame,
  viewSecret,
  formatAccessLink,
  fromBase64Url,
  isId,
  isSecret,
  newSecret,
  parseAccessLink,
  parseAgentToRelay,
  parseClientToRelay,
  parseRelayToAgent,
  parseRelayToClient,
  randomBytes,
  randomId,
  channelPsk,
  deviceToken,
  pinPrs,
  relayToAgent,
  relayToClient,
  toBase64Url,
  tokenVerifier,
  type AgentToRelay,
  type ClientToRelay,
  type RelayToAgent,
  type RelayToClient,
  directUrlOfReason,
} from '../src/protocol/index.js';
import { nativeAead, nativeAeadAvailable, nodeAead, SMALL_BOX } from '../src/net/native-aead.js';
import { maskOptions, unmaskedTo } from '../src/net/ws-mask.js';
import { wasmAead, wasmPoly1305 } from '../src/wasm/aead.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';

const id = randomId();
const id2 = randomId();
const key = toBase64Url(randomBytes(32));

/** One valid sample of every message, per direction; the tests check the lists cover every type. */
const samples = {
  agentToRelay: [
    { type: 'hello', v: PROTOCOL_VERSION, name: 'laptop', terminals: [{ terminal: 1, stream: id }], access: key, view: key, devices: [{ id: id2, verifier: key, read_only: true }] },
    { type: 'credentials', access: key, view: key, devices: [] },
    { type: 'heartbeat' },
    { type: 'error', message: 'boom' },
    { type: 'sync_begin', client: 7, sync: 3 },
    { type: 'terminal_opened', terminal: 2, stream: id2 },
    { type: 'terminal_closed', terminal: 2 },
    { type: 'watch', client: 7, terminal: 1, resume: { stream: id, offset: 12345 } },
    { type: 'watch', client: 7, terminal: null },
    { type: 'push_register', subscription: id2, endpoint: 'https://fcm.googleapis.com/fcm/send/abc' },
    { type: 'push_unregister', subscription: id2 },
    { type: 'push', subscription: id2, payload: 'AAAA', ttl: 600, urgency: 'high', topic: 'session-1' },
    { type: 'answer_result', ref: 9, sealed: 'AAAA' },
    { type: 'answer_result', ref: 9 },
  ] satisfies AgentToRelay[],
  relayToAgent: [
    { type: 'connected', agent_id: id },
    { type: 'heartbeat_ack' },
    { type: 'client_joined', client: 7, session: id2, read_only: true, device: id, address: '203.0.113.7' },
    { type: 'client_left', client: 7 },
    { type: 'sync', client: 7, terminal: 1, sync: 3, resume: { stream: id, offset: 2 ** 40 } },
    { type: 'flow', terminal: 1, limit: 2 ** 33 },
    { type: 'flow', terminal: 0xffffffff, limit: null },
    { type: 'error', code: 'bad_message', message: 'nope' },
    { type: 'push_result', subscription: id2, status: 201 },
    { type: 'push_result', subscription: id2, status: 0, message: 'no such subscription registered by this agent' },
    { type: 'answer', ref: 9, answer: id2, sealed: 'AAAA' },
  ] satisfies RelayToAgent[],
  clientToRelay: [
    { type: 'hello', v: PROTOCOL_VERSION, token: key, device: id, session: id2 },
    { type: 'ping', t: 1700000000000 },
    { type: 'ack', terminal: 3, offset: 65536 },
  ] satisfies ClientToRelay[],
  relayToClient: [
    { type: 'connected', client_id: '7', agent_id: id, agent_online: true, name: '项目@host', read_only: false },
    { type: 'agent_online', agent_id: id },
    { type: 'agent_offline', agent_id: id },
    { type: 'error', code: 'agent_offline', message: 'Agent is offline' },
    { type: 'pong', t: 5 },
  ] satisfies RelayToClient[],
};

const tables = [
  ['agentToRelay', agentToRelay, parseAgentToRelay],
  ['relayToAgent', relayToAgent, parseRelayToAgent],
  ['clientToRelay', clientToRelay, parseClientToRelay],
  ['relayToClient', relayToClient, parseRelayToClient],
] as const;

function expectRefused(run: () => unknown, code: number = CloseCode.BadMessage, message?: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(code);
    if (message) expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a ProtocolError');
}

describe('control messages', () => {
  for (const [name, table, parse] of tables) {
    it(`${name}: every message type round-trips`, () => {
      const list = samples[name] as Array<{ type: string }>;
      expect(new Set(list.map((m) => m.type))).toEqual(new Set(Object.keys(table)));
      for (const message of list) expect(parse(encodeMessage(message as never))).toEqual(message);
    });
  }

  it('drops unknown fields (extensions are additive)', () => {
    expect(parseClientToRelay(JSON.stringify({ type: 'ping', t: 1, extra: 'x' }))).toEqual({ type: 'ping', t: 1 });
  });

  it('refuses malformed JSON, non-objects, missing and unknown types', () => {
    expectRefused(() => parseClientToRelay('{"type":'), CloseCode.BadMessage, /malformed JSON/);
    expectRefused(() => parseClientToRelay('[1,2]'), CloseCode.BadMessage, /object/);
    expectRefused(() => parseClientToRelay('null'), CloseCode.BadMessage, /object/);
    expectRefused(() => parseClientToRelay('{"t":1}'), CloseCode.BadMessage, /missing "type"/);
    expectRefused(() => parseClientToRelay('{"type":"input","data":"ls\\n"}'), CloseCode.BadMessage, /unknown type/);
    expectRefused(() => parseClientToRelay('{"type":"__proto__"}'), CloseCode.BadMessage, /unknown type/);
    expectRefused(() => parseAgentToRelay('{"type":"ping"}'), CloseCode.BadMessage, /unknown type/);
  });

  it('refuses wrong, missing, empty and oversized fields', () => {
    const hello = { type: 'hello', v: PROTOCOL_VERSION, token: key, session: id2 };
    expect(parseClientToRelay(JSON.stringify(hello))).toEqual(hello);
    expectRefused(() => parseClientToRelay(JSON.stringify({ ...hello, token: undefined })), CloseCode.BadMessage, /token/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ ...hello, token: '' })), CloseCode.BadMessage, /token/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ ...hello, token: 42 })), CloseCode.BadMessage, /token: expected a string/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ ...hello, token: 'x'.repeat(5000) })), CloseCode.BadMessage, /token/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ ...hello, token: `${key.slice(0, 42)}!` })), CloseCode.BadMessage, /format/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ ...hello, v: 1.5 })), CloseCode.BadMessage, /integer/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ type: 'ack', terminal: 1, offset: -1 })), CloseCode.BadMessage, /offset/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ type: 'ack', offset: 5 })), CloseCode.BadMessage, /terminal: missing/);
    expectRefused(() => parseClientToRelay(JSON.stringify({ type: 'ack', terminal: 0, offset: 5 })), CloseCode.BadMessage, /terminal/);
    // What the relay learns of a session is its number and its stream id: a name or a folder has no field to go in.
    expect(parseAgentToRelay(JSON.stringify({ type: 'terminal_opened', terminal: 1, stream: id, name: 'secret-project', cwd: '/home/me/secret' }))).toEqual({ type: 'terminal_opened', terminal: 1, stream: id });
    expectRefused(() => parseAgentToRelay(JSON.stringify({ type: 'watch', client: 1, terminal: 'one' })), CloseCode.BadMessage, /terminal/);
    expectRefused(() => parseAgentToRelay(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, terminals: Array.from({ length: 257 }, (_, i) => ({ terminal: i + 1, stream: id })), access: key, view: key, devices: [] })), CloseCode.BadMessage, /terminals/);
    expectRefused(() => parseAgentToRelay(JSON.stringify({ type: 'credentials', access: key, view: key, devices: [{ id, verifier: key }] })), CloseCode.BadMessage, /read_only/);
  });

  it('refuses control messages larger than the limit before parsing them', () => {
    const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_CONTROL_BYTES) });
    expectRefused(() => parseClientToRelay(big), CloseCode.BadMessage, /larger than/);
    // Counted in bytes where bytes are seen: 6,000 three-byte characters are 18,000 bytes.
    expectRefused(() => checkControlSize(Buffer.byteLength('中'.repeat(6000))), CloseCode.BadMessage, /larger than/);
    expect(() => checkControlSize(MAX_CONTROL_BYTES)).not.toThrow();
  });
});

describe('binary frames', () => {
  const data = new Uint8Array([0xe4, 0xb8, 0xad, 0x0a]);
  const K = randomBytes(32);
  const open = (frame: Uint8Array): Uint8Array => openFrame(K, decodeFrame(frame) as Parameters<typeof openFrame>[1]);
  const encodeOutput = (offset: number, bytes: Uint8Array): Uint8Array => sealOutput(K, 1, offset, bytes);
  const encodeInput = (seq: number, record: Uint8Array): Uint8Array => sealInput(K, seq, record);

  it('round-trip with terminals up to 2^32 - 1 and offsets up to 2^53 - 1; the relay sees headers and lengths only', () => {
    for (const [terminal, offset] of [[1, 0], [2, 1], [7, 2 ** 32 - 1], [0xffffffff, 2 ** 32], [3, 2 ** 40 + 5], [1, Number.MAX_SAFE_INTEGER]] as const) {
      const output = sealOutput(K, terminal, offset, data);
      expect(output.length).toBe(13 + SEAL_OVERHEAD + data.length);
      expect(decodeFrame(output)).toMatchObject({ type: FrameType.Output, terminal, offset, length: data.length });
      expect(open(output)).toEqual(data);
      // A snapshot's box starts with what it holds: the screen's bytes, or that there are none.
      const snapshot = sealSnapshot(K, terminal, offset, data);
      expect(snapshot.length).toBe(13 + SEAL_OVERHEAD + 1 + data.length);
      expect(decodeFrame(snapshot)).toMatchObject({ type: FrameType.Snapshot, terminal, offset, length: 1 + data.length });
      expect(openSnapshot(K, decodeFrame(snapshot) as SnapshotFrame)).toEqual({ kind: 'screen', data });
      const none = sealSnapshot(K, terminal, offset, new Uint8Array(0), 'unavailable');
      expect(openSnapshot(K, decodeFrame(none) as SnapshotFrame)).toEqual({ kind: 'unavailable', data: new Uint8Array(0) });
      // The bytes do not appear in the frames.
      for (const frame of [output, snapshot]) expect(Buffer.from(frame).includes(Buffer.from(data))).toBe(false);
    }
    expect(() => sealSnapshot(K, 1, 0, data, 'unavailable')).toThrow(RangeError);
    expect(decodeFrame(sealInputAck(K, 0xffffffff))).toMatchObject({ type: FrameType.InputAck, seq: 0xffffffff });
    expect(open(sealInputAck(K, 7))).toEqual(new Uint8Array(0));
    const input = encodeInput(9, encodeInputRecord({ kind: 'data', terminal: 4, data }));
    expect(decodeFrame(input)).toMatchObject({ type: FrameType.Input, seq: 9 });
    expect(decodeInputRecord(open(input))).toEqual({ kind: 'data', terminal: 4, data });
    expect(decodeFrame(encodeFromClient(3, input))).toEqual({ type: FrameType.FromClient, client: 3, inner: input });
    const out = encodeOutput(7, data);
    expect(decodeFrame(encodeToClient(0xfffffffe, out))).toEqual({ type: FrameType.ToClient, client: 0xfffffffe, inner: out });
  });

  it('decodes frames that sit at an offset inside a larger buffer', () => {
    const frame = encodeOutput(2 ** 33, data);
    const padded = new Uint8Array(frame.length + 3);
    padded.set(frame, 3);
    expect(decodeFrame(padded.subarray(3))).toMatchObject({ type: FrameType.Output, offset: 2 ** 33, length: data.length });
    expect(open(padded.subarray(3))).toEqual(data);
  });

  it('a box does not open after any change, at another position, or with another key', () => {
    const frame = encodeOutput(100, data);
    for (let i = 0; i < frame.length; i++) {
      const flipped = Uint8Array.from(frame);
      flipped[i]! ^= 0x01;
      // Flipping a header bit moves the frame (or makes it undecodable); flipping any other bit breaks the box.
      expect(() => open(flipped)).toThrow(ProtocolError);
    }
    const moved = Uint8Array.from(frame);
    moved[12] = 101; // the same box claimed for offset 101
    expect(() => open(moved)).toThrow(IntegrityError);
    const elsewhere = Uint8Array.from(frame);
    elsewhere[4] = 2; // the same box claimed for another terminal
    expect(() => open(elsewhere)).toThrow(IntegrityError);
    const asSnapshot = Uint8Array.from(frame);
    asSnapshot[0] = FrameType.Snapshot;
    expect(() => open(asSnapshot)).toThrow(IntegrityError);
    // A snapshot sealed by the right key but holding no valid snapshot (an unknown kind, nothing at all,
    // bytes in an unavailable one) is refused too.
    for (const plaintext of [[9, 0x41], [], [1, 0x41]]) {
      const bad = sealOutput(K, 1, 7, Uint8Array.from(plaintext));
      bad[0] = FrameType.Snapshot;
      const header = bad.subarray(0, 13);
      const resealed = new Uint8Array(bad.length);
      resealed.set(header);
      sealInto(K, header, Uint8Array.from(plaintext), resealed, 13);
      expect(() => openSnapshot(K, decodeFrame(resealed) as SnapshotFrame)).toThrow(ProtocolError);
    }
    expect(() => openFrame(randomBytes(32), decodeFrame(frame) as Parameters<typeof openFrame>[1])).toThrow(IntegrityError);
    // Two seals of the same bytes never look alike (fresh nonces).
    expect(Buffer.from(encodeOutput(100, data)).equals(Buffer.from(frame))).toBe(false);
  });

  it('gives every box its own nonce, across the refills of the nonce pool', () => {
    // Nonces come from random bytes fetched in bulk, 170 at a time: 1,000 boxes span several pools.
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const box = sealOutput(K, 1, i, data);
      seen.add(Buffer.from(box.subarray(13, 13 + 24)).toString('hex'));
      // Each still opens, so the nonce in the box is the one it was sealed with.
      expect(Buffer.from(openFrame(K, decodeFrame(box) as Parameters<typeof openFrame>[1])).equals(Buffer.from(data))).toBe(true);
    }
    expect(seen.size).toBe(1000);
  });

  it('refuses empty, truncated, unknown and misnested frames', () => {
    expectRefused(() => decodeFrame(new Uint8Array(0)), CloseCode.BadMessage, /empty/);
    expectRefused(() => decodeFrame(new Uint8Array([FrameType.Output, 0, 0])), CloseCode.BadMessage, /truncated/);
    expectRefused(() => decodeFrame(encodeOutput(1, data).subarray(0, 13 + SEAL_OVERHEAD - 1)), CloseCode.BadMessage, /truncated/);
    expectRefused(() => decodeFrame(new Uint8Array([FrameType.Input, 0, 0, 0, 1])), CloseCode.BadMessage, /truncated/);
    expectRefused(() => decodeFrame(new Uint8Array([FrameType.InputAck, 0, 0, 0, 1, 9])), CloseCode.BadMessage, /45 bytes/);
    expectRefused(() => decodeFrame(new Uint8Array([0x7f, 1, 2])), CloseCode.BadMessage, /unknown frame type/);
    expectRefused(() => decodeFrame(new Uint8Array([0x7b, 0x22])), CloseCode.BadMessage, /unknown frame type/); // JSON sent as binary
    expectRefused(() => decodeFrame(encodeToClient(1, encodeInput(1, new Uint8Array([0, 1])))), CloseCode.BadMessage, /cannot carry/);
    expectRefused(() => decodeFrame(encodeFromClient(1, encodeOutput(1, data))), CloseCode.BadMessage, /cannot carry/);
    expectRefused(() => decodeFrame(encodeToClient(1, encodeToClient(2, encodeOutput(1, data)))), CloseCode.BadMessage, /cannot carry/);
    // An envelope is checked down to the frame it carries: one of a kind it may carry, but malformed, is refused.
    expectRefused(() => decodeFrame(encodeFromClient(1, new Uint8Array([FrameType.Input, 0, 0, 0, 1]))), CloseCode.BadMessage, /truncated input/);
    const farOutput = encodeOutput(0, data);
    farOutput.fill(0xff, 5, 13);
    expectRefused(() => decodeFrame(encodeToClient(1, farOutput)), CloseCode.BadMessage, /out of range/);
    expectRefused(() => decodeFrame(encodeToClient(1, new Uint8Array([FrameType.InputAck, 0, 0, 0, 1]))), CloseCode.BadMessage, /45 bytes/);
    // Deeply nested envelopes are refused at the first level, without recursion.
    const nested = new Uint8Array(500_000);
    for (let i = 0; i < nested.length; i += 5) nested[i] = FrameType.ToClient;
    expectRefused(() => decodeFrame(nested), CloseCode.BadMessage, /cannot carry/);
    const tooFar = new Uint8Array(13 + SEAL_OVERHEAD);
    tooFar[0] = FrameType.Output;
    tooFar.fill(0xff, 5, 13);
    expectRefused(() => decodeFrame(tooFar), CloseCode.BadMessage, /out of range/);
  });

  it('refuses a frame type the receiver does not accept', () => {
    expectRefused(() => decodeFrameOf(encodeOutput(0, data), [FrameType.Input], 'client'), CloseCode.BadMessage, /not allowed/);
  });

  it('input records round-trip and bad ones are refused', () => {
    expect(decodeInputRecord(encodeInputRecord({ kind: 'data', terminal: 1, data }))).toEqual({ kind: 'data', terminal: 1, data });
    expect(decodeInputRecord(encodeInputRecord({ kind: 'resize', terminal: 0xffffffff, cols: 132, rows: 43 }))).toEqual({ kind: 'resize', terminal: 0xffffffff, cols: 132, rows: 43 });
    expectRefused(() => decodeInputRecord(new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 24])), CloseCode.BadMessage, /terminal size/);
    expectRefused(() => decodeInputRecord(new Uint8Array([1, 0, 0, 0, 1, 0, 80])), CloseCode.BadMessage, /9 bytes/);
    expectRefused(() => decodeInputRecord(new Uint8Array([9, 0, 0, 0, 1])), CloseCode.BadMessage, /unknown input record/);
    expectRefused(() => decodeInputRecord(new Uint8Array([0, 0, 0, 0, 0, 65])), CloseCode.BadMessage, /terminal 0/);
    expectRefused(() => decodeInputRecord(new Uint8Array(0)), CloseCode.BadMessage, /truncated/);
    expectRefused(() => decodeInputRecord(new Uint8Array([0, 0, 0, 1])), CloseCode.BadMessage, /truncated/);
    const huge = new Uint8Array(MAX_INPUT_CHUNK + 6);
    huge[4] = 1;
    expectRefused(() => decodeInputRecord(huge), CloseCode.BadMessage, /too large/);
    expect(() => encodeInputRecord({ kind: 'resize', terminal: 1, cols: 0, rows: 10 })).toThrow(RangeError);
    expect(() => encodeInputRecord({ kind: 'data', terminal: 0, data })).toThrow(RangeError);
    expect(() => encodeOutput(-1, data)).toThrow(RangeError);
  });
});

describe('end-to-end keys', () => {
  it('separate channel keys per credential and agent; a view secret gives no full-link key; tokens are unrelated to keys', () => {
    const secret = newSecret();
    const view = viewSecret(secret, id);
    expect(isSecret(view)).toBe(true);
    expect(view).not.toBe(secret);
    expect(viewSecret(secret, id2)).not.toBe(view);
    const device = randomId();
    const deviceSecret = newSecret();
    const keys = [
      channelPsk({ kind: 'link', secret, readOnly: false }, id),
      channelPsk({ kind: 'link', secret, readOnly: false }, id2),
      channelPsk({ kind: 'link', secret: view, readOnly: true }, id),
      // What a read-only holder could try: the full link's derivation from the view secret.
      channelPsk({ kind: 'link', secret: view, readOnly: false }, id),
      channelPsk({ kind: 'device', id: device, secret: deviceSecret, readOnly: false }, id),
      channelPsk({ kind: 'device', id: randomId(), secret: deviceSecret, readOnly: false }, id),
    ].map((k) => toBase64Url(k));
    expect(new Set(keys).size).toBe(keys.length);
    // The tokens the relay sees are unrelated to every key.
    const tokens = [accessToken(secret, id), accessToken(view, id), deviceToken(deviceSecret, id, device)];
    for (const t of tokens) expect(keys).not.toContain(t);
    expect(new Set(tokens).size).toBe(3);
  });
});

describe('channel messages about sessions', () => {
  const session = {
    terminal: 3,
    name: 'project',
    cwd: '/home/me/project',
    kind: 'claude',
    command: 'claude --resume abc',
    state: 'running',
    waiting: true,
    waiting_for: 'Claude needs your permission to use Bash',
    started_at: 1_700_000_000_000,
    last_activity: 1_700_000_000_500,
  } as const;

  it('round-trip: sessions, streams, exits and attention events', () => {
    const messages = [
      { type: 'sessions', sessions: [session, { ...session, terminal: 4, state: 'exited', exit_code: 2, waiting: false, waiting_for: undefined, worktree: 'fix/login' }], max: 16 },
      { type: 'stream', terminal: 3, stream: id, key, end: 2 ** 40, run: 2 },
      { type: 'stream_key', terminal: 3, key, from: 99 },
      { type: 'exit', terminal: 3, message: 'claude exited with code 0', exit_code: 0, end: 5, run: 1, restarting: false },
      { type: 'attention', terminal: 3, kind: 'notification', message: '许可 ✓ "quoted" \\ \u{1F600}'.repeat(40).slice(0, MAX_ATTENTION_MESSAGE) },
      { type: 'started', request: 7, terminal: 5 },
      { type: 'conversations', request: 8, cwd: '/p', conversations: [{ id: 'dd704ee1-3381-40fa-8ea3-44c3023b3785', time: 5, prompt: 'fix the tests' }] },
      { type: 'folders', request: 9, path: '/home/me', parent: null, entries: [{ name: 'project', path: '/home/me/project', git: true }] },
      { type: 'refused', request: 7, message: 'no' },
      { type: 'warning', terminal: 3, message: 'the screen mirror does not work' },
    ] as const;
    for (const message of messages) {
      const clean = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
      expect(parseAgentChannel(encodeChannelMessage(message as unknown as AgentChannelMessage))).toEqual(clean);
    }
    for (const message of [
      { type: 'watch', terminal: 3, resume: { stream: id, offset: 7 } },
      { type: 'watch', terminal: null },
      { type: 'start', request: 1, kind: 'claude', cwd: '/home/me/project', conversation: 'dd704ee1-3381-40fa-8ea3-44c3023b3785' },
      { type: 'start', request: 2, kind: 'command', command: ['bash', '-l'], worktree: 'feature/x' },
      { type: 'end', terminal: 3 },
      { type: 'dismiss', terminal: 3 },
      { type: 'conversations', request: 3, cwd: '/p' },
      { type: 'folders', request: 4 },
    ] as const) {
      expect(parseClientChannel(encodeChannelMessage(message as unknown as ClientChannelMessage))).toEqual(message);
    }
  });

  it('refuses what a person would be shown with control characters, and what does not fit', () => {
    const bad = (message: unknown): Uint8Array => Buffer.from(JSON.stringify(message));
    expect(() => parseAgentChannel(bad({ type: 'sessions', sessions: [{ ...session, name: 'x\u001b]52;c;AAAA\u0007' }], max: 16 }))).toThrow(ProtocolError);
    expect(() => parseAgentChannel(bad({ type: 'sessions', sessions: [{ ...session, cwd: '/tmp/\u001b[2J' }], max: 16 }))).toThrow(ProtocolError);
    expect(() => parseAgentChannel(bad({ type: 'sessions', sessions: [{ ...session, state: 'zombie' }], max: 16 }))).toThrow(ProtocolError);
    expect(() => parseAgentChannel(bad({ type: 'attention', terminal: 1, kind: 'bell' }))).toThrow(ProtocolError);
    expect(() => parseAgentChannel(bad({ type: 'attention', terminal: 1, kind: 'stop', message: 'x'.repeat(MAX_ATTENTION_MESSAGE + 1) }))).toThrow(ProtocolError);
    expect(() => parseAgentChannel(bad({ type: 'exit', terminal: 0, message: 'x', end: 0, run: 1, restarting: false }))).toThrow(ProtocolError);
    expect(() => parseClientChannel(bad({ type: 'start', request: 1, kind: 'root' }))).toThrow(ProtocolError);
    expect(() => parseClientChannel(bad({ type: 'start', request: 1, kind: 'claude', conversation: '../../etc/passwd' }))).toThrow(ProtocolError);
    expect(() => parseClientChannel(bad({ type: 'start', request: 1, kind: 'claude', worktree: 'a branch; rm -rf' }))).toThrow(ProtocolError);
    expect(() => parseClientChannel(bad({ type: 'start', request: 1, kind: 'claude', cwd: 'x'.repeat(MAX_PATH_LENGTH + 1) }))).toThrow(ProtocolError);
    expect(() => parseClientChannel(bad({ type: 'watch', terminal: -1 }))).toThrow(ProtocolError);
  });
});

describe('native and WebAssembly ciphers (Node.js sides)', () => {
  const implementations: [string, Aead][] = [
    ['OpenSSL', nativeAead],
    ['WebAssembly', wasmAead],
    ['the two by size', nodeAead],
  ];

  it.each(implementations)('%s seals and opens the same boxes as the pure-JS cipher, both ways, at every size class; refuses altered boxes', (_, fast) => {
    expect(nativeAeadAvailable()).toBe(true);
    const key = randomBytes(32);
    const header = Uint8Array.from([FrameType.Output, 0, 0, 0, 0, 0, 0, 0, 7]);
    const seal = (plaintext: Uint8Array): Uint8Array => {
      const out = new Uint8Array(plaintext.length + SEAL_OVERHEAD);
      sealInto(key, header, plaintext, out, 0);
      return out;
    };
    try {
      for (const size of [0, 1, 8, 15, 16, 17, 63, 64, 65, SMALL_BOX - 1, SMALL_BOX, 4096, 65_536, 100_003]) {
        // An unaligned key and plaintext exercise the copying paths too.
        const plaintext = Uint8Array.from({ length: size + 1 }, (_, i) => (i * 131 + size) & 0xff).subarray(1);
        setAead(undefined);
        const byNoble = seal(plaintext);
        setAead(fast);
        const byFast = seal(plaintext);
        expect(Buffer.from(openBox(key, header, byNoble, 'box')).equals(Buffer.from(plaintext))).toBe(true);
        setAead(undefined);
        expect(Buffer.from(openBox(key, header, byFast, 'box')).equals(Buffer.from(plaintext))).toBe(true);
        // As received from a socket: Node Buffers at odd offsets inside a larger (pooled) buffer.
        setAead(fast);
        const received = Buffer.concat([Buffer.alloc(3), Buffer.from(byNoble)]).subarray(3);
        const keyView = Buffer.concat([Buffer.alloc(1), Buffer.from(key)]).subarray(1);
        expect(Buffer.from(openBox(keyView, header, received, 'box')).equals(Buffer.from(plaintext))).toBe(true);
        for (const aead of [fast, undefined]) {
          setAead(aead);
          const altered = Uint8Array.from(byFast);
          altered[altered.length - 1 - (size % 17)]! ^= 0x80;
          expect(() => openBox(key, header, altered, 'box')).toThrow(IntegrityError);
          expect(() => openBox(key, Uint8Array.from([...header.subarray(0, 8), 8]), byFast, 'box')).toThrow(IntegrityError);
        }
      }
    } finally {
      setAead(undefined);
    }
  });

  it.each(implementations)('%s makes byte for byte the boxes of the pure-JS cipher, for every length of text up to 300 bytes and of associated data up to 40, and each altered bit fails (ciphertext, every byte of the tag, associated data, nonce, key)', (_, fast) => {
    for (let length = 0; length <= 300; length++) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const aad = randomBytes(length % 41);
      const plaintext = randomBytes(length);
      const [byNoble, byFast] = [nobleAead, fast].map((aead) => {
        const sealed = new Uint8Array(length + 16);
        aead.seal(key, nonce, aad, plaintext, sealed);
        return sealed;
      });
      expect(Buffer.from(byFast!).equals(Buffer.from(byNoble!)), `length ${length}`).toBe(true);
      expect(Buffer.from(fast.open(key, nonce, aad, byNoble!)).equals(Buffer.from(plaintext))).toBe(true);
      // One bit of the ciphertext (its first, middle and last byte), of each byte of the tag, of the
      // associated data, the nonce or the key.
      const flip = (bytes: Uint8Array, at = length % bytes.length): Uint8Array => {
        const copy = Uint8Array.from(bytes);
        copy[at]! ^= 1 << (at % 8);
        return copy;
      };
      const positions = new Set([0, length >> 1, Math.max(0, length - 1), ...Array.from({ length: 16 }, (_, i) => length + i)]);
      for (const at of positions) expect(() => fast.open(key, nonce, aad, flip(byNoble!, at)), `byte ${at} of ${length + 16}`).toThrow();
      if (aad.length > 0) expect(() => fast.open(key, nonce, flip(aad), byNoble!)).toThrow();
      expect(() => fast.open(key, flip(nonce), aad, byNoble!)).toThrow();
      expect(() => fast.open(flip(key), nonce, aad, byNoble!)).toThrow();
    }
  });

  it('WebAssembly refuses a box that does not fit what it is given, and seals the next one as before', () => {
    const [key, nonce, aad, plaintext] = [randomBytes(32), randomBytes(24), randomBytes(9), randomBytes(100)];
    expect(() => wasmAead.seal(key, nonce, aad, plaintext, new Uint8Array(100))).toThrow(/text and its tag/);
    expect(() => wasmAead.seal(key.subarray(1), nonce, aad, plaintext, new Uint8Array(116))).toThrow(/32-byte key/);
    const [byFast, byNoble] = [wasmAead, nobleAead].map((aead) => {
      const sealed = new Uint8Array(116);
      aead.seal(key, nonce, aad, plaintext, sealed);
      return Buffer.from(sealed);
    });
    expect(byFast!.equals(byNoble!)).toBe(true);
  });

  it("WebAssembly's Poly1305 gives @noble/ciphers' tags where its arithmetic has edges: sums at and just past 2^130 - 5, carries through every limb, the key's second half carrying out of 128 bits", () => {
    const block = (fill: number, last = fill): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? last : fill));
    const keyOf = (r: Uint8Array, s: Uint8Array): Uint8Array => Uint8Array.from([...r, ...s]);
    const rOne = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 1 : 0));
    const rTwo = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 2 : 0));
    // The largest r clamping allows, and r with only its top limb.
    const rMax = Uint8Array.from([0xff, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f]);
    const rTop = Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 0x0f : 0));
    const zero = new Uint8Array(16);
    const ones = block(0xff);
    const cases: [Uint8Array, Uint8Array][] = [];
    for (const r of [rOne, rTwo, rMax, rTop]) {
      for (const s of [zero, ones, block(0xff, 0x7f), Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x05 : 0))]) {
        // With r = 1, two blocks of all ones sum to 2^130 - 2, past the modulus; others land just below or on it.
        for (const message of [[ones], [ones, ones], [ones, block(0xfe), block(0x01)], [block(0xfb, 0xff), ones], [block(0xfd, 0xff)], [zero], [zero, zero, ones]]) {
          cases.push([keyOf(r, s), Uint8Array.from(message.flatMap((b) => [...b]))]);
        }
      }
    }
    for (let n = 0; n < 300; n++) cases.push([randomBytes(32), randomBytes(16 * (n % 9))]);
    for (const [key, message] of cases) {
      expect(Buffer.from(wasmPoly1305(key, message)).toString('hex'), Buffer.from(key).toString('hex')).toBe(Buffer.from(poly1305(message, key)).toString('hex'));
    }
  });

  it('WebAssembly matches the RFC 8439 test vector of ChaCha20-Poly1305 under an XChaCha20 subkey (draft-irtf-cfrg-xchacha, A.3.1)', () => {
    const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'));
    const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const sealed = new Uint8Array(plaintext.length + 16);
    wasmAead.seal(key, nonce, aad, plaintext, sealed);
    expect(Buffer.from(sealed.subarray(plaintext.length)).toString('hex')).toBe('c0875924c1c7987947deafd8780acf49');
    expect(Buffer.from(sealed.subarray(0, 16)).toString('hex')).toBe('bd6d179d3e83d43b9576579493c0e939');
  });
});

describe('PIN', () => {
  it('refuses PINs that are too short or too long (NFKC: full-width digits count as digits)', () => {
    expect(pinProblem('12345')).toMatch(/at least 6/);
    expect(pinProblem('123456')).toBeUndefined();
    expect(pinProblem('２４６８１０')).toBeUndefined();
    expect(pinProblem('x'.repeat(65))).toMatch(/at most 64/);
    // The PIN's password string is its NFKC form: the same PIN typed with full-width digits is the same PIN.
    expect(pinPrs('２４６８１０')).toEqual(pinPrs('246810'));
  });
});

describe('encodings, secrets and links', () => {
  it('base64url round-trips every length and refuses other characters', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = randomBytes(n);
      const text = toBase64Url(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(fromBase64Url(text)).toEqual(bytes);
    }
    expect(() => fromBase64Url('ab+c')).toThrow(/character/);
    expect(() => fromBase64Url('abcde')).toThrow(/length/);
  });

  it('ids and secrets are random and well-formed', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => randomId()));
    expect(ids.size).toBe(1000);
    for (const value of ids) expect(isId(value)).toBe(true);
    expect(isSecret(newSecret())).toBe(true);
    expect(isSecret('short')).toBe(false);
  });

  it('the access token depends on the secret and the agent; the verifier on the token', () => {
    const secret = newSecret();
    const token = accessToken(secret, id);
    expect(accessToken(secret, id)).toBe(token);
    expect(accessToken(secret, id2)).not.toBe(token);
    expect(accessToken(newSecret(), id)).not.toBe(token);
    expect(token).toHaveLength(43);
    expect(tokenVerifier(token)).toHaveLength(43);
    expect(tokenVerifier(token)).not.toBe(token);
    expect(tokenVerifier(accessToken(secret, id2))).not.toBe(tokenVerifier(token));
  });

  it('access links round-trip, with or without a path prefix', () => {
    const secret = newSecret();
    for (const relayUrl of ['https://relay.example.com', 'http://192.168.1.5:8080', 'https://example.com/ccr']) {
      const link = formatAccessLink({ relayUrl, agentId: id, secret });
      expect(link).toBe(`${relayUrl}/a/${id}#${secret}`);
      expect(parseAccessLink(link)).toEqual({ relayUrl, agentId: id, secret });
      const view = formatAccessLink({ relayUrl, agentId: id, secret, readOnly: true });
      expect(view).toBe(`${relayUrl}/a/${id}#view.${secret}`);
      expect(parseAccessLink(view)).toEqual({ relayUrl, agentId: id, secret, readOnly: true });
      const pinned = formatAccessLink({ relayUrl, agentId: id, secret, pin: true });
      expect(pinned).toBe(`${relayUrl}/a/${id}#pin.${secret}`);
      expect(parseAccessLink(pinned)).toEqual({ relayUrl, agentId: id, secret, pin: true });
      const pinnedView = formatAccessLink({ relayUrl, agentId: id, secret, readOnly: true, pin: true });
      expect(pinnedView).toBe(`${relayUrl}/a/${id}#view.pin.${secret}`);
      expect(parseAccessLink(pinnedView)).toEqual({ relayUrl, agentId: id, secret, readOnly: true, pin: true });
    }
    expect(() => parseAccessLink(`https://x.example/a/${id}#pin.view.${secret}`)).toThrow(/secret/);
    expect(() => parseAccessLink(`https://x.example/a/${id}#view.`)).toThrow(/secret/);
    expect(() => parseAccessLink(`https://x.example/a/${id}#view.${secret.slice(1)}`)).toThrow(/secret/);
    expect(() => parseAccessLink(`https://x.example/a/${id}`)).toThrow(/missing its secret/);
    expect(() => parseAccessLink(`https://x.example/a/${id}#`)).toThrow(/secret/);
    expect(() => parseAccessLink(`https://x.example/a/bad#${secret}`)).toThrow(/agent id/);
    expect(() => parseAccessLink('ftp://x/a/y#z')).toThrow(/not an access link/);
  });
});

describe('helpers', () => {
  it('close reasons are cut to 123 bytes without splitting characters', () => {
    expect(closeReason('short')).toBe('short');
    const cut = closeReason('é'.repeat(100));
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
    expect(cut).toBe('é'.repeat(61));
  });

  it('backoff grows, is capped, jitters in the upper half, and resets', () => {
    const low = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const high = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1000]);
    high.reset();
    expect(high.next()).toBe(100);
  });

  it('one table says what a close means for agents and for clients', () => {
    // A refused key makes an agent register again; a client refused with its link or device stops.
    expect(closeAction('agent', CloseCode.Unauthorized)).toBe('register');
    expect(closeAction('client', CloseCode.Unauthorized)).toBe('fatal');
    for (const role of ['agent', 'client'] as const) {
      for (const code of [CloseCode.UnsupportedVersion, CloseCode.ForbiddenOrigin, CloseCode.Replaced]) expect(closeAction(role, code)).toBe('fatal');
      for (const code of [CloseCode.GoingAway, CloseCode.RateLimited, CloseCode.TooMany, CloseCode.Idle, 1006]) expect(closeAction(role, code)).toBe('retry');
    }
    expect(closeAction('client', CloseCode.BadMessage)).toBe('fatal');
    expect(closeAction('agent', CloseCode.BadMessage)).toBe('retry');
  });

  it('one rule says whether output continues, repeats or leaves a gap', () => {
    expect(continuation(100, 100, 10)).toBe('continues');
    expect(continuation(100, 95, 10)).toBe('continues'); // overlaps: the new part is taken
    expect(continuation(100, 100, 0)).toBe('continues'); // an empty frame confirms the position
    expect(continuation(100, 90, 10)).toBe('repeats');
    expect(continuation(100, 90, 0)).toBe('repeats');
    expect(continuation(100, 101, 5)).toBe('gap');
  });

  it('sizes, durations and ages read the same on the terminal, in the CLI and on the page', () => {
    expect([sizeText(0), sizeText(1), sizeText(100_000), sizeText(1 << 20), sizeText(25 * (1 << 20) + (1 << 19))]).toEqual(['0 KiB', '1 KiB', '98 KiB', '1.0 MiB', '25.5 MiB']);
    expect([percentText(0, 10), percentText(999, 1000), percentText(5, 5), percentText(0, 0)]).toEqual(['0 %', '99 %', '100 %', '100 %']);
    expect([clockText(0), clockText(7.9), clockText(750), clockText(3723), clockText(-1)]).toEqual(['0:00', '0:07', '12:30', '1:02:03', '0:00']);
    const now = Date.UTC(2026, 0, 10);
    const before = (seconds: number): string => agoText(now - seconds * 1000, now);
    expect([before(3), before(40), before(185), before(7_300), before(5 * 86_400), before(-5)]).toEqual(['just now', '40 s ago', '3 min ago', '2 h ago', '5 d ago', 'just now']);
  });

  it('a rate-limited close waits as long as the relay said, at least', () => {
    const retry = new RetrySchedule({ baseMs: 100, capMs: 1000, random: () => 0 });
    expect(retry.delayAfter(CloseCode.RateLimited, rateLimitReason(7_000))).toBe(7_000);
    expect(retry.delayAfter(CloseCode.GoingAway, 'restarting')).toBe(100);
    expect(retry.delayAfter(CloseCode.RateLimited, 'no wait given')).toBe(200);
    expect(retry.attempts).toBe(3);
    retry.succeeded();
    expect(retry.attempts).toBe(0);
  });
});

describe('moving between the relays of a group', () => {
  it('a Moved close reconnects at once; moved again before a connection worked, it waits the backoff', () => {
    const retry = new RetrySchedule({ baseMs: 100, capMs: 1000, random: () => 0 });
    expect(retry.delayAfter(CloseCode.Moved, 'moved')).toBeLessThan(100);
    expect(retry.delayAfter(CloseCode.Moved, 'moved')).toBe(100);
    expect(retry.delayAfter(CloseCode.Moved, 'moved')).toBe(200);
    retry.succeeded();
    expect(retry.delayAfter(CloseCode.Moved, 'moved')).toBeLessThan(100);
  });
});

describe('which relay of a group a client connects to (relay-route.ts)', () => {
  const agent = 'A'.repeat(22);
  it('follows a Direct close at once, goes back asking to be forwarded when that relay cannot be reached, and starts over at the link otherwise', () => {
    const route = new RelayRoute('https://relay.example.com/');
    expect(route.socketUrl(agent)).toBe(`wss://relay.example.com/ws/client/${agent}`);
    // A Direct close the route does not follow waits the backoff: a relay that keeps sending bad ones cannot
    // make the client reconnect without pause (one it follows goes at once: closed() says so).
    const schedule = (): RetrySchedule => new RetrySchedule({ baseMs: 100, capMs: 1000, random: () => 0 });
    const notFollowed = schedule().delayAfter(CloseCode.Direct, 'javascript:alert(1)');
    expect(notFollowed).toBeGreaterThan(0);
    expect(notFollowed).toBe(schedule().delayAfter(CloseCode.GoingAway, 'restarting'));
    // Sent to the relay serving the agent, admitted there; when that connection ends, back to the link's relay.
    route.closed(CloseCode.Direct, 'https://relay2.example.com');
    expect(route.socketUrl(agent)).toBe(`wss://relay2.example.com/ws/client/${agent}`);
    route.admitted();
    route.closed(CloseCode.Moved, 'moved');
    expect(route.socketUrl(agent)).toBe(`wss://relay.example.com/ws/client/${agent}`);
    // Sent there again, but it cannot be reached: the link's relay is asked to forward.
    route.closed(CloseCode.Direct, 'http://10.0.0.12:8080');
    expect(route.socketUrl(agent)).toBe(`ws://10.0.0.12:8080/ws/client/${agent}`);
    expect(route.closed(1006, '')).toBe(true);
    expect(route.socketUrl(agent)).toBe(`wss://relay.example.com/ws/client/${agent}?forward`);
    // Nor is a refusal by a relay it was sent to final (that relay may not take the page's origin).
    route.closed(CloseCode.Direct, 'https://relay2.example.com');
    expect(route.closed(CloseCode.ForbiddenOrigin, 'origin not allowed')).toBe(true);
    expect(route.socketUrl(agent)).toBe(`wss://relay.example.com/ws/client/${agent}?forward`);
    expect(route.closed(CloseCode.ForbiddenOrigin, 'origin not allowed')).toBe(false);
    route.closed(CloseCode.GoingAway, 'restarting');
    expect(route.socketUrl(agent)).toBe(`wss://relay.example.com/ws/client/${agent}`);
    // A reason that is not a relay URL is not followed; nor are relays that keep sending the client on.
    for (const reason of ['javascript:alert(1)', 'https://evil.example.com/path', 'https://a b', `https://${'x'.repeat(130)}.com`]) {
      expect(directUrlOfReason(reason)).toBeUndefined();
      const fresh = new RelayRoute('https://relay.example.com');
      expect(fresh.closed(CloseCode.Direct, reason)).toBe(false);
      expect(fresh.socketUrl(agent)).toBe(`wss://relay.example.com/ws/client/${agent}?forward`);
    }
    const bounced = new RelayRoute('https://relay.example.com');
    const followed = [1, 2, 3, 4, 5].map((n) => bounced.closed(CloseCode.Direct, `https://relay${n}.example.com`) && bounced.socketUrl(agent));
    expect(followed.slice(2)).toEqual([`wss://relay3.example.com/ws/client/${agent}`, false, false]);
    expect(bounced.socketUrl(agent)).toBe(`wss://relay.example.com/ws/client/${agent}?forward`);
    // Admitted somewhere, it follows again.
    bounced.admitted();
    expect(bounced.closed(CloseCode.Direct, 'https://relay6.example.com')).toBe(true);
  });
});

describe('answers from a notification (answer.ts)', () => {
  const agent = 'A'.repeat(22);
  const answer = 'B'.repeat(22);
  const key = new Uint8Array(32).fill(7);

  it('a decision opens with its key, for its agent and answer id, in its direction only', () => {
    const decision = { decision: 'allow' as const, sent_at: 1_800_000_000_000 };
    const sealed = sealDecision(key, agent, answer, decision);
    expect(openDecision(key, agent, answer, sealed)).toEqual(decision);
    expect(() => openDecision(new Uint8Array(32), agent, answer, sealed)).toThrow(IntegrityError);
    expect(() => openDecision(key, 'C'.repeat(22), answer, sealed)).toThrow(IntegrityError);
    expect(() => openDecision(key, agent, 'C'.repeat(22), sealed)).toThrow(IntegrityError);
    // A decision is no result, and the other way round: a relay cannot reflect one as the other.
    expect(() => openResult(key, agent, answer, sealed)).toThrow(IntegrityError);
    const result = { outcome: 'allowed' as const, message: 'Allowed from phone.' };
    const sealedResult = sealResult(key, agent, answer, result);
    expect(openResult(key, agent, answer, sealedResult)).toEqual(result);
    expect(() => openDecision(key, agent, answer, sealedResult)).toThrow(IntegrityError);
    // Sealed twice, the same decision gives two boxes (a fresh nonce each time).
    expect(sealDecision(key, agent, answer, decision)).not.toBe(sealed);
  });

  it('refuses what is not a decision even when it opens, and malformed requests', () => {
    const bogus = sealDecision(key, agent, answer, { decision: 'maybe', sent_at: 1 } as never);
    expect(() => openDecision(key, agent, answer, bogus)).toThrow(/decision/);
    expect(() => parseAnswerRequest({ agent_id: agent, answer, sealed: 'not base64url!' })).toThrow(/sealed/);
    expect(() => parseAnswerRequest({ agent_id: 'short', answer, sealed: 'AAAA' })).toThrow(/agent_id/);
    expect(parseAnswerRequest({ agent_id: agent, answer, sealed: 'AAAA' })).toEqual({ agent_id: agent, answer, sealed: 'AAAA' });
  });
});

describe('masking of the frames our WebSocket clients send (agent to relay, relay to relay)', () => {
  it('is skipped only where no proxy can read the traffic: TLS, or this machine', () => {
    for (const url of ['https://relay.example', 'wss://relay.example/ws/client/x', 'http://127.0.0.1:8080', 'ws://127.0.0.2:9/ws', 'http://localhost:3000', 'http://[::1]:3000']) {
      expect(unmaskedTo(url), url).toBe(true);
      const mask = Buffer.from([1, 2, 3, 4]);
      maskOptions(url).generateMask!(mask);
      expect([...mask], url).toEqual([0, 0, 0, 0]);
    }
    for (const url of ['http://relay.example', 'ws://10.0.0.7:8080/ws/client/x', 'http://128.0.0.1', 'ws://127.example.com']) {
      expect(unmaskedTo(url), url).toBe(false);
      expect(maskOptions(url), url).toEqual({});
    }
  });
});
