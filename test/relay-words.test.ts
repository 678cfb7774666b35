// What a relay says is data: a fake relay answers with escape sequences in every name, reason and message
// it can, and `ccremote attach` and `ccremote agent` print none of them as terminal controls; a registration
// answer that is not one is a clear error and nothing is saved; the printed link is built from the relay
// URL the agent was given, never from what the relay answers.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, newSecret, printable, randomId } from '../src/protocol/index.js';
import { killAll, runCli } from './helpers/cli.js';
import { IdentityFile } from '../src/agent/identity.js';
import { atCleanup, cleanup, shellEnv, startAgent, startRelay, tempDir } from './helpers/system.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

/** Everything a terminal would act on: ESC, the C1 controls, BEL, other C0 controls but line breaks. */
const CONTROL = /[\x00-\x09\x0b-\x0c\x0e-\x1f\x7f-\x9f]/;

/** Words a hostile relay puts everywhere: a clipboard write (OSC 52), a title, cursor moves, a fake line. */
const HOSTILE = '\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x07\x1b[2J\x1b[Hclean\r\n12:00:00 fake line\u009b31m\u202eevil';

/** A fake relay: `http` answers HTTP requests, `ws` every WebSocket. */
async function fakeRelay(http: (req: IncomingMessage, res: ServerResponse) => void, ws: (socket: WebSocket, path: string) => void): Promise<string> {
  const server = createServer(http);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => ws(socket, req.url ?? ''));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  atCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('printable', () => {
  it('removes escape sequences and controls, keeps every printable character, makes one line', () => {
    expect(printable(HOSTILE)).toBe('clean 12:00:00 fake lineevil');
    expect(printable('laptop — 日本語 🚀 café')).toBe('laptop — 日本語 🚀 café');
    expect(printable('tab\there\x1b')).toBe('tab here');
    expect(printable('\x1bP1$qm\x1b\\dcs \x1b_apc\x1b\\ok \x1b(B\x1b7')).toBe('dcs ok ');
  });
});

describe('attach prints the relay’s words as data', () => {
  it('error messages and close reasons lose their escape sequences', async () => {
    // (Names and exit statuses reach attach from the agent, sealed end to end; the relay's own words are these.)
    const agentId = randomId();
    const relayUrl = await fakeRelay(
      (_req, res) => answer(res, 404, {}),
      (socket) => {
        socket.once('message', () => {
          socket.send(JSON.stringify({ type: 'connected', client_id: '1', agent_id: agentId, agent_online: false, name: 'n\x1b]52;c;aGk=\x07ame', read_only: false }));
          socket.send(JSON.stringify({ type: 'error', code: 'process_error', message: HOSTILE }));
          socket.close(CloseCode.Unauthorized, '\x1b[31mred\x1b]52;c;aGk=\x07');
        });
      },
    );
    const attach = runCli(['attach', `${relayUrl}/a/${agentId}#${newSecret()}`]);
    expect((await attach.exited).code).toBe(2);
    const said = attach.stderr();
    expect(said).toContain('agent offline');
    expect(said).toContain('clean 12:00:00 fake lineevil');
    expect(said).not.toMatch(CONTROL);
    // Each notice is one line: the relay cannot add lines of its own.
    expect(said.split('\n').filter((line) => line.includes('fake line')).every((line) => line.startsWith('[ccremote] '))).toBe(true);
  });
});

describe('the agent prints the relay’s words as data and checks its answers', () => {
  it('a registration refusal and a close reason with escape sequences are printed without them', async () => {
    const refusing = await fakeRelay((_req, res) => answer(res, 403, { error: 'forbidden', message: HOSTILE }), () => undefined);
    const home = tempDir();
    const refused = runCli(['agent', '--relay', refusing, '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh'], shellEnv(home));
    expect((await refused.exited).code).toBe(1);
    expect(refused.stderr()).toMatch(/the relay refused registration \(HTTP 403: clean 12:00:00 fake lineevil\)/);
    expect(refused.stderr()).not.toMatch(CONTROL);

    const agentId = randomId();
    const replacing = await fakeRelay(
      (_req, res) => answer(res, 201, { agent_id: agentId, agent_key: newSecret() }),
      (socket) => socket.close(CloseCode.Replaced, `\x1b]52;c;aGk=\x07\x1b[2J${'x'.repeat(20)}\r\nfake`),
    );
    const closed = runCli(['agent', '--relay', replacing, '--no-qr', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh'], shellEnv(home));
    expect((await closed.exited).code).toBe(1);
    expect(closed.stderr()).toMatch(/closed the connection for good \(4409: x{20} fake\)/);
    expect(closed.stderr()).not.toMatch(CONTROL);
    expect(closed.stdout().toString()).not.toMatch(/\x1b\]|\x1b\[2J/);
  });

  it('a registration answer that is not one (a key with a line break, a short key, a bad id) is a clear error and nothing is saved', async () => {
    for (const [body, field] of [
      [{ agent_id: randomId(), agent_key: `${newSecret().slice(0, 41)}\r\n` }, /agent_key: has an invalid format/],
      [{ agent_id: randomId(), agent_key: newSecret().slice(0, 20) }, /agent_key: length must be 43\.\.43/],
      [{ agent_id: 'not an id', agent_key: newSecret() }, /agent_id/],
      ['not json', /answer: expected an object/],
    ] as const) {
      const relayUrl = await fakeRelay((_req, res) => (typeof body === 'string' ? (res.writeHead(201), res.end(body)) : answer(res, 201, body)), () => undefined);
      const configDir = tempDir();
      await expect(startAgent(relayUrl, { configDir })).rejects.toThrow(field);
      await expect(startAgent(relayUrl, { configDir })).rejects.toThrow(/not a valid registration.*nothing was saved/);
      const agents = join(configDir, 'agents');
      expect(existsSync(agents) ? readdirSync(agents).filter((f) => f.endsWith('.json')) : []).toEqual([]);
    }
  });

  it('the printed link is built from the relay URL the agent was given, not from the client_url it is answered', async () => {
    const agentId = randomId();
    const relayUrl = await fakeRelay(
      (_req, res) => answer(res, 201, { agent_id: agentId, agent_key: newSecret(), client_url: `https://phish.example/a/${agentId}` }),
      (socket) => socket.once('message', () => socket.send(JSON.stringify({ type: 'connected', agent_id: agentId }))),
    );
    const agent = await startAgent(relayUrl);
    expect(agent.url.startsWith(`${relayUrl}/a/${agentId}#`)).toBe(true);
    expect(agent.agent.viewUrl!.startsWith(`${relayUrl}/a/${agentId}#view.`)).toBe(true);
  });

  it('an identity saved with a bad key (by an older version) is registered again instead of breaking every start', async () => {
    const relay = await startRelay();
    const configDir = tempDir();
    const cwd = tempDir();
    const file = new IdentityFile(configDir, relay.url, cwd);
    await file.save({ relayUrl: relay.url, cwd, agentId: randomId(), agentKey: `${newSecret().slice(0, 41)}\r\n`, secret: newSecret(), linkCreatedAt: Date.now(), linkUsed: { full: false, view: false }, devices: [] });
    const agent = await startAgent(relay.url, { configDir, cwd });
    expect(agent.events.items.some((e) => e.event === 'registered')).toBe(true);
    expect((await file.load(relay.url, cwd)).agentKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
