// Installing, querying and removing the per-user service that runs an agent at login: a systemd user
// unit on Linux, a launchd agent on macOS. The platform, the home folder, the environment and the
// program that runs systemctl or launchctl are the caller's (a `ServiceHost`), so tests use their own
// folders and record the commands instead of touching the real user's services. A command that cannot
// run or fails is an error carrying the command and what it printed: never ignored.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../fs/write-atomic.js';
import { LAUNCHD_LABEL, SYSTEMD_UNIT, launchdPlist, systemdUnit, type ServiceSpec } from './service-file.js';

/** What a command printed and how it ended. */
export interface CommandResult {
  /** The exit code; null when it was killed by a signal. */
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the command was not run (a dry run): nothing is known of its outcome. */
  skipped?: boolean;
}

/** Runs a program with arguments (no shell); rejects only when it cannot be started (e.g. ENOENT). */
export type CommandRunner = (command: string, args: string[]) => Promise<CommandResult>;

/** Where and how services are installed. */
export interface ServiceHost {
  platform: NodeJS.Platform;
  /** The user's home folder. */
  home: string;
  /** The environment (XDG_CONFIG_HOME is read from it). */
  env: NodeJS.ProcessEnv;
  /** The user id (launchd's `gui/UID` domain). */
  uid: number;
  run: CommandRunner;
}

/** The service's file and the manager that reads it. */
export interface ServiceLocation {
  manager: 'systemd' | 'launchd';
  /** The unit file or the plist. */
  file: string;
  /** The unit's name, or the launchd label. */
  name: string;
  /** Where launchd writes the agent's output (systemd: the journal). */
  logFile?: string;
}

/** Something the service manager could not do, or a platform without one; the message says what and why. */
export class ServiceError extends Error {
  override name = 'ServiceError';
}

/** Steps of an install or uninstall, as they happen. */
export type ServiceStep = { event: 'written'; file: string } | { event: 'removed'; file: string };

/** Seconds a systemctl or launchctl command may take. */
const COMMAND_TIMEOUT_MS = 60_000;

/** Runs a program and collects its output (no shell, no standard input). */
export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

/** This process's platform, home, environment and user, with `run` for the commands. */
export function processHost(run: CommandRunner = runCommand): ServiceHost {
  return { platform: process.platform, home: process.env.HOME || homedir(), env: process.env, uid: process.getuid?.() ?? 0, run };
}

/** Where the service file goes on `host`; a ServiceError on a platform without a supported manager. */
export function serviceLocation(host: ServiceHost): ServiceLocation {
  if (host.platform === 'linux') {
    const configHome = host.env.XDG_CONFIG_HOME && isAbsolute(host.env.XDG_CONFIG_HOME) ? host.env.XDG_CONFIG_HOME : join(host.home, '.config');
    return { manager: 'systemd', name: SYSTEMD_UNIT, file: join(configHome, 'systemd', 'user', SYSTEMD_UNIT) };
  }
  if (host.platform === 'darwin') {
    return {
      manager: 'launchd',
      name: LAUNCHD_LABEL,
      file: join(host.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`),
      logFile: join(host.home, 'Library', 'Logs', 'ccremote-agent.log'),
    };
  }
  throw new ServiceError(
    `ccremote service works with systemd (Linux) and launchd (macOS), not on ${host.platform}; start "ccremote agent --stay" with your system's own means instead`,
  );
}

/** This package's `bin/ccremote.js` (beside dist/ and src/ alike). */
export function ccremoteScript(): string {
  return fileURLToPath(new URL('../../bin/ccremote.js', import.meta.url));
}

/** Environment variables a service gets from the installing shell when set: none is a secret. */
export const SERVICE_VARIABLES = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'XDG_CONFIG_HOME', 'CLAUDE_CONFIG_DIR'] as const;

/** Agent options whose values are secrets: never written into a service file. */
const SECRET_OPTIONS = ['--pin', '--registration-token'];

export interface AgentServiceOptions {
  /** The agent's options after `agent --stay` (and `-- CMD ARGS…`); no secret among them. */
  agentArgs: string[];
  /** The folder it runs in: the agent's identity is per relay and folder. */
  cwd: string;
  /** The environment to take SERVICE_VARIABLES from (PATH, so that `claude` is found). */
  env: NodeJS.ProcessEnv;
  /** Node (default: the running one). */
  node?: string;
  /** The ccremote script (default: this package's). */
  script?: string;
}

/**
 * The engine's settings a service's agent starts with: garbage collected on its own threads, without the
 * engine's four helper threads. Beside a program that prints, on a machine with few CPUs, the helpers'
 * turns cost the agent CPU without making it faster: in turns against the same agent without it (twelfth
 * machine of docs/benchmarks-history.md), 1.5–2 ms less CPU per MiB of output, throughput from 2 % lower to 27 %
 * higher (8 % at the median of six pairs), keystrokes unchanged. Such flags are fixed when Node starts, so only a command line can give them.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];

/** The service running `node AGENT_NODE_FLAGS ccremote.js agent --stay AGENT_ARGS` in `cwd`. */
export function agentServiceSpec(options: AgentServiceOptions): ServiceSpec {
  const split = options.agentArgs.indexOf('--');
  const own = split >= 0 ? options.agentArgs.slice(0, split) : options.agentArgs;
  const secret = own.find((arg) => SECRET_OPTIONS.includes(arg.split('=')[0]!));
  if (secret) throw new ServiceError(`${secret.split('=')[0]} holds a secret and is never written into a service file`);
  const env: Array<[string, string]> = [];
  for (const name of SERVICE_VARIABLES) {
    const value = options.env[name];
    if (value) env.push([name, value]);
  }
  if (!options.env.PATH) env.unshift(['PATH', '/usr/local/bin:/usr/bin:/bin']);
  return {
    argv: [options.node ?? process.execPath, ...AGENT_NODE_FLAGS, options.script ?? ccremoteScript(), 'agent', '--stay', ...options.agentArgs],
    cwd: options.cwd,
    env,
    description: 'ccremote agent: Claude Code on this computer, from a phone',
  };
}

export interface InstallResult {
  location: ServiceLocation;
  /** Whether a service file was there before (it is replaced, and the service restarted). */
  replaced: boolean;
}

/**
 * Writes the service file for `spec` and starts the service, now and at every login: systemd
 * `daemon-reload` and `enable --now` (and `restart` when it replaced a file), or launchd `bootstrap`
 * (after `bootout` of the one loaded before).
 */
export async function installService(host: ServiceHost, spec: ServiceSpec, progress: (step: ServiceStep) => void = () => {}): Promise<InstallResult> {
  const location = serviceLocation(host);
  const text = location.manager === 'systemd' ? systemdUnit(spec) : launchdPlist(spec, location.logFile!);
  const replaced = existsSync(location.file);
  await mkdir(dirname(location.file), { recursive: true });
  if (location.logFile) {
    // The log holds the access link: readable by the user only.
    await mkdir(dirname(location.logFile), { recursive: true });
    await (await open(location.logFile, 'a', 0o600)).close();
    await chmod(location.logFile, 0o600);
  }
  await writeFileAtomic(location.file, text, 0o644);
  progress({ event: 'written', file: location.file });
  if (location.manager === 'systemd') {
    await must(host, 'systemctl', ['--user', 'daemon-reload']);
    await must(host, 'systemctl', ['--user', 'enable', '--now', SYSTEMD_UNIT]);
    if (replaced) await must(host, 'systemctl', ['--user', 'restart', SYSTEMD_UNIT]);
  } else {
    if (await launchdLoaded(host)) await must(host, 'launchctl', ['bootout', launchdTarget(host)]);
    await must(host, 'launchctl', ['bootstrap', `gui/${host.uid}`, location.file]);
  }
  return { location, replaced };
}

export interface ServiceStatus {
  location: ServiceLocation;
  /** Whether the service file exists. */
  installed: boolean;
  /** What the manager says: systemd's `is-active` (active, inactive, failed…), launchd's state (running, not loaded…); absent when not asked. */
  state?: string;
  /** More from the manager (launchd: its pid and last exit code). */
  detail?: string;
  /** The command asked. */
  command?: string[];
}

/** Whether the service is installed, and what its manager says of it (asked only when installed). */
export async function serviceStatus(host: ServiceHost): Promise<ServiceStatus> {
  const location = serviceLocation(host);
  if (!existsSync(location.file)) return { location, installed: false };
  if (location.manager === 'systemd') {
    const command = ['systemctl', '--user', 'is-active', SYSTEMD_UNIT];
    const result = await attempt(host, command[0]!, command.slice(1));
    if (result.skipped) return { location, installed: true, command };
    // Not active is an exit code of its own, with the state on stdout; no state means it failed.
    const state = result.stdout.trim().split('\n')[0]!.trim();
    if (!state) throw failure(command, result);
    return { location, installed: true, state, command };
  }
  const command = ['launchctl', 'print', launchdTarget(host)];
  const result = await attempt(host, command[0]!, command.slice(1));
  if (result.skipped) return { location, installed: true, command };
  if (result.code !== 0) {
    if (notLoaded(result)) return { location, installed: true, state: 'not loaded', command };
    throw failure(command, result);
  }
  const field = (name: string): string | undefined => new RegExp(`^\\s*${name} = (.+)$`, 'm').exec(result.stdout)?.[1]?.trim();
  const details = [field('pid') && `pid ${field('pid')}`, field('last exit code') && `last exit code ${field('last exit code')}`].filter(Boolean);
  return { location, installed: true, state: field('state') ?? 'loaded', ...(details.length > 0 ? { detail: details.join(', ') } : {}), command };
}

export interface UninstallResult {
  location: ServiceLocation;
  /** False when there was no service file. */
  removed: boolean;
}

/** Stops the service, disables it and removes its file; the file stays when the manager refuses. */
export async function uninstallService(host: ServiceHost, progress: (step: ServiceStep) => void = () => {}): Promise<UninstallResult> {
  const location = serviceLocation(host);
  if (!existsSync(location.file)) return { location, removed: false };
  if (location.manager === 'systemd') {
    await must(host, 'systemctl', ['--user', 'disable', '--now', SYSTEMD_UNIT]);
    await rm(location.file, { force: true });
    progress({ event: 'removed', file: location.file });
    await must(host, 'systemctl', ['--user', 'daemon-reload']);
  } else {
    if (await launchdLoaded(host)) await must(host, 'launchctl', ['bootout', launchdTarget(host)]);
    await rm(location.file, { force: true });
    progress({ event: 'removed', file: location.file });
  }
  return { location, removed: true };
}

function launchdTarget(host: ServiceHost): string {
  return `gui/${host.uid}/${LAUNCHD_LABEL}`;
}

/** Whether launchd has the job loaded (`launchctl print` knows it); a ServiceError when launchctl fails otherwise. */
async function launchdLoaded(host: ServiceHost): Promise<boolean> {
  const command = ['launchctl', 'print', launchdTarget(host)];
  const result = await attempt(host, command[0]!, command.slice(1));
  if (result.code === 0) return true;
  if (notLoaded(result)) return false;
  throw failure(command, result);
}

/** launchctl's answer for a job it does not have (exit code 113, "Could not find service"). */
function notLoaded(result: CommandResult): boolean {
  return result.code === 113 || /could not find service/i.test(`${result.stderr}\n${result.stdout}`);
}

/** Runs a command, which must succeed. */
async function must(host: ServiceHost, command: string, args: string[]): Promise<CommandResult> {
  const result = await attempt(host, command, args);
  if (!result.skipped && result.code !== 0) throw failure([command, ...args], result);
  return result;
}

/** Runs a command; a ServiceError when it cannot be started at all. */
async function attempt(host: ServiceHost, command: string, args: string[]): Promise<CommandResult> {
  try {
    return await host.run(command, args);
  } catch (error) {
    const shown = commandLine([command, ...args]);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const manager = command === 'systemctl' ? 'systemd' : 'launchd';
      throw new ServiceError(`${command} was not found, so "${shown}" could not run: ccremote service needs ${manager} (and ${command} on PATH)`);
    }
    throw new ServiceError(`"${shown}" could not run: ${(error as Error).message}`);
  }
}

/** The error for a command that failed: the command, how it ended, what it printed, and a hint when one is known. */
function failure(command: string[], result: CommandResult): ServiceError {
  const how = result.code === null ? `was killed (${result.signal ?? 'signal'})` : `failed with exit code ${result.code}`;
  const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(0, 20).join('\n');
  let hint = '';
  if (command[0] === 'systemctl' && /failed to connect to bus|\$DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR/i.test(said)) {
    hint = '\nNo systemd user session is reachable from here (over sudo or su, or in a container?); run it as yourself in a login session.';
  }
  return new ServiceError(`"${commandLine(command)}" ${how}${said ? `:\n${said}` : ' and printed nothing'}${hint}`);
}

/** A command as a person would type it (arguments quoted for a POSIX shell when needed). */
export function commandLine(command: string[]): string {
  return command.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}
