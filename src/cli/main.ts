// The `ccremote` command: picks the subcommand, parses its options, runs it, and turns failures into
// messages and exit codes. Everything it runs is a library call.

import { AgentStartError } from '../agent/agent.js';
import { RegistrationRefused } from '../agent/registration.js';
import { VERSION } from '../version.js';
import { agentCommand } from './agent-command.js';
import { attachCommand } from './attach-command.js';
import { devicesCommand } from './devices-command.js';
import { doctorCommand } from './doctor-command.js';
import { localCommand } from './local-command.js';
import { UsageError, commands, help, overview, parse, type CommandName } from './options.js';
import { Printer } from './printer.js';
import { playCommand, recordingsCommand } from './recordings-command.js';
import { relayCommand } from './relay-command.js';
import { sessionsCommand } from './sessions-command.js';
import { serviceCommand } from './service-command.js';

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  let name: CommandName = 'local';
  let args = argv;
  if (first === 'help') {
    const topic = rest[0];
    process.stdout.write(topic && topic in commands ? help(commands[topic as CommandName]) : `${overview()}\n${help(commands.local)}`);
    return 0;
  }
  if (first !== undefined && first !== 'local' && first in commands) {
    name = first as CommandName;
    args = rest;
  } else if (first !== undefined && !first.startsWith('-')) {
    process.stderr.write(`ccremote: unknown command "${first}"\n\n${overview()}`);
    return 2;
  }
  const spec = commands[name];
  let parsed;
  try {
    parsed = parse(spec, args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`ccremote: ${error.message}\n\n${help(spec)}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(name === 'local' ? `${overview()}\n${help(spec)}` : help(spec));
    return 0;
  }
  const printer = new Printer(parsed.values.json === true);
  try {
    switch (name) {
      case 'relay':
        return await relayCommand(parsed, printer);
      case 'agent':
        return await agentCommand(parsed, printer);
      case 'attach':
        return await attachCommand(parsed);
      case 'doctor':
        return await doctorCommand(parsed, printer);
      case 'devices':
        return await devicesCommand(parsed, printer);
      case 'sessions':
        return await sessionsCommand(parsed, printer);
      case 'service':
        return await serviceCommand(parsed, printer);
      case 'recordings':
        return await recordingsCommand(parsed, printer);
      case 'play':
        return await playCommand(parsed, printer);
      default:
        return await localCommand(parsed, printer);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      printer.error(`${error.message}\n\n${help(spec)}`);
      return 2;
    }
    const known = error instanceof AgentStartError || error instanceof RegistrationRefused || isSystemError(error);
    printer.error(known ? (error as Error).message : `unexpected error: ${(error as Error).stack ?? String(error)}`);
    return known ? 2 : 1;
  }
}

/** Errors from the system that need no stack trace: a port in use, a file missing or unreadable. */
function isSystemError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'ENOENT' || code === 'EADDRNOTAVAIL';
}
