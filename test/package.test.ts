// What users install is what is tested: the package `npm pack` makes, installed from its tarball with
// production dependencies only, by an npm whose PATH holds no compiler (nor Python, nor make), then run
// end to end: the local mode in a browser, a relay and an agent with `attach` in a terminal, the screen
// restored for a client that connects after more output than the agent keeps, and a broken install
// that says so.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pty from '@lydell/node-pty';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveCommand } from '../src/agent/pty-process.js';
import { describeBrowser, phoneSuite, waitForScreen, waitForState } from './helpers/browser.js';
import { killAll, runCli, type CliProcess } from './helpers/cli.js';
import { atCleanup, cleanup, shellEnv, tempDir, TestClient } from './helpers/system.js';
import { EventLog } from './helpers/wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The npm that runs this test (its CLI script), to install with. */
function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm && /npm-cli\.js$/.test(fromNpm)) return fromNpm;
  const onPath = resolveCommand('npm', process.cwd(), process.env.PATH);
  if (!onPath) throw new Error('npm not found on the PATH');
  return realpathSync(onPath);
}

function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { ...options, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
    ),
  );
}

/** Everything installed lives here, removed after the file's tests. */
const work = mkdtempSync(join(tmpdir(), 'ccremote-package-'));
const app = join(work, 'app');
/**
 * The PATH the install and the installed command run with: node and sh, nothing else (no compiler, make
 * or Python). npm runs install scripts with it, so one that needed to build something would fail the install.
 */
const bare = join(work, 'bin');
/** The installed command, through the link npm made for it. */
const installed = join(app, 'node_modules', '.bin', 'ccremote');

/** Environment of the installed command: a clean one, on the bare PATH. */
function userEnv(home: string): NodeJS.ProcessEnv {
  return { ...shellEnv(home), PATH: bare };
}

function ccremote(args: string[], home: string): CliProcess {
  return runCli(args, userEnv(home), { bin: installed, cleanEnv: true });
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does)');
  mkdirSync(app);
  mkdirSync(bare);
  symlinkSync(process.execPath, join(bare, 'node'));
  symlinkSync('/bin/sh', join(bare, 'sh'));
  const npm = npmCli();
  // The package as published: what `npm pack` puts in the tarball (dist/ as built for this run).
  const packed = await run(process.execPath, [npm, 'pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, env: process.env });
  const tarball = join(work, packed.stdout.trim().split('\n').at(-1)!);
  writeFileSync(join(app, 'package.json'), '{ "private": true }\n');
  // Only what npm itself needs from this environment: where its cache and registry are, and any proxy.
  const passed = ['npm_config_cache', 'npm_config_registry', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy'];
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: bare };
  for (const name of passed) if (process.env[name] !== undefined) env[name] = process.env[name];
  await run(process.execPath, [npm, 'install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, env });
}, 300_000);

afterEach(async () => {
  killAll();
  await cleanup();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('declares every package its built code imports as a runtime dependency (the bundled web app aside)', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const runtime = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})]);
    const imported = new Map<string, string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (path !== join(ROOT, 'dist', 'web')) walk(path);
        } else if (entry.name.endsWith('.js')) {
          for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/(?:from|import\()\s*'([^'.][^']*)'/g)) {
            if (specifier!.startsWith('node:')) continue;
            const name = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!;
            imported.set(name, path.slice(ROOT.length));
          }
        }
      }
    };
    walk(join(ROOT, 'dist'));
    expect(imported.size).toBeGreaterThan(3);
    for (const [name, where] of imported) expect(runtime.has(name), `${name} (imported by ${where}) must be in dependencies`).toBe(true);
  });

  it('installs with no compiler on the PATH, production dependencies only, and runs', async () => {
    expect(existsSync(installed)).toBe(true);
    // The terminal binary came prebuilt; no build tool or test tool was installed.
    expect(existsSync(join(app, 'node_modules', '@lydell', `node-pty-${process.platform}-${process.arch}`))).toBe(true);
    for (const dev of ['node-pty', 'typescript', 'vitest', 'esbuild', 'playwright-core', '@anthropic-ai/claude-code']) {
      expect(existsSync(join(app, 'node_modules', dev)), `${dev} is not a runtime dependency`).toBe(false);
    }
    const home = tempDir();
    const version = ccremote(['--version'], home);
    expect((await version.exited).code).toBe(0);
    expect(version.stdout().toString()).toBe(`${VERSION}\n`);
    // doctor, from the installed package: its terminal and its screen mirror work (Claude Code is not on this PATH).
    const doctor = ccremote(['doctor', '--json', '--config-dir', join(home, 'config')], home);
    expect((await doctor.exited).code).toBe(1);
    const checks = Object.fromEntries(doctor.events.items.filter((e) => e.event === 'check').map((e) => [e.check, e.ok]));
    expect(checks).toEqual({ node: true, pty: true, mirror: true, claude: false, config: true });
  });

  it('relay and agent: `attach` in a terminal, connecting after more output than the agent keeps, gets the screen back', async () => {
    const home = tempDir();
    const relay = ccremote(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json'], home);
    const url = (await relay.events.next((e) => e.event === 'listening', 15_000, 'the installed relay')).url as string;
    // A status line on row 1, then 200 KiB scrolling below it: far more than the agent's 64 KiB.
    const script = `printf '\\033[2J\\033[1;1HSTATUS: packed and fine\\033[2;24r\\033[24;1H'; i=0; while [ $i -lt 4000 ]; do echo "line $i scrolls below the status line, fifty bytes"; i=$((i+1)); done; echo flood-done; read x`;
    const agent = ccremote(['agent', '--relay', url, '--json', '--buffer-size', '64K', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh', '-c', script], home);
    const link = (await agent.events.next((e) => e.event === 'ready', 15_000, 'the installed agent')).url as string;
    expect(agent.events.items.filter((e) => e.event === 'warning')).toEqual([]);
    const watcher = new TestClient(link, { history: 'bytes' });
    await watcher.waitForOutput('flood-done', 30_000);
    watcher.close();
    // The attaching terminal, the same size as the agent's so that nothing reflows.
    const terminal = pty.spawn(process.execPath, [installed, 'attach', link], { cols: 80, rows: 24, env: userEnv(home) as Record<string, string> });
    const screen = new EventLog<string>();
    let text = '';
    terminal.onData((data) => screen.push((text += data)));
    try {
      await screen.until(() => text.includes('STATUS: packed and fine') && text.includes('flood-done'), 15_000, () => `the restored screen (have ${JSON.stringify(text.slice(-400))})`);
      expect(text).toContain('detach: Ctrl-]');
      terminal.write('\x1d');
      await screen.until(() => text.includes('detached'), 10_000, 'attach to detach');
    } finally {
      terminal.kill();
    }
  });

  it('with its screen mirror broken (a dependency missing), the agent says so on its terminal and in --json, and so do clients', async () => {
    const headless = join(app, 'node_modules', '@xterm', 'headless');
    renameSync(headless, `${headless}.aside`);
    atCleanup(() => renameSync(`${headless}.aside`, headless));
    const home = tempDir();
    const relay = ccremote(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json'], home);
    const url = (await relay.events.next((e) => e.event === 'listening', 15_000, 'the installed relay')).url as string;
    const script = `i=0; while [ $i -lt 4000 ]; do echo "line $i of output, and that is fifty bytes long"; i=$((i+1)); done; echo flood-done; read x`;
    const args = ['--relay', url, '--buffer-size', '64K', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh', '-c', script];
    const json = ccremote(['agent', '--json', ...args], home);
    const warning = await json.events.next((e) => e.event === 'warning', 15_000, 'a warning in --json');
    expect(warning.message).toMatch(/screen mirror does not work \(.*@xterm\/headless/);
    const link = (await json.events.next((e) => e.event === 'ready', 15_000, 'the installed agent')).url as string;
    const watcher = new TestClient(link, { history: 'bytes' });
    await watcher.waitForOutput('flood-done', 30_000);
    const late = new TestClient(link);
    await late.chunks.next((c) => c.kind === 'snapshot' && c.screen === 'unavailable', 10_000, 'the client told the screen cannot be restored');
    json.child.kill('SIGTERM');
    await json.exited;
    // On the terminal, for people.
    const text = ccremote(['agent', '--no-qr', ...args], home);
    await waitForText(text, /warning: the screen mirror does not work \(.*@xterm\/headless/);
  });
});

describeBrowser('the packed package in a browser', () => {
  const browser = phoneSuite();

  it('local mode: the installed command serves the web terminal; a phone opens the link and types', async () => {
    const home = tempDir();
    const local = ccremote(['--port', '0', '--host', '127.0.0.1', '--json', '--no-qr', '--config-dir', join(home, 'config'), '--cwd', home, '--', '/bin/sh'], home);
    const link = (await local.events.next((e) => e.event === 'ready', 15_000, 'the installed local mode')).url as string;
    const page = await browser.open(link);
    await waitForState(page, 'online');
    await page.keyboard.type('echo "packed says $((6*7))"');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'packed says 42');
  });
});

/** Waits until a process's standard error matches. */
async function waitForText(process: CliProcess, pattern: RegExp): Promise<void> {
  const seen = new EventLog<string>();
  process.child.stderr.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
  await seen.until(() => pattern.test(process.stderr()), 15_000, () => `stderr matching ${pattern} (have ${JSON.stringify(process.stderr())})`);
}
