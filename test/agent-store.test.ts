// Where a relay keeps its agents: one file per agent in the data directory (a registration writes one
// small file and touches no other), records that survive a restart, the single file of earlier versions
// moved on open, and agents registered but never connected forgotten after a while.

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, PROTOCOL_VERSION, accessToken, encodeMessage, newSecret, randomId, socketUrl, tokenVerifier, viewSecret } from '../src/protocol/index.js';
import { hashKey, newAgentRecord } from '../src/relay/agent-store.js';
import { cleanup, rawSocket, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';

afterEach(cleanup);

async function register(relayUrl: string): Promise<{ agent_id: string; agent_key: string }> {
  const response = await fetch(`${relayUrl}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(response.status).toBe(201);
  return (await response.json()) as { agent_id: string; agent_key: string };
}

/** How an agent connection with this id and key is answered: its close code, or 0 once the relay says `connected`. */
async function connectAs(relayUrl: string, id: string, key: string): Promise<number> {
  const socket = rawSocket(socketUrl(relayUrl, `/ws/agent/${id}`), { headers: { authorization: `Bearer ${key}` } });
  await socket.opened;
  const secret = newSecret();
  const verifier = (s: string): string => tokenVerifier(accessToken(s, id));
  socket.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, terminals: [], access: verifier(secret), view: verifier(viewSecret(secret, id)), devices: [] }));
  const answer = await Promise.race([socket.closed.then((c) => c.code), socket.messages.next((m) => m.text?.includes('"connected"') === true).then(() => 0)]);
  socket.ws.terminate();
  return answer;
}

describe('the file store', () => {
  it('keeps one file per agent: a registration writes its own file and leaves the others alone', async () => {
    const dataDir = tempDir();
    const relay = await startRelay({ dataDir });
    const first = await Promise.all([register(relay.url), register(relay.url), register(relay.url)]);
    const dir = join(dataDir, 'agents');
    const files = (): string[] => readdirSync(dir).sort();
    expect(files()).toEqual(first.map((r) => `${r.agent_id}.json`).sort());
    // A rewrite replaces a file by rename, so it would change its inode; a registration changes no other file.
    const before = new Map(files().map((f) => [f, { ino: statSync(join(dir, f)).ino, text: readFileSync(join(dir, f), 'utf8') }]));
    const fourth = await register(relay.url);
    expect(files()).toEqual([...before.keys(), `${fourth.agent_id}.json`].sort());
    for (const [file, was] of before) expect({ ino: statSync(join(dir, file)).ino, text: readFileSync(join(dir, file), 'utf8') }, file).toEqual(was);
    // Only hashes are stored.
    const stored = JSON.parse(readFileSync(join(dir, `${fourth.agent_id}.json`), 'utf8')) as Record<string, unknown>;
    expect(stored.keyHash).toBe(hashKey(fourth.agent_key));
    expect(JSON.stringify(stored)).not.toContain(fourth.agent_key);
    expect(statSync(join(dir, `${fourth.agent_id}.json`)).mode & 0o777).toBe(0o600);

    // An agent that connects updates its own file only (the verifiers of its links).
    const agent = await startAgent(relay.url);
    const agentFile = `${agent.agent.agentId}.json`;
    const others = new Map(files().filter((f) => f !== agentFile).map((f) => [f, statSync(join(dir, f)).ino]));
    expect(JSON.parse(readFileSync(join(dir, agentFile), 'utf8')).accessVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const [file, ino] of others) expect(statSync(join(dir, file)).ino, file).toBe(ino);

    // A new relay on the same directory knows every agent, and the agent's link still works.
    await agent.close();
    await relay.close();
    const again = await startRelay({ dataDir, port: relay.port });
    for (const { agent_id, agent_key } of [...first, fourth]) expect(await connectAs(again.url, agent_id, agent_key)).toBe(0);
    const back = await startAgent(again.url, { configDir: agent.configDir, cwd: agent.cwd });
    expect(back.url).toBe(agent.url);
    const client = new TestClient(back.url);
    client.type('echo kept-$((3*3))\r');
    await client.waitForOutput('kept-9');
  });

  it('moves the single agents.json of earlier versions into one file per agent', async () => {
    const dataDir = tempDir();
    const records = [newAgentRecord('a'), newAgentRecord('b')];
    writeFileSync(join(dataDir, 'agents.json'), JSON.stringify({ agents: records.map((r) => r.record) }));
    const relay = await startRelay({ dataDir });
    expect(existsSync(join(dataDir, 'agents.json'))).toBe(false);
    expect(readdirSync(join(dataDir, 'agents')).sort()).toEqual(records.map((r) => `${r.record.id}.json`).sort());
    for (const { record, key } of records) expect(await connectAs(relay.url, record.id, key)).toBe(0);
  });
});

describe('agents that never connect', () => {
  it('are forgotten after the time set (their key is refused and their file removed); agents that connected stay', async () => {
    const dataDir = tempDir();
    const relay = await startRelay({ dataDir, unconnectedAgentTtlMs: 300 });
    const connected = await startAgent(relay.url);
    const client = new TestClient(connected.url);
    await client.waitForState('online');
    const registered = Date.now();
    const abandoned = await register(relay.url);
    expect(existsSync(join(dataDir, 'agents', `${abandoned.agent_id}.json`))).toBe(true);
    const expired = await relay.logs.next((e) => e.event === 'agents_expired', 5000, 'the abandoned registration to expire');
    expect(Date.now() - registered).toBeGreaterThanOrEqual(300);
    expect(expired).toMatchObject({ count: 1 });
    expect(await connectAs(relay.url, abandoned.agent_id, abandoned.agent_key)).toBe(CloseCode.Unauthorized);
    expect(existsSync(join(dataDir, 'agents', `${abandoned.agent_id}.json`))).toBe(false);
    // The agent that connected long ago (in this test's time) is still known, and still serves its link.
    expect(existsSync(join(dataDir, 'agents', `${connected.agent.agentId}.json`))).toBe(true);
    client.type('echo still-$((5*5))\r');
    await client.waitForOutput('still-25');
  });
});
