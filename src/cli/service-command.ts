// `ccremote service install|status|uninstall`: an agent that starts at login (with --stay), in this
// folder, and again when it fails, as a systemd user unit or a launchd agent. `install` takes the
// agent's options and refuses the ones a service cannot have: a PIN or a registration token (secrets,
// never written into the service file) and --rotate (it would replace the links at every start).
// With CCREMOTE_SERVICE_DRY_RUN=1 the file is written and the commands are printed instead of run.

import { resolve } from 'node:path';
import { resolveCommand } from '../agent/pty-process.js';
import { isRelayUrl } from '../protocol/index.js';
import { SERVICE_VARIABLES, ServiceError, agentServiceSpec, commandLine, installService, processHost, runCommand, serviceStatus, uninstallService, type CommandRunner, type ServiceLocation, type ServiceStep } from '../service/service.js';
import { RESTART_DELAY_S, ServiceFileError } from '../service/service-file.js';
import { agentOptionsFrom } from './agent-command.js';
import { UsageError, commands, type Parsed } from './options.js';
import type { Printer } from './printer.js';

/** Options of `service` that are its own, not passed to the agent (`--stay` is always passed). */
const OWN_OPTIONS = new Set(['json', 'help', 'stay']);

/** `ccremote service`. */
export async function serviceCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const [action] = parsed.positionals;
  const dryRun = !['', '0', undefined].includes(process.env.CCREMOTE_SERVICE_DRY_RUN);
  const run: CommandRunner = async (command, args) => {
    printer.event({ event: 'command', command: [command, ...args], run: !dryRun });
    printer.line(`${dryRun ? 'would run' : 'running'}: ${commandLine([command, ...args])}`);
    return dryRun ? { code: 0, stdout: '', stderr: '', skipped: true } : runCommand(command, args);
  };
  const host = processHost(run);
  const step = (s: ServiceStep): void => {
    printer.event(s);
    printer.line(`${s.event === 'written' ? 'Wrote' : 'Removed'} ${s.file}`);
  };
  if (action !== 'install' && action !== 'status' && action !== 'uninstall') throw new UsageError(`unknown action "${action}" (install, status or uninstall)`);
  if (action !== 'install') {
    const given = Object.entries(parsed.values).find(([name, value]) => value !== undefined && name !== 'json');
    if (given || parsed.command.length > 0) throw new UsageError(`"service ${action}" takes no agent options (only install does)`);
  }
  try {
    if (action === 'install') return await install(parsed, printer, host, step, dryRun);
    if (action === 'status') {
      const status = await serviceStatus(host);
      printer.event({ event: 'status', manager: status.location.manager, file: status.location.file, installed: status.installed, state: status.state, detail: status.detail });
      if (!status.installed) {
        printer.line(`Not installed (there is no ${status.location.file}).`);
        return 0;
      }
      printer.line(`Installed: ${status.location.file}`);
      if (status.state !== undefined) {
        printer.line(`State: ${status.state}${status.detail ? ` (${status.detail})` : ''}, says "${commandLine(status.command!)}"`);
      }
      printer.line(logHint(status.location));
      return 0;
    }
    const result = await uninstallService(host, step);
    printer.event({ event: 'uninstalled', manager: result.location.manager, file: result.location.file, removed: result.removed });
    if (!result.removed) printer.line(`Not installed (there is no ${result.location.file}); nothing to remove.`);
    else printer.line(dryRun ? 'Dry run (CCREMOTE_SERVICE_DRY_RUN): the file is removed; the commands above were not run.' : 'The service is stopped and removed.');
    return 0;
  } catch (error) {
    if (!(error instanceof ServiceError) && !(error instanceof ServiceFileError)) throw error;
    printer.error(error.message);
    return 1;
  }
}

async function install(parsed: Parsed, printer: Printer, host: ReturnType<typeof processHost>, step: (s: ServiceStep) => void, dryRun: boolean): Promise<number> {
  const v = parsed.values;
  if (v.pin) {
    throw new UsageError(
      '--pin cannot be used with a service: the PIN is asked for at a terminal when the agent starts, a service has none, and a PIN is ' +
        'never written into a file. Pair your devices first with "ccremote agent --relay URL --pin" run here by hand (paired devices need no PIN), ' +
        'then install the service without --pin.',
    );
  }
  if (v['registration-token'] !== undefined) {
    throw new UsageError(
      '--registration-token cannot be used with a service: a token is a secret and is never written into the service file. Run ' +
        '"ccremote agent --relay URL --registration-token TOKEN" here once: the agent registers and keeps its identity, and the service then needs no token.',
    );
  }
  if (v.rotate) throw new UsageError('--rotate cannot be used with a service: it would replace the links at every start. Run "ccremote agent --relay URL --rotate" here once instead.');
  const relay = v.relay as string | undefined;
  if (!relay) throw new UsageError('--relay URL is required: the service runs an agent that serves through a relay (the local mode, without one, is not a service)');
  if (!isRelayUrl(relay)) throw new UsageError(`--relay must be an http:// or https:// URL: ${relay}`);
  // The same checks as `ccremote agent` (sizes, durations, counts), now rather than at every start.
  await agentOptionsFrom(parsed);

  const warn = (message: string): void => {
    printer.event({ event: 'warning', message });
    printer.notice(`warning: ${message}`);
  };
  const cwd = process.cwd();
  const command = parsed.command[0] ?? 'claude';
  if (!resolveCommand(command, resolve(cwd, (v.cwd as string | undefined) ?? '.'), process.env.PATH)) {
    warn(`${command} is not found on this PATH, which the service gets: the agent will fail to start until it is`);
  }
  if (process.env.CCREMOTE_PIN) warn('CCREMOTE_PIN is set here, but the service does not get it: its links need no PIN');
  if (process.env.CCREMOTE_REGISTRATION_TOKEN) warn('CCREMOTE_REGISTRATION_TOKEN is set here, but the service does not get it: run "ccremote agent" here once to register');

  const spec = agentServiceSpec({ agentArgs: agentArguments(parsed), cwd, env: process.env });
  const { location, replaced } = await installService(host, spec, step);
  printer.event({ event: 'installed', manager: location.manager, file: location.file, name: location.name, replaced, dryRun, argv: spec.argv, cwd, env: SERVICE_VARIABLES.filter((name) => process.env[name]) });
  if (dryRun) {
    printer.line('Dry run (CCREMOTE_SERVICE_DRY_RUN): the file is written; the commands above were not run.');
    return 0;
  }
  printer.line(`The agent runs now, in ${cwd}, and at every login; it starts again ${RESTART_DELAY_S} s after a failure.`);
  printer.line(logHint(location));
  printer.line('"ccremote service status" says whether it runs; "ccremote service uninstall" stops and removes it.');
  return 0;
}

/** Where the agent's output (and its link) is. */
function logHint(location: ServiceLocation): string {
  return location.manager === 'systemd' ? `Its output, with the link: journalctl --user -u ${location.name}` : `Its output, with the link: ${location.logFile}`;
}

/** The agent's options as given, in a canonical form, without the service's own; then `-- CMD ARGS…`. */
export function agentArguments(parsed: Parsed): string[] {
  const args: string[] = [];
  for (const name of Object.keys(commands.service.options)) {
    if (OWN_OPTIONS.has(name) || !(name in commands.agent.options)) continue;
    const value = parsed.values[name];
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one === undefined || one === false) continue;
      if (one === true) args.push(`--${name}`);
      // A value that starts with "-" would be read as an option.
      else if (one.startsWith('-')) args.push(`--${name}=${one}`);
      else args.push(`--${name}`, one);
    }
  }
  if (parsed.command.length > 0) args.push('--', ...parsed.command);
  return args;
}
