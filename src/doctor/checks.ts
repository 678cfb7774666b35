// What a first run needs, checked one thing at a time: Node, the terminal (PTY) binary, the screen
// mirror, Claude Code, the config folder and, when given, the relay. Each check says what it found and,
// when something is wrong, what to do about it. `ccremote doctor` prints them.

import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { defaultConfigDir } from '../agent/identity.js';
import { PtyProcess, resolveCommand } from '../agent/pty-process.js';
import { ScreenMirror } from '../agent/screen-mirror.js';
import { fetchFailure } from '../net/fetch-error.js';
import { PROTOCOL_VERSION, isRelayUrl, printable, trimSlash } from '../protocol/index.js';
import { VERSION } from '../version.js';

/** The oldest Node.js ccremote runs on (package.json's `engines`). */
export const MIN_NODE = [20, 19, 0] as const;

/** What one check found. */
export type CheckResult =
  | { check: string; ok: true; detail: string }
  | { check: string; ok: false; detail: string; fix: string };

/** What to check. */
export interface CheckOptions {
  /** A relay to reach (optional). */
  relayUrl?: string;
  /** The agent's config folder (default: the user's). */
  configDir?: string;
  /** The environment the agent would run in (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Longest wait for anything that runs or connects, in ms (default 15 s). */
  timeoutMs?: number;
}

const ok = (check: string, detail: string): CheckResult => ({ check, ok: true, detail });
const bad = (check: string, detail: string, fix: string): CheckResult => ({ check, ok: false, detail, fix });

/** Runs every check, in order; `onResult` hears each as it completes. */
export async function checkSetup(options: CheckOptions = {}, onResult: (result: CheckResult) => void = () => undefined): Promise<CheckResult[]> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const checks: Array<() => Promise<CheckResult> | CheckResult> = [
    () => checkNode(),
    () => checkPty(env, timeoutMs),
    () => checkMirror(timeoutMs),
    () => checkClaude(env, timeoutMs),
    () => checkConfigDir(options.configDir ?? defaultConfigDir(env)),
  ];
  if (options.relayUrl !== undefined) checks.push(() => checkRelay(options.relayUrl!, timeoutMs));
  const results: CheckResult[] = [];
  for (const check of checks) {
    const result = await check();
    results.push(result);
    onResult(result);
  }
  return results;
}

function checkNode(): CheckResult {
  const have = process.versions.node;
  if (compare(have.split('.').map(Number), MIN_NODE) >= 0) return ok('node', `Node.js ${have}`);
  return bad('node', `Node.js ${have} is too old`, `install Node.js ${MIN_NODE.join('.')} or later (the current LTS from https://nodejs.org)`);
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) - b[i]!;
  return 0;
}

/** What `answer` resolves to, or undefined if it takes longer than `timeoutMs`. */
async function answerWithin<T>(answer: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts Node itself in a terminal and reads what it prints: the PTY binary loads and works. */
async function checkPty(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CheckResult> {
  const what = `@lydell/node-pty ${packageVersion('@lydell/node-pty')} for ${process.platform}-${process.arch}`;
  const fix = `reinstall ccremote (npm install -g ccremote); its terminal comes prebuilt for Linux, macOS and Windows on x64 and arm64`;
  try {
    // The agent's own way of running a command in a terminal (pty-process.ts), not node-pty's alone.
    const decoder = new TextDecoder();
    let text = '';
    const child = new PtyProcess({ command: process.execPath, args: ['-e', 'process.stdout.write("pty-" + "works")'], cwd: process.cwd(), env, cols: 80, rows: 24 }, (data) => (text += decoder.decode(data, { stream: true })));
    const output = await answerWithin(child.exit.then(() => text), timeoutMs);
    if (output === undefined) {
      void child.stop(0);
      throw new Error(`no answer within ${timeoutMs / 1000} s`);
    }
    if (!output.includes('pty-works')) return bad('pty', `${what}: a command in a terminal printed ${JSON.stringify(output.slice(0, 80))}`, fix);
    return ok('pty', `${what} runs commands in a terminal`);
  } catch (error) {
    return bad('pty', `${what}: ${(error as Error).message}`, fix);
  }
}

/** Starts the screen mirror's worker and has it draw a line. */
async function checkMirror(timeoutMs: number): Promise<CheckResult> {
  const fix = 'reinstall ccremote (npm install -g ccremote): its package @xterm/headless is missing or broken';
  let failure: string | undefined;
  const mirror = new ScreenMirror({ cols: 40, rows: 5, scrollback: 10 }, { progress: () => undefined, failed: (reason) => (failure = reason) });
  try {
    mirror.write(new TextEncoder().encode('mirror works'), 12);
    const lines = await answerWithin(mirror.lines(1), timeoutMs);
    if (lines?.[0] === 'mirror works') return ok('mirror', `screen mirror (@xterm/headless ${packageVersion('@xterm/headless')}) works`);
    return bad('mirror', `the screen mirror does not work: ${failure ?? (lines ? `it drew ${JSON.stringify(lines)}` : 'no answer')}`, fix);
  } finally {
    await mirror.close();
  }
}

async function checkClaude(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CheckResult> {
  const path = resolveCommand('claude', process.cwd(), env.PATH);
  if (!path) {
    return bad(
      'claude',
      'Claude Code (claude) is not on the PATH',
      'install it: npm install -g @anthropic-ai/claude-code (or name another command after "--")',
    );
  }
  try {
    const said = (await run(path, ['--version'], env, timeoutMs)).trim();
    return ok('claude', `Claude Code ${/\d+\.\d+\.\d+\S*/.exec(said)?.[0] ?? said.split('\n')[0]} (${path})`);
  } catch (error) {
    return bad('claude', `${path} --version failed: ${(error as Error).message}`, `run "claude" in a terminal to see what it needs, or reinstall it`);
  }
}

function checkConfigDir(dir: string): CheckResult {
  const probe = join(dir, `.doctor-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(probe, 'ok', { mode: 0o600 });
    rmSync(probe);
    return ok('config', `config folder ${dir} is writable`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return bad('config', `config folder ${dir} is not writable (${code ?? (error as Error).message})`, 'fix its permissions, or give another one with --config-dir DIR');
  }
}

async function checkRelay(relayUrl: string, timeoutMs: number): Promise<CheckResult> {
  const base = trimSlash(relayUrl);
  if (!isRelayUrl(base)) return bad('relay', `not a relay URL: ${relayUrl}`, 'give its base URL, for example https://relay.example.com');
  let response: Response;
  try {
    response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    return bad('relay', `cannot reach ${base} (${fetchFailure(error)})`, 'check the URL, the network, and that the relay runs (ccremote relay)');
  }
  let health: { status?: unknown; version?: unknown; protocol?: unknown } = {};
  try {
    health = (await response.json()) as typeof health;
  } catch {
    // Not JSON: answered below.
  }
  if (!response.ok || health.status !== 'ok') {
    return bad('relay', `${base}/health answered HTTP ${response.status}, not a ccremote relay's health`, 'check the URL: it should be the relay\'s base URL');
  }
  // The relay's words are printed as data.
  const version = typeof health.version === 'string' ? printable(health.version).slice(0, 40) : 'unknown';
  if (health.protocol !== PROTOCOL_VERSION) {
    const theirs = health.protocol === undefined ? 'protocol 1' : `protocol ${printable(String(health.protocol)).slice(0, 40)}`;
    return bad('relay', `${base} runs ccremote ${version}, ${theirs}; this is ${VERSION}, protocol ${PROTOCOL_VERSION}`, 'update the relay or this computer so that both speak the same protocol');
  }
  return ok('relay', `relay ${base} answers (ccremote ${version})`);
}

/** Runs a program and resolves with its standard output; rejects with its last line of errors. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const said = stderr.trim().split('\n').at(-1);
      reject(new Error(said || error.message));
    });
  });
}

/** The version of an installed package, or "?" when it cannot be read. */
function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return '?';
  }
}
