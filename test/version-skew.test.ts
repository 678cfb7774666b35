// A page, an agent and a relay of different versions: a request the agent does not know is refused (the page
// does not wait for an answer that never comes), and a message a page or an agent does not know is reported
// once and ignored (it does not drop the connection and reconnect over and over).

import { afterEach, describe, expect, it } from 'vitest';
import { ChannelHost, type OpenChannel } from '../src/agent/channel-host.js';
import {
  FrameType,
  PROTOCOL_VERSION,
  accessToken,
  decodeFrame,
  decodeFrameOf,
  encodeMessage,
  formatAccessLink,
  linkViewSecret,
  parseAccessLink,
  randomBytes,
  randomId,
  sealChannel,
  socketUrl,
  toBase64Url,
  tokenVerifier,
  utf8,
  type AgentChannelMessage,
  type ClientChannelMessage,
} from '../src/protocol/index.js';
import { relayBehindHostile } from './helpers/hostile-relay.js';
import { EventLog } from './helpers/wait.js';
import { admittedRawClient, channelMessages, cleanup, openRawChannel, rawSocket, startAgent, startRelay, TestClient } from './helpers/system.js';

afterEach(cleanup);

/**
 * An agent made of the library's channel host on a bare socket to the relay, with no terminal: what it
 * sends on a channel is up to the test, so it can speak as a newer agent would. Requests get what
 * `answer` sends (by default nothing, as agents said nothing to requests they did not know before they
 * learned to refuse them).
 */
async function channelOnlyAgent(
  relayUrl: string,
  answer: (host: ChannelHost, client: number, message: ClientChannelMessage) => void = () => undefined,
): Promise<{ link: string; host: ChannelHost; opened: EventLog<number>; close(): void }> {
  const registration = (await (await fetch(`${relayUrl}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { agent_id: string; agent_key: string };
  const agentId = registration.agent_id;
  const secret = toBase64Url(randomBytes(32));
  const socket = rawSocket(socketUrl(relayUrl, `/ws/agent/${agentId}`), { headers: { authorization: `Bearer ${registration.agent_key}` } });
  await socket.opened;
  const opened = new EventLog<number>();
  const host: ChannelHost = new ChannelHost(
    { send: (data) => (socket.ws.send(data), 0) },
    {
      agentId: () => agentId,
      linkSecret: () => secret,
      linkUsable: () => true,
      devices: () => [],
      pin: undefined,
      welcome: () => ({ instance: randomId(), name: 'newer' }),
    },
    {
      opened: (client) => {
        host.send(client, { type: 'sessions', sessions: [], max: 4 });
        opened.push(client);
      },
      refused: () => undefined,
      pair: async () => undefined,
      revoke: async () => false,
      bad: () => undefined,
      request: async (client: number, _channel: OpenChannel, message: ClientChannelMessage): Promise<void> => answer(host, client, message),
    },
  );
  socket.ws.on('message', (data: Buffer, binary: boolean) => {
    if (!binary) {
      const message = JSON.parse(data.toString()) as { type: string; client?: number; address?: string };
      if (message.type === 'client_joined') host.joined(message.client!, message.address);
      if (message.type === 'client_left') host.left(message.client!);
      return;
    }
    const frame = decodeFrameOf(data, [FrameType.FromClient], 'relay');
    const inner = decodeFrame(frame.inner);
    if (inner.type === FrameType.Handshake) host.handshake(frame.client, inner);
    if (inner.type === FrameType.Channel) host.channel(frame.client, inner);
  });
  const view = linkViewSecret({ kind: 'link', secret, readOnly: false }, agentId)!;
  socket.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, terminals: [], access: tokenVerifier(accessToken(secret, agentId)), view: tokenVerifier(accessToken(view, agentId)), devices: [] }));
  await socket.messages.next((m) => m.text?.includes('"connected"') === true, 10_000, 'connected');
  return { link: formatAccessLink({ relayUrl, agentId, secret }), host, opened, close: () => socket.ws.close() };
}

describe('versions that differ', () => {
  it('an agent refuses a request it does not know, by its number, and the channel goes on', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const { relayUrl, agentId, secret } = parseAccessLink(agent.url);
    const credential = { kind: 'link', secret, readOnly: false } as const;
    const { raw, session } = await admittedRawClient(relayUrl, agentId, credential);
    const channel = await openRawChannel(raw, agentId, credential, { session });
    // A request of a later version, and one without a number.
    raw.ws.send(sealChannel(channel.keys.send, 1, utf8(JSON.stringify({ type: 'teleport', request: 7, to: 'mars' }))));
    raw.ws.send(sealChannel(channel.keys.send, 2, utf8(JSON.stringify({ type: 'beam\u0007me', up: true }))));
    const refusals = () => channelMessages(raw, channel).filter((m) => m.type === 'refused');
    await raw.messages.until(() => refusals().length >= 2, 10_000, 'both refused');
    expect(refusals()[0]).toEqual({ type: 'refused', request: 7, message: expect.stringMatching(/does not know “teleport” requests: it is older than the page/) });
    expect(refusals()[1]).toEqual({ type: 'refused', message: expect.stringMatching(/does not know “beam\?me” requests/) });
    // The same channel still answers what the agent knows.
    raw.ws.send(sealChannel(channel.keys.send, 3, utf8(JSON.stringify({ type: 'devices' }))));
    await raw.messages.until(() => channelMessages(raw, channel).some((m) => m.type === 'devices'), 10_000, 'the device list');
    expect(agent.events.items.filter((e) => e.event === 'input_rejected').map((e) => e.reason)).toEqual(['channel: unknown type "teleport"', 'channel: unknown type "beam?me"']);
  });

  it('an agent told a message it does not know by the relay says so once, ignores it and stays connected', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url);
    const phone = new TestClient(through(agent.url));
    await phone.waitForState('online');
    const connection = hostile.connections('agent');
    for (let i = 0; i < 3; i++) hostile.inject('agent', connection, JSON.stringify({ type: 'forecast', sunny: i }));
    phone.type('echo after-$((40 + 2))\r');
    await phone.waitForOutput('after-42');
    const warnings = () => agent.events.items.filter((e) => e.event === 'warning' && /forecast/.test(e.message));
    await agent.events.until(() => warnings().length > 0, 10_000, 'the warning');
    expect(warnings()).toEqual([{ event: 'warning', message: 'the relay sent a "forecast" message this agent does not know (the relay is newer: update ccremote here); ignored' }]);
    expect(hostile.connections('agent')).toBe(connection);
    expect(agent.events.items.filter((e) => e.event === 'relay_disconnected')).toEqual([]);
  });

  it('a request an older agent never answers fails after a while, and the channel goes on', async () => {
    const relay = await startRelay();
    const older = await channelOnlyAgent(relay.url, (host, client, message) => {
      if (message.type === 'folders') host.send(client, { type: 'folders', request: message.request, path: '/home', parent: '/', entries: [] });
    });
    const phone = new TestClient(older.link, { answerTimeoutMs: 300 });
    await phone.welcomes.next(() => true, 10_000, 'the channel');
    const noAnswer = /^The agent did not answer\. It may be older than this page: update ccremote on the computer\.$/;
    await expect(phone.session.listRecordings()).rejects.toThrow(noAnswer);
    await expect(phone.session.uploadFile(1, 'photo.png', new Uint8Array(100))).rejects.toThrow(noAnswer);
    // What it does answer is still answered, on the same channel.
    await expect(phone.session.listFolders()).resolves.toEqual({ path: '/home', parent: '/', entries: [] });
    expect(phone.welcomes.items).toHaveLength(1);
    phone.close();
    older.close();
  });

  it('a client told a message it does not know says so once, ignores it and stays connected', async () => {
    const relay = await startRelay();
    const newer = await channelOnlyAgent(relay.url);
    const phone = new TestClient(newer.link);
    const client = await newer.opened.next(() => true, 10_000, 'the channel');
    for (let i = 0; i < 3; i++) newer.host.send(client, { type: 'hologram', frame: i } as unknown as AgentChannelMessage);
    newer.host.send(client, { type: 'refused', message: 'still here' });
    const said = await phone.errors.next((e) => e.message === 'still here', 10_000, 'the message after them');
    expect(said.code).toBe('refused');
    expect(phone.errors.items.filter((e) => e.code === 'unknown_message')).toEqual([
      { code: 'unknown_message', message: expect.stringMatching(/a “hologram” message this client does not know: the agent is newer/) },
    ]);
    expect(phone.welcomes.items).toHaveLength(1);
    expect(newer.opened.items).toHaveLength(1);
    phone.close();
    newer.close();
  });
});
