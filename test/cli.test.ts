// The `ccremote` command as a user runs it: relay and agent with --json, attach in a pipe, help and
// errors, and clean shutdown on signals.

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { availableParallelism, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli, killAll } from './helpers/cli.js';
import { throwawayCertificate } from './helpers/certificate.js';
import { EventLog } from './helpers/wait.js';
import { asCredential, cleanup, pairDevice, rawSocket, shellEnv, tempDir, TestClient } from './helpers/system.js';
import { randomId, socketUrl } from '../src/protocol/index.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

async function relayAndAgent(agentArgs: string[] = ['--', '/bin/sh'], env: NodeJS.ProcessEnv = {}) {
  const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
  const listening = await relay.events.next((e) => e.event === 'listening');
  const url = listening.url as string;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const home = tempDir();
  const agent = runCli(['agent', '--relay', url, '--json', '--config-dir', join(home, 'config'), '--cwd', home, ...agentArgs], { ...shellEnv(home), ...env });
  const ready = await agent.events.next((e) => e.event === 'ready', 15_000, 'agent ready');
  expect(ready).toMatchObject({ agentId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), url: expect.stringContaining(`${url}/a/`), viewUrl: expect.stringMatching(/#view\.(pin\.)?[A-Za-z0-9_-]{43}$/) });
  return { relay, agent, url, link: ready.url as string, home };
}

describe('ccremote relay and agent', () => {
  it('print JSON events, and the agent serves a terminal a client can use', async () => {
    const { link } = await relayAndAgent();
    const client = new TestClient(link);
    client.type('echo cli-$((4*4))\r');
    await client.waitForOutput('cli-16');
  });

  it('stop cleanly on SIGTERM and SIGINT, ending the command too', async () => {
    const { relay, agent, link } = await relayAndAgent(['--', '/bin/sh', '-c', 'echo pid=$$; exec sleep 1000']);
    const client = new TestClient(link);
    const pid = Number(/pid=(\d+)/.exec(await client.waitForOutput(/pid=\d+/))![1]);
    expect(() => process.kill(pid, 0)).not.toThrow();
    agent.child.kill('SIGINT');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await client.waitForState('agent_offline');
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    expect(relay.events.items.at(-1)).toEqual({ event: 'closed' });
  });

  it("the command does not see the agent's secrets in its environment (CCREMOTE_PIN, CCREMOTE_REGISTRATION_TOKEN)", async () => {
    const env = { CCREMOTE_PIN: 'secret-pin-4242', CCREMOTE_REGISTRATION_TOKEN: 'secret-token-4242', KEPT_VARIABLE: 'kept' };
    const command = 'echo "pin=${CCREMOTE_PIN-unset} token=${CCREMOTE_REGISTRATION_TOKEN-unset} other=$KEPT_VARIABLE"; env; echo "env-$((1+1))-done"; read x';
    const { link } = await relayAndAgent(['--', '/bin/sh', '-c', command], env);
    const client = new TestClient(link);
    await client.waitForOutput('env-2-done');
    expect(client.text).toContain('pin=unset token=unset other=kept');
    expect(client.text).not.toContain('secret-pin-4242');
    expect(client.text).not.toContain('secret-token-4242');
  });

  it('the agent exits with the command exit code', async () => {
    const { agent, link } = await relayAndAgent(['--', '/bin/sh', '-c', 'read x; exit 5']);
    const client = new TestClient(link);
    await client.waitForState('online');
    client.type('\r');
    expect((await agent.exited).code).toBe(5);
    expect(agent.events.items).toContainEqual(expect.objectContaining({ event: 'exit', exitCode: 5, restarting: false }));
  });
});

describe('ccremote relay limits', () => {
  it('--max-connections-per-address and --max-connections cap WebSocket connections (429 and 503)', async () => {
    /** Three WebSocket upgrades to a relay started with `args`: the status each got (101 when admitted). */
    const threeUpgrades = async (args: string[]): Promise<number[]> => {
      const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json', ...args]);
      const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
      const upgrade = (): Promise<number> =>
        new Promise((resolve) => {
          const socket = rawSocket(socketUrl(url, `/ws/client/${randomId()}`), { origin: url });
          socket.ws.once('open', () => resolve(101));
          socket.ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        });
      return [await upgrade(), await upgrade(), await upgrade()];
    };
    expect(await threeUpgrades(['--max-connections-per-address', '2'])).toEqual([101, 101, 429]);
    expect(await threeUpgrades(['--max-connections', '2'])).toEqual([101, 101, 503]);
  });
});

describe('ccremote agent, as people read it', () => {
  it('says on its terminal when a device pairs and connects, and from where; --link-ttl ends a link that paired nothing', async () => {
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
    const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const agent = runCli(['agent', '--relay', url, '--no-qr', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh'], shellEnv(home));
    await expect.poll(() => /\/a\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]{43}\b/.test(agent.stdout().toString()), { timeout: 15_000 }).toBe(true);
    const link = /(http:\/\/\S+\/a\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]{43})\b/.exec(agent.stdout().toString())![1]!;
    const paired = await pairDevice(link, 'desk phone');
    await expect.poll(() => agent.stderr()).toMatch(/paired a new device, "desk phone" \(can type\) from 127\.0\.0\.1; it no longer needs the link/);
    const device = new TestClient(link, { credential: asCredential(paired) });
    await device.waitForState('online');
    await expect.poll(() => agent.stderr()).toMatch(/device "desk phone" connected \(can type\) from 127\.0\.0\.1/);

    // The same flag as people give it: a link nobody paired with stops working once its time is up.
    const other = tempDir();
    const short = runCli(['agent', '--relay', url, '--json', '--link-ttl', '1s', '--config-dir', join(other, 'config'), '--cwd', other, '--', '/bin/sh'], shellEnv(other));
    const shortLink = (await short.events.next((e) => e.event === 'ready', 15_000, 'agent ready')).url as string;
    const madeAt = Date.now();
    await expect.poll(() => Date.now() - madeAt, { timeout: 5_000 }).toBeGreaterThan(1_200);
    expect(await new TestClient(shortLink).waitForState('failed')).toMatchObject({ refused: 'link_expired' });
    expect(await short.events.next((e) => e.event === 'refused')).toMatchObject({ reason: 'link_expired' });
  });
});

describe('ccremote relay over TLS', () => {
  it('serves HTTPS and WSS with --tls-cert and --tls-key; agent and attach connect through it', async () => {
    const { cert, key } = throwawayCertificate(tempDir());
    const trust = { NODE_EXTRA_CA_CERTS: cert };
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json', '--tls-cert', cert, '--tls-key', key]);
    const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const page = await new Promise<IncomingMessage>((resolve, reject) => httpsGet(`${url}/`, { ca: readFileSync(cert) }, resolve).on('error', reject));
    page.resume();
    expect(page.statusCode).toBe(200);
    expect(page.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");

    const home = tempDir();
    const agent = runCli(['agent', '--relay', url, '--json', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh', '-c', 'read x; echo "tls $x"'], {
      ...shellEnv(home),
      ...trust,
    });
    const link = (await agent.events.next((e) => e.event === 'ready', 15_000, 'agent ready')).url as string;
    expect(link.startsWith(`${url}/a/`)).toBe(true);
    const attach = runCli(['attach', link], trust);
    attach.child.stdin.write('works\n');
    expect((await attach.exited).code).toBe(0);
    expect(attach.stdout().toString()).toContain('tls works');
  });
});

describe('ccremote attach', () => {
  it('writes the session output bytes exactly as the PTY produced them when piped, and forwards piped input', async () => {
    const home = tempDir();
    const data = randomBytes(48 * 1024);
    writeFileSync(join(home, 'data.bin'), data);
    // Raw mode: the terminal passes every byte through unchanged.
    const { link } = await relayAndAgent(['--', '/bin/sh', '-c', `stty raw -echo; cat ${join(home, 'data.bin')}; read x; exit 0`]);
    const attach = runCli(['attach', link]);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (attach.stdout().length >= data.length) {
          attach.child.stdout.off('data', check);
          resolve();
        }
      };
      attach.child.stdout.on('data', check);
      check();
    });
    attach.child.stdin.write('\n');
    const { code } = await attach.exited;
    expect(code).toBe(0);
    expect(attach.stdout().equals(data)).toBe(true);
    expect(attach.stderr()).toContain('exited with code 0');
  });

  it('with --pin: the PIN comes from CCREMOTE_PIN (or the terminal), never the command line, and attach needs it', async () => {
    const short = runCli(['agent', '--relay', 'http://127.0.0.1:9', '--pin', '--', '/bin/sh'], { CCREMOTE_PIN: '12345' });
    expect((await short.exited).code).toBe(2);
    expect(short.stderr()).toMatch(/at least 6/);
    const noTerminal = runCli(['agent', '--relay', 'http://127.0.0.1:9', '--pin', '--', '/bin/sh'], { CCREMOTE_PIN: '' });
    expect((await noTerminal.exited).code).toBe(2);
    expect(noTerminal.stderr()).toMatch(/CCREMOTE_PIN/);

    const { link } = await relayAndAgent(['--pin', '--', '/bin/sh', '-c', 'read x; echo "got $x"; exit 0'], { CCREMOTE_PIN: 'open-sesame' });
    expect(link).toMatch(/#pin\.[A-Za-z0-9_-]{43}$/);
    const withoutPin = runCli(['attach', link], { CCREMOTE_PIN: '' });
    expect((await withoutPin.exited).code).toBe(2);
    expect(withoutPin.stderr()).toMatch(/CCREMOTE_PIN/);
    const wrongPin = runCli(['attach', link], { CCREMOTE_PIN: 'open-sesame!' });
    expect((await wrongPin.exited).code).toBe(2);
    expect(wrongPin.stderr()).toMatch(/Wrong PIN/);
    const attach = runCli(['attach', link], { CCREMOTE_PIN: 'open-sesame' });
    attach.child.stdin.write('pin-ok\n');
    expect((await attach.exited).code).toBe(0);
    expect(attach.stdout().toString()).toContain('got pin-ok');
  });

  it('relay --direct-url: refused clearly when it is not a bare http(s) address, too long for a close reason, or without a group', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--redis', 'redis://127.0.0.1:9', '--direct-url', 'relay1.example.com'], /--direct-url takes http\(s\):\/\/HOST/],
      [['--redis', 'redis://127.0.0.1:9', '--direct-url', 'https://relay1.example.com/ccremote'], /--direct-url takes http\(s\):\/\/HOST/],
      [['--redis', 'redis://127.0.0.1:9', '--direct-url', 'https://relay1 .example.com'], /--direct-url takes http\(s\):\/\/HOST/],
      [['--redis', 'redis://127.0.0.1:9', '--direct-url', `https://${'r'.repeat(120)}.example.com`], /at most 123 characters/],
      [['--direct-url', 'https://relay1.example.com'], /give --redis too/],
    ];
    for (const [args, message] of cases) {
      const relay = runCli(['relay', '--memory', '--port', '0', ...args]);
      expect((await relay.exited).code).toBe(2);
      expect(relay.stderr()).toMatch(message);
    }
  });

  it('refuses a link without its secret with a clear message', async () => {
    const { link } = await relayAndAgent();
    const attach = runCli(['attach', link.split('#')[0]!]);
    expect((await attach.exited).code).toBe(2);
    expect(attach.stderr()).toMatch(/missing its secret/);
    const wrong = runCli(['attach', `${link.split('#')[0]}#${'A'.repeat(43)}`]);
    expect((await wrong.exited).code).toBe(2);
    expect(wrong.stderr()).toMatch(/link is not valid/);
  });
});

describe('help and usage', () => {
  it('documents every option of every command', async () => {
    for (const command of [[], ['relay'], ['agent'], ['attach'], ['doctor']]) {
      const run = runCli([...command, '--help']);
      expect((await run.exited).code).toBe(0);
      const text = run.stdout().toString();
      expect(text).toMatch(/Usage: ccremote/);
      expect(text).toMatch(/--help/);
    }
    const relayHelp = runCli(['relay', '--help']);
    await relayHelp.exited;
    for (const option of ['--port', '--host', '--public-url', '--data-dir', '--memory', '--tls-cert', '--json', '--allow-origin', '--max-connections', '--max-connections-per-address', '--trust-proxy']) {
      expect(relayHelp.stdout().toString()).toContain(option);
    }
    const agentHelp = runCli(['agent', '--help']);
    await agentHelp.exited;
    for (const option of ['--relay', '--name', '--cwd', '--config-dir', '--restart', '--rotate', '--buffer-size', '--json']) {
      expect(agentHelp.stdout().toString()).toContain(option);
    }
  });

  it('rejects bad usage with exit code 2 and a message', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['agent'], /--relay URL is required/],
      [['relay', '--port', 'eighty'], /not a port/],
      [['relay', '--max-connections', 'many'], /--max-connections must be a whole number/],
      [['relay', '--trust-proxy', 'everyone'], /--trust-proxy: not an IP address or prefix: everyone/],
      [['relay', '--trust-proxy', '10.0.0.0/33'], /--trust-proxy: not an IP address or prefix/],
      [['relay', '--trust-proxy'], /argument missing/],
      [['relay', '--max-connections-per-address', '0'], /--max-connections-per-address must be a whole number of at least 1/],
      [['relay', '--bogus'], /Unknown option/],
      [['attach'], /expected URL/],
      [['frobnicate'], /unknown command/],
      [['agent', '--relay', 'ftp://x'], /relay URL must start with http/],
      [['agent', '--relay', 'http://127.0.0.1:9', '--buffer-size', 'lots'], /not a size/],
      [['agent', '--relay', 'http://127.0.0.1:9', '--', 'no-such-command-here'], /command not found: no-such-command-here/],
    ];
    for (const [args, message] of cases) {
      const run = runCli(args, { XDG_CONFIG_HOME: tempDir() });
      const { code } = await run.exited;
      expect(code, args.join(' ')).toBe(2);
      expect(run.stderr(), args.join(' ')).toMatch(message);
    }
  });
});

describe('ccremote --version and doctor', () => {
  it('--version prints the package version', async () => {
    const run = runCli(['--version']);
    expect((await run.exited).code).toBe(0);
    expect(run.stdout().toString()).toBe(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  });

  it('doctor checks Node, the terminal, the screen mirror, Claude Code, the config folder and the relay', async () => {
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
    const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const bin = fileURLToPath(new URL('../node_modules/.bin', import.meta.url));
    const good = runCli(['doctor', '--json', '--relay', url, '--config-dir', join(home, 'config')], { ...shellEnv(home), PATH: `${bin}:${process.env.PATH}` });
    expect((await good.exited).code).toBe(0);
    const checks = good.events.items.filter((e) => e.event === 'check');
    expect(checks.map((c) => c.check)).toEqual(['node', 'pty', 'mirror', 'claude', 'config', 'relay']);
    expect(checks.every((c) => c.ok === true)).toBe(true);
    expect(checks.find((c) => c.check === 'claude')?.detail).toMatch(/^Claude Code \d+\.\d+\.\d+/);
    expect(checks.find((c) => c.check === 'relay')?.detail).toMatch(/answers \(ccremote \d+\.\d+\.\d+\)/);
    expect(good.events.items.at(-1)).toEqual({ event: 'done', ok: true, problems: 0 });

    // No claude on the PATH, a config folder that cannot be made, a relay that is not there.
    writeFileSync(join(home, 'a-file'), '');
    const closed = `http://127.0.0.1:${new URL(url).port}`;
    relay.child.kill('SIGKILL');
    await relay.exited;
    const bad = runCli(['doctor', '--relay', closed, '--config-dir', join(home, 'a-file', 'config')], { ...shellEnv(home), PATH: tempDir() });
    expect((await bad.exited).code).toBe(1);
    const text = bad.stdout().toString();
    expect(text).toMatch(/✓ Node\.js \d+/);
    expect(text).toMatch(/✓ @lydell\/node-pty .* runs commands in a terminal/);
    expect(text).toMatch(/✓ screen mirror/);
    expect(text).toMatch(/✗ Claude Code \(claude\) is not on the PATH → install it: npm install -g @anthropic-ai\/claude-code/);
    expect(text).toMatch(/✗ config folder .*a-file\/config is not writable \(ENOTDIR\) → .*--config-dir/);
    expect(text).toMatch(/✗ cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) → check the URL/);
    expect(text).toMatch(/3 problems found\./);
  });
});

describe('ccremote (local mode)', () => {
  it('runs a relay and an agent in one process, and keeps the same link across restarts', async () => {
    const home = tempDir();
    const config = join(home, 'config');
    const args = ['--json', '--config-dir', config, '--cwd', home, '--', '/bin/sh'];
    const first = runCli(['--port', '0', ...args], shellEnv(home));
    const listening = await first.events.next((e) => e.event === 'listening');
    const ready = await first.events.next((e) => e.event === 'ready', 15_000, 'local agent ready');
    const port = new URL(listening.url as string).port;
    expect(ready.url).toMatch(new RegExp(`^http://[0-9.]+:${port}/a/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$`));
    // It says where it listens: every interface, IPv6 included (Node binds to :: when it can).
    expect(listening.host).toBe('::');
    const families = new Set(Object.values(networkInterfaces()).flat().map((i) => i?.family));
    expect(listening.addresses).toEqual(expect.arrayContaining([expect.objectContaining({ address: '127.0.0.1', family: 'IPv4' })]));
    if (families.has('IPv6')) expect(listening.addresses).toEqual(expect.arrayContaining([expect.objectContaining({ address: '::1', family: 'IPv6' })]));
    const client = new TestClient(ready.url as string);
    client.type('echo local-$((7*7))\r');
    await client.waitForOutput('local-49');
    // Several sessions in local mode too, 16 at most unless told otherwise.
    await client.sessionLists.next(() => true);
    expect(client.maxSessions).toBe(16);
    const shell = await client.session.startSession({ kind: 'shell' });
    client.session.watch(shell);
    await client.watchings.next((t) => t === shell);
    client.type('echo second-local-$((6*6))\r');
    await client.waitForOutput('second-local-36');
    client.close();
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(0);

    const second = runCli(['--port', port, ...args], shellEnv(home));
    const again = await second.events.next((e) => e.event === 'ready', 15_000, 'local agent ready again');
    expect(again.url).toBe(ready.url);
    // Only the in-process agent may register with the embedded relay.
    const stranger = await fetch(`http://127.0.0.1:${port}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(stranger.status).toBe(401);
  });
});

describe('ccremote (local mode) stopped early', () => {
  it('a SIGTERM sent as soon as it says it listens, before its agent has started, still stops relay and agent cleanly', async () => {
    for (let run = 0; run < 3; run++) {
      const home = tempDir();
      const local = runCli(['--port', '0', '--json', '--no-qr', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh'], shellEnv(home));
      await local.events.next((e) => e.event === 'listening');
      local.child.kill('SIGTERM');
      expect(await local.exited).toEqual({ code: 0, signal: null });
      // Nothing of a running agent is left behind: its lock and control socket are gone.
      expect(readdirSync(join(home, 'config', 'agents')).filter((f) => !f.endsWith('.json'))).toEqual([]);
    }
  });
});

describe('ccremote (local mode) says where it listens', () => {
  /** Starts the local mode in text mode with `args` and resolves with what it says about listening. */
  const said = async (args: string[]): Promise<string> => {
    const home = tempDir();
    const run = runCli(['--port', '0', '--no-qr', '--config-dir', join(home, 'config'), '--cwd', home, ...args, '--', '/bin/sh'], shellEnv(home));
    const line = new EventLog<string>();
    run.child.stderr.on('data', () => line.push(run.stderr()));
    return line.until(() => /listening on [^\n]*\n/.exec(run.stderr())?.[0], 15_000, () => `a line about listening (have ${JSON.stringify(run.stderr())})`);
  };

  it('every interface, IPv4 and IPv6, by default; the one address given with --host', async () => {
    const everywhere = await said([]);
    expect(everywhere).toMatch(/listening on every interface, IPv4 and IPv6: .*127\.0\.0\.1 \(\w+\)/);
    if (Object.values(networkInterfaces()).flat().some((i) => i?.family === 'IPv6')) expect(everywhere).toContain('::1 (');
    expect(await said(['--host', '127.0.0.1'])).toMatch(/listening on 127\.0\.0\.1 \(\w+\) only/);
  });
});

describe('ccremote attach in a terminal', () => {
  it('runs in raw mode, forwards keys, follows the terminal size, and detaches with Ctrl-]', async () => {
    const pty = (await import('@lydell/node-pty')).default;
    const { link } = await relayAndAgent();
    const terminal = pty.spawn(process.execPath, [BIN, 'attach', link], { cols: 100, rows: 30, env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string> });
    const screen = new EventLog<string>();
    let text = '';
    terminal.onData((data) => screen.push((text += data)));
    const exited = new Promise<number>((resolve) => terminal.onExit(({ exitCode }) => resolve(exitCode)));
    try {
      await screen.until(() => text.includes('detach: Ctrl-]'), 10_000, 'attach connected');
      // The session takes the attaching terminal's size, and later its new size (attach hears of a resize by
      // SIGWINCH and of keys typed at the same time in either order), so the shell waits for each size itself
      // rather than asking once.
      terminal.write('while [ "$(stty size)" != "30 100" ]; do sleep 0.05; done; echo "sized-$((30*3))"\r');
      await screen.until(() => text.includes('sized-90'), 10_000, () => `the size of the attaching terminal (have ${JSON.stringify(text.slice(-400))})`);
      terminal.write('while [ "$(stty size)" != "40 120" ]; do sleep 0.05; done; echo "resized-$((40*3))"\r');
      terminal.resize(120, 40);
      await screen.until(() => text.includes('resized-120'), 10_000, () => `the new size after a resize (have ${JSON.stringify(text.slice(-300))})`);
      terminal.write('\x1d');
      expect(await exited).toBe(0);
      expect(text).toContain('detached');
    } finally {
      terminal.kill();
    }
  });
  it('Ctrl-^ lists the sessions, and a digit switches to one without reconnecting', async () => {
    const pty = (await import('@lydell/node-pty')).default;
    const { link, home } = await relayAndAgent();
    const owner = new TestClient(link);
    await owner.waitForState('online');
    const second = await owner.session.startSession({ kind: 'command', command: ['/bin/sh'], cwd: home });
    expect(second).toBe(2);
    const terminal = pty.spawn(process.execPath, [BIN, 'attach', link, '--session', '1'], { cols: 100, rows: 30, env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string> });
    const screen = new EventLog<string>();
    let text = '';
    terminal.onData((data) => screen.push((text += data)));
    try {
      await screen.until(() => text.includes('detach: Ctrl-]'), 10_000, 'attach connected');
      terminal.write('\x1e');
      await screen.until(() => /2\) .*sh/.test(text), 10_000, () => `the list of sessions (have ${JSON.stringify(text.slice(-300))})`);
      terminal.write('2');
      await screen.until(() => text.includes('session 2:'), 10_000, 'switched to session 2');
      terminal.write('echo in-second > switched.txt\r');
      await expect.poll(() => { try { return readFileSync(join(home, 'switched.txt'), 'utf8'); } catch { return ''; } }, { timeout: 10_000 }).toBe('in-second\n');
      // Any other key after Ctrl-^ stays where it is.
      terminal.write('\x1e');
      terminal.write('x');
      await screen.until(() => text.includes('staying'), 10_000, 'staying');
      expect(text).not.toContain('reconnecting');
    } finally {
      terminal.kill();
    }
  });
});

describe('ccremote relay on a machine with few CPUs', () => {
  // Whether it advises depends on the CPUs this machine gives the relay (CI's two: it does).
  const cpus = availableParallelism();
  const threads = (pid: number): number => readdirSync(`/proc/${pid}/task`).length;

  it('says how to start it so that the engine does not take turns with it; started so, it says nothing and runs fewer threads', async () => {
    const args = ['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json'];
    const run = async (nodeOptions: string): Promise<{ events: Array<Record<string, unknown>>; threads: number }> => {
      const relay = runCli(args, nodeOptions ? { NODE_OPTIONS: nodeOptions } : {});
      const said = (): string => `events ${JSON.stringify(relay.events.items)}, stderr ${JSON.stringify(relay.stderr())}`;
      await relay.events.next((e) => e.event === 'listening', 20_000, said);
      const count = threads(relay.child.pid!);
      relay.child.kill('SIGTERM');
      await relay.events.next((e) => e.event === 'closed', 20_000, said);
      return { events: relay.events.items, threads: count };
    };
    const plain = await run('');
    const advised = await run('--v8-pool-size=0');
    expect(advised.events.map((e) => e.event)).toEqual(['listening', 'closed']);
    if (cpus >= 4) {
      expect(plain.events.map((e) => e.event)).toEqual(['listening', 'closed']);
      return;
    }
    expect(plain.events.map((e) => e.event)).toEqual(['listening', 'advice', 'closed']);
    expect(plain.events[1]!.message).toMatch(new RegExp(`may use ${cpus} CPUs?, fewer than the engine's 4 helper threads.*NODE_OPTIONS=--v8-pool-size=0`));
    // The pool of one thread fewer than the CPUs (at least one) against four: the engine's threads start with the process.
    expect(advised.threads).toBeLessThanOrEqual(plain.threads - (4 - Math.max(1, cpus - 1)));
  });
});
