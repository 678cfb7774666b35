// Every command's options, with the help text printed by `--help`. One table per command, so the help
// and the parser cannot disagree.

import { parseArgs } from 'node:util';

/** A mistake in how the command was called; printed with the command's help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One option: its type, a value placeholder for the help, and what it does. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  value?: string;
  help: string;
}

/** A command: usage line, summary, and options. */
export interface CommandSpec {
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** Whether `-- CMD ARGS…` is accepted. */
  takesCommand?: boolean;
  /** Names of positional arguments, in order; a name ending in "?" may be left out (as may every one after it). */
  positionals?: string[];
}

const shared = {
  json: { type: 'boolean', help: 'Print one JSON object per line on stdout instead of text.' },
  help: { type: 'boolean', short: 'h', help: 'Show this help.' },
} satisfies Record<string, OptionSpec>;

const agentOptions = {
  name: { type: 'string', value: 'NAME', help: 'Name shown in browsers (default: folder@host).' },
  cwd: { type: 'string', value: 'DIR', help: 'Working directory of the command (default: the current one).' },
  'config-dir': { type: 'string', value: 'DIR', help: 'Where the agent keeps its identity (default: ~/.config/ccremote).' },
  restart: { type: 'boolean', help: 'Start the command again when it exits.' },
  stay: { type: 'boolean', help: 'Keep running when no session runs (a phone can start new ones); without it the agent ends with its last session.' },
  root: {
    type: 'string',
    multiple: true,
    value: 'DIR',
    help: 'A folder under which sessions may be started from a phone (repeatable; default: your home folder). The agent\'s own folder is always allowed.',
  },
  'max-sessions': { type: 'string', value: 'N', help: 'Sessions at once, running or ended and not dismissed (default 16); a start beyond is refused.' },
  rotate: { type: 'boolean', help: 'Replace the link secret: every link given out before (full and read-only) stops working; paired devices keep working.' },
  pin: {
    type: 'boolean',
    help: 'Require a PIN (6+ characters) to pair with the link. Asked for at the terminal, or set CCREMOTE_PIN. Never stored or sent.',
  },
  'buffer-size': { type: 'string', value: 'BYTES', help: 'Output kept for reconnecting browsers, e.g. 4M (default 4 MiB).' },
  'link-ttl': {
    type: 'string',
    value: 'DURATION',
    help: 'An access link that has paired no device stops working this long after it was made, e.g. 10m or 24h (default: never).',
  },
  'remind-after': {
    type: 'string',
    value: 'DURATION',
    help: 'A permission request nobody answered is announced once more after this long, e.g. 2m (default 5m; 0 never).',
  },
  'max-upload': { type: 'string', value: 'BYTES', help: 'Files sent from a phone, or taken by one, at most this large, e.g. 100M (default 25M).' },
  'upload-dir': {
    type: 'string',
    value: 'DIR',
    help: "Where files sent from a phone go: relative, inside each session's folder (default .ccremote/uploads, git-ignored); absolute, that folder.",
  },
  'no-record': { type: 'boolean', help: 'Do not record sessions (by default each is recorded as an asciicast file; see `ccremote recordings`).' },
  'record-input': { type: 'boolean', help: 'Record what clients type too (by default only what the program prints).' },
  'record-days': { type: 'string', value: 'DAYS', help: 'Remove recordings last written longer ago than this (default 7).' },
  'record-max': { type: 'string', value: 'BYTES', help: 'All recordings together take at most this, oldest removed first; one at most a quarter, e.g. 2G (default 1G).' },
  'record-dir': { type: 'string', value: 'DIR', help: 'Where recordings are kept (default: recordings in the config folder).' },
  'no-qr': { type: 'boolean', help: 'Do not print the QR code.' },
  'no-attention-hooks': {
    type: 'boolean',
    help: 'Do not register Claude Code hooks that tell browsers when it waits for you or finished a reply.',
  },
} satisfies Record<string, OptionSpec>;

const listenOptions = {
  port: { type: 'string', short: 'p', value: 'PORT', help: 'TCP port; 0 picks a free one (default 8080).' },
  host: { type: 'string', value: 'ADDR', help: 'Address to listen on (default: all interfaces).' },
  'public-url': { type: 'string', value: 'URL', help: 'Base URL browsers use, printed in links (behind a proxy, for example).' },
} satisfies Record<string, OptionSpec>;

export const commands = {
  local: {
    usage: 'ccremote [options] [-- CMD ARGS...]',
    summary:
      'Run a relay and an agent in this process and print a link (and QR code) reachable from your local network. ' +
      'Runs `claude` unless a command follows "--".',
    options: { ...listenOptions, ...agentOptions, ...shared },
    takesCommand: true,
  },
  relay: {
    usage: 'ccremote relay [options]',
    summary: 'Run a relay server that agents register with and browsers connect through.',
    options: {
      ...listenOptions,
      'allow-origin': { type: 'string', multiple: true, value: 'ORIGIN', help: 'Also accept browser sockets from this origin (repeatable).' },
      'data-dir': { type: 'string', value: 'DIR', help: 'Keep agent records here across restarts (default: ~/.local/share/ccremote/relay).' },
      memory: { type: 'boolean', help: 'Keep agent records in memory only; agents register again after a restart.' },
      'tls-cert': { type: 'string', value: 'FILE', help: 'Serve HTTPS/WSS with this PEM certificate (with --tls-key).' },
      'tls-key': { type: 'string', value: 'FILE', help: 'PEM private key for --tls-cert.' },
      'registration-token': {
        type: 'string',
        value: 'TOKEN',
        help: 'Only agents presenting this token may register (or set CCREMOTE_REGISTRATION_TOKEN).',
      },
      'trust-proxy': {
        type: 'string',
        multiple: true,
        value: 'ADDR',
        help: 'Believe X-Forwarded-For and X-Forwarded-Proto from this reverse proxy (an address or prefix, e.g. 127.0.0.1; repeatable).',
      },
      redis: {
        type: 'string',
        value: 'URL',
        help: 'Join the group of relays sharing this Redis (redis://[:PASSWORD@]HOST:PORT): agents registered at any of them, browsers served through any (or set CCREMOTE_REDIS).',
      },
      metrics: {
        type: 'string',
        value: 'HOST:PORT',
        help: 'Serve /metrics (Prometheus text format) on this address of its own, e.g. 127.0.0.1:9100 (default: none).',
      },
      database: {
        type: 'string',
        value: 'URL',
        help: 'Keep the agent registry in PostgreSQL (postgres://USER@HOST:PORT/DB; its table is made on start), instead of the data directory or the group\'s Redis (or set CCREMOTE_DATABASE).',
      },
      'group-ttl': {
        type: 'string',
        value: 'DURATION',
        help: 'How long this relay\'s records in the group\'s Redis outlive it when it dies, e.g. 15s (the default); renewed three times as often.',
      },
      'direct-url': {
        type: 'string',
        value: 'URL',
        help: 'Where browsers reach this relay of the group at an address of its own, e.g. https://relay1.example.com: other relays send the browsers of its agents here instead of forwarding them.',
      },
      'advertise-url': {
        type: 'string',
        value: 'URL',
        help: 'Where the other relays of the group reach this one, e.g. http://10.0.0.5:8080 (default: the address it listens on).',
      },
      'push-service': {
        type: 'string',
        multiple: true,
        value: 'URL-PREFIX',
        help: 'Also send Web Push messages to endpoints starting with this (a self-hosted push service; repeatable). The major browsers\' services are always allowed, nothing else.',
      },
      'flow-window': {
        type: 'string',
        value: 'BYTES',
        help: 'Output a program may get ahead of the slowest watching client, at least, e.g. 512K (default 512 KiB).',
      },
      'flow-window-max': {
        type: 'string',
        value: 'BYTES',
        help: 'The most it may get ahead of a client that processes output fast: about 50 ms of that client\'s pace, up to this (default 4M). Equal to --flow-window: a fixed window.',
      },
      'max-connections': {
        type: 'string',
        value: 'N',
        help: 'WebSocket connections open at once, in all; more are refused with HTTP 503 (default 10000).',
      },
      'max-connections-per-address': {
        type: 'string',
        value: 'N',
        help: 'WebSocket connections open at once from one address (IPv6: one /64); more get HTTP 429 (default 64).',
      },
      ...shared,
    },
  },
  agent: {
    usage: 'ccremote agent --relay URL [options] [-- CMD ARGS...]',
    summary: 'Run `claude` (or the command after "--") in a terminal here and serve it through a relay.',
    options: {
      relay: {
        type: 'string',
        short: 'r',
        multiple: true,
        value: 'URL',
        help: 'The relay, e.g. https://relay.example.com (required). Given again: other relays of the same group, tried in order when one cannot be reached (the first one names the links).',
      },
      ...agentOptions,
      'registration-token': {
        type: 'string',
        value: 'TOKEN',
        help: 'Token for relays that restrict registration (or set CCREMOTE_REGISTRATION_TOKEN).',
      },
      ...shared,
    },
    takesCommand: true,
  },
  devices: {
    usage: 'ccremote devices [revoke ID] [options]',
    summary:
      'List the devices paired with the agent of this folder (the agents of every relay, unless --relay says which), ' +
      'or revoke one: it is cut off at once and the link is replaced, while the other paired devices keep working.',
    options: {
      relay: { type: 'string', short: 'r', value: 'URL', help: 'The relay of the agent (when this folder has agents at several).' },
      cwd: agentOptions.cwd,
      'config-dir': agentOptions['config-dir'],
      ...shared,
    },
    positionals: ['ACTION?', 'ID?'],
  },
  doctor: {
    usage: 'ccremote doctor [--relay URL]',
    summary:
      'Check what ccremote needs on this computer: Node.js, the terminal (PTY) binary, the screen mirror, Claude Code, ' +
      'the config folder, and the relay when --relay is given. One line per check, with what to do about a failure.',
    options: {
      relay: { type: 'string', short: 'r', value: 'URL', help: 'Also check that this relay answers, and its version.' },
      'config-dir': agentOptions['config-dir'],
      ...shared,
    },
  },
  attach: {
    usage: 'ccremote attach URL [--session ID | --new [--cwd DIR] [-- CMD ARGS...]]',
    summary:
      'Join a session from this terminal: the most recently active one, a given one, or a new one. Interactive when ' +
      'run in a terminal (detach with Ctrl-], switch sessions with Ctrl-^); with stdout redirected it writes the ' +
      'session output bytes exactly as produced, and forwards piped stdin as input.',
    options: {
      session: { type: 'string', short: 's', value: 'ID', help: 'Join this session (its number, as `ccremote sessions` lists it).' },
      new: { type: 'boolean', help: 'Start a new session and join it: Claude Code, or the command after "--".' },
      cwd: { type: 'string', value: 'DIR', help: 'With --new: the folder to start it in, on the agent\'s computer (a relative one is taken from here; default: the agent\'s own).' },
      pin: { type: 'boolean', help: 'Ask for the PIN even if the link does not say it needs one (or set CCREMOTE_PIN).' },
      help: shared.help,
    },
    positionals: ['URL'],
    takesCommand: true,
  },
  sessions: {
    usage: 'ccremote sessions URL [--json]',
    summary:
      'List the sessions of the agent behind a link: number, name, folder, command, running or ended, and whether it waits ' +
      'for you. With --json, one object per line.',
    options: {
      pin: { type: 'boolean', help: 'Ask for the PIN even if the link does not say it needs one (or set CCREMOTE_PIN).' },
      ...shared,
    },
    positionals: ['URL'],
  },
  recordings: {
    usage: 'ccremote recordings [--json]',
    summary:
      'List the recorded sessions of this computer, oldest first: when each started, how long it ran, its size, its name and ' +
      'command, and its file (play one with `ccremote play FILE`). With --json, one object per line.',
    options: {
      'config-dir': agentOptions['config-dir'],
      'record-dir': agentOptions['record-dir'],
      ...shared,
    },
  },
  play: {
    usage: 'ccremote play FILE [--speed N] [--idle-limit SECONDS]',
    summary:
      'Replay a recorded session (an asciicast v2 file, by path or by its name in the recordings folder) in this terminal, ' +
      'at the pace it was recorded. Ctrl-C stops.',
    options: {
      speed: { type: 'string', value: 'N', help: 'Play N times as fast, e.g. 2 or 0.5 (default 1).' },
      'idle-limit': { type: 'string', value: 'SECONDS', help: 'Shorten every pause longer than this to this (default: the file\'s own limit, else none).' },
      'config-dir': agentOptions['config-dir'],
      'record-dir': agentOptions['record-dir'],
      help: shared.help,
    },
    positionals: ['FILE'],
  },
  service: {
    usage: 'ccremote service install --relay URL [agent options] [-- CMD ARGS...] | status | uninstall',
    summary:
      'Run an agent as a service of your user (systemd on Linux, launchd on macOS): `install` writes the service file and starts ' +
      'it, in the current folder with --stay and the agent options given, at every login and again 5 s after a failure; `status` ' +
      'says whether it is installed and running; `uninstall` stops it and removes the file. With --json, one object per line.',
    options: {
      relay: { type: 'string', short: 'r', value: 'URL', help: 'The relay the agent serves through (required for install).' },
      ...agentOptions,
      rotate: { type: 'boolean', help: 'Refused: it would replace the links at every start (run "ccremote agent --rotate" once instead).' },
      pin: { type: 'boolean', help: 'Refused: a service has no terminal to ask for a PIN, and a PIN is never written into a file.' },
      'registration-token': {
        type: 'string',
        value: 'TOKEN',
        help: 'Refused: a secret is never written into the service file (run "ccremote agent" here once to register).',
      },
      ...shared,
    },
    positionals: ['ACTION'],
    takesCommand: true,
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commands;

/** Parsed arguments of one command. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** The command after "--", if any. */
  command: string[];
}

/** Parses `argv` for `spec`; throws an Error with a user-facing message on bad usage. */
export function parse(spec: CommandSpec, argv: string[]): Parsed {
  const split = argv.indexOf('--');
  const own = split >= 0 ? argv.slice(0, split) : argv;
  const command = split >= 0 ? argv.slice(split + 1) : [];
  if (split >= 0 && !spec.takesCommand) throw new UsageError('this command does not take a command after "--"');
  if (split >= 0 && command.length === 0) throw new UsageError('expected a command after "--"');
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = { type: option.type, ...(option.short ? { short: option.short } : {}), ...(option.multiple ? { multiple: true } : {}) };
  }
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args: own, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsedArgs;
  const names = spec.positionals ?? [];
  const required = names.filter((n) => !n.endsWith('?')).length;
  if (!values.help && (positionals.length < required || positionals.length > names.length)) {
    throw new UsageError(names.length === 0 ? `unexpected argument: ${positionals[0]}` : `expected ${names.map((n) => (n.endsWith('?') ? `[${n.slice(0, -1)}]` : n)).join(' ')}`);
  }
  return { values: values as Parsed['values'], positionals, command };
}

/** The help text of one command. */
export function help(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.value ? ` ${option.value}` : ''}`;
    return `  ${flag.padEnd(34)} ${option.help}`;
  });
  return `Usage: ${spec.usage}\n\n${spec.summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** The top-level help, listing every command. */
export function overview(): string {
  return (
    `ccremote: use Claude Code (or any terminal program) on this computer from a phone or browser.\n\n` +
    `Usage:\n` +
    `  ccremote [options] [-- CMD ARGS...]        relay and agent in one process, for your local network\n` +
    `  ccremote relay [options]                   a relay on a public server\n` +
    `  ccremote agent --relay URL [-- CMD ...]    an agent that serves this computer through a relay\n` +
    `  ccremote attach URL [--session ID | --new] join a session from another terminal\n` +
    `  ccremote sessions URL                      list the sessions of the agent behind a link\n` +
    `  ccremote devices [revoke ID]               list the devices paired with this folder's agent, or revoke one\n` +
    `  ccremote recordings                        list the recorded sessions of this computer\n` +
    `  ccremote play FILE                         replay a recorded session in this terminal\n` +
    `  ccremote doctor [--relay URL]              check what ccremote needs on this computer\n` +
    `  ccremote service install --relay URL ...   run an agent at every login (uninstall, status)\n` +
    `  ccremote --version                         print the version\n\n` +
    `Run "ccremote COMMAND --help" for a command's options, "ccremote --help" for the local mode's.\n`
  );
}

/** Parses a byte size such as 4M, 512K or 1048576, between `min` and `max` (default 64 KiB and 1 GiB). */
export function parseBytes(text: string, what = 'size', [min, max] = [64 * 1024, 1024 ** 3]): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new UsageError(`not a size: ${text} (use e.g. 4M or 512K)`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(match[1]) * scale);
  if (bytes < min || bytes > max) throw new UsageError(`${what} must be between ${limitText(min)} and ${limitText(max)}: ${text}`);
  return bytes;
}

/** A limit as the options take it: 64K, 4M, 1G, 1T. */
function limitText(bytes: number): string {
  const [unit, scale] = bytes >= 1024 ** 4 ? ['T', 1024 ** 4] : bytes >= 1024 ** 3 ? ['G', 1024 ** 3] : bytes >= 1024 ** 2 ? ['M', 1024 ** 2] : ['K', 1024];
  return `${bytes / scale}${unit}`;
}

/** Parses a positive number (days, a speed, seconds), at most `max`. */
export function parsePositive(text: string | undefined, what: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+(?:\.\d+)?$/.test(text.trim()) || !(value > 0) || value > max) throw new UsageError(`${what} must be a number above 0${max < Number.MAX_SAFE_INTEGER ? ` and at most ${max}` : ''}: ${text}`);
  return value;
}

/** Parses a duration such as 90s, 10m, 24h or 7d, into ms (at least a second). */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/i.exec(text.trim());
  if (!match) throw new UsageError(`not a ${what}: ${text} (use e.g. 90s, 10m, 24h or 7d)`);
  const ms = Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
  if (ms < 1000) throw new UsageError(`${what} must be at least a second: ${text}`);
  return ms;
}

/** Parses a whole number of at least 1 (a count such as a connection cap). */
export function parseCount(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const count = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(count) || count < 1) throw new UsageError(`${what} must be a whole number of at least 1: ${text}`);
  return count;
}

/** Parses a TCP port. */
export function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`not a port: ${text}`);
  return port;
}
