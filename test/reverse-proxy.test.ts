// The README's load-balancer configurations, as written there, in front of a group of two relays on a
// private Redis: nginx and Caddy terminate TLS (a throwaway certificate) and pass WebSocket upgrades, and an
// agent and `ccremote attach` (real processes, trusting that certificate) work through them; /health answers
// through them too. Where nginx or Caddy is missing these tests skip, except under CI.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { throwawayCertificate } from './helpers/certificate.js';
import { killAll, runCli } from './helpers/cli.js';
import { listenOnOwnPort } from './helpers/ports.js';
import { startRedis } from './helpers/redis.js';
import { atCleanup, cleanup, shellEnv, startRelay, tempDir } from './helpers/system.js';
import { EventLog } from './helpers/wait.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

const has = (command: string, args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
const proxies = { nginx: has('nginx', ['-v']), caddy: has('caddy', ['version']) };
for (const [name, found] of Object.entries(proxies)) {
  if (!found && process.env.CI) throw new Error(`${name} not found; CI must install it (apt-get install ${name})`);
  if (!found) console.warn(`${name} not found: its reverse-proxy test is skipped`);
}

/** The README's fenced block of `language` (the first one). */
function readmeBlock(language: string): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(readme);
  if (!match) throw new Error(`no ${language} block in the README`);
  return match[1]!;
}

/** A free port of this test worker's own (see helpers/ports.ts), for a server started by another program. */
function freePort(): Promise<number> {
  return listenOnOwnPort(undefined, (port) => {
    const server = createServer();
    return new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(port)));
    });
  });
}

/** Status and body of GET `url`, trusting `ca`. */
function fetchTrusting(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca: readFileSync(ca) }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Two relays on a private Redis, believing the proxy and naming it in links; where the proxy will listen. */
async function group(): Promise<{ ports: number[]; proxyPort: number; publicUrl: string }> {
  const redis = await startRedis();
  const proxyPort = await freePort();
  const publicUrl = `https://127.0.0.1:${proxyPort}`;
  const relays = [
    await startRelay({ redis: redis.url, publicUrl, trustProxy: ['127.0.0.1'] }, { alone: true }),
    await startRelay({ redis: redis.url, publicUrl, trustProxy: ['127.0.0.1'] }, { alone: true }),
  ];
  return { ports: relays.map((r) => r.port), proxyPort, publicUrl };
}

/** Starts `command args`, stopped at clean-up; its output is kept for a failure's message. */
function startProxy(command: string, args: string[]): { said: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const said = new EventLog<string>();
  child.stdout.on('data', (chunk: Buffer) => said.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => said.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  atCleanup(async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  return { said: () => said.items.join('') };
}

/** Waits until the proxy answers /health for the relays, then runs an agent and attach through it. */
async function agentAndAttachThrough(publicUrl: string, cert: string, said: () => string): Promise<void> {
  await expect
    .poll(async () => (await fetchTrusting(`${publicUrl}/health`, cert).catch((error: Error) => ({ status: 0, body: `${error.message}\n${said()}` }))).status, { timeout: 15_000 })
    .toBe(200);
  const trust = { NODE_EXTRA_CA_CERTS: cert };
  const home = tempDir();
  const agent = runCli(['agent', '--relay', publicUrl, '--json', '--no-record', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh', '-c', 'read x; echo "proxied $x"'], { ...shellEnv(home), ...trust });
  const link = (await agent.events.next((e) => e.event === 'ready', 20_000, 'agent ready')).url as string;
  expect(link.startsWith(`${publicUrl}/a/`)).toBe(true);
  const attach = runCli(['attach', link], trust);
  attach.child.stdin.write('through the balancer\n');
  expect((await attach.exited).code).toBe(0);
  expect(attach.stdout().toString()).toContain('proxied through the balancer');
}

describe('behind the README\'s load balancers', () => {
  it.skipIf(!proxies.nginx)('nginx: TLS, WebSocket upgrades for agent and attach, and /health, with its configuration as written', { timeout: 60_000 }, async () => {
    const { ports, proxyPort, publicUrl } = await group();
    const dir = tempDir('ccremote-nginx-');
    const { cert, key } = throwawayCertificate(dir);
    const site = readmeBlock('nginx')
      .replace('server 10.0.0.11:8080', `server 127.0.0.1:${ports[0]}`)
      .replace('server 10.0.0.12:8080', `server 127.0.0.1:${ports[1]}`)
      .replace('listen 443 ssl;', `listen 127.0.0.1:${proxyPort} ssl;`)
      .replace('server_name relay.example.com;', 'server_name 127.0.0.1;')
      .replace('/etc/letsencrypt/live/relay.example.com/fullchain.pem', cert)
      .replace('/etc/letsencrypt/live/relay.example.com/privkey.pem', key);
    expect(site).not.toMatch(/10\.0\.0\.|example\.com|letsencrypt/);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${join(dir, kind)};`).join('\n');
    writeFileSync(join(dir, 'nginx.conf'), `daemon off;\nmaster_process off;\npid ${join(dir, 'nginx.pid')};\nerror_log stderr;\nevents {}\nhttp {\naccess_log off;\n${temp}\n${site}\n}\n`);
    const nginx = startProxy('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
    await agentAndAttachThrough(publicUrl, cert, nginx.said);
  });

  it.skipIf(!proxies.caddy)('Caddy: TLS, WebSocket upgrades for agent and attach, and active health checks on /health, with its configuration as written', { timeout: 60_000 }, async () => {
    const { ports, proxyPort, publicUrl } = await group();
    const dir = tempDir('ccremote-caddy-');
    const { cert, key } = throwawayCertificate(dir);
    // As written, but on this port with the throwaway certificate instead of one Caddy obtains itself.
    const site = readmeBlock('caddyfile')
      .replace('relay.example.com {', `https://127.0.0.1:${proxyPort} {\n  tls ${cert} ${key}`)
      .replace('10.0.0.11:8080 10.0.0.12:8080', `127.0.0.1:${ports[0]} 127.0.0.1:${ports[1]}`);
    expect(site).not.toMatch(/10\.0\.0\.|example\.com/);
    const caddyfile = join(dir, 'Caddyfile');
    writeFileSync(caddyfile, `{\n  admin off\n  auto_https disable_redirects\n  storage file_system ${join(dir, 'data')}\n}\n${site}`);
    const caddy = startProxy('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile']);
    await agentAndAttachThrough(publicUrl, cert, caddy.said);
  });
});
