// The text of a per-user service file that runs a program at login and again when it fails: a systemd
// user unit (Linux) or a launchd agent (macOS). Pure functions: what runs, where and with which
// environment goes in; the file's text comes out, every value quoted or escaped for the file's syntax so
// that the program gets exactly the arguments given, whatever characters they hold.

/** What a service runs. */
export interface ServiceSpec {
  /** The program (an absolute path) and its arguments. */
  argv: string[];
  /** Its working directory (an absolute path). */
  cwd: string;
  /** Environment variables it gets, in this order (names are letters, digits and `_`). */
  env: Array<[name: string, value: string]>;
  /** One line saying what it is (systemd's Description=). */
  description: string;
}

/** The systemd unit's name. */
export const SYSTEMD_UNIT = 'ccremote-agent.service';
/** The launchd job's label (and the plist's name without `.plist`). */
export const LAUNCHD_LABEL = 'dev.ccremote.agent';
/** Seconds between a failure and the next start. */
export const RESTART_DELAY_S = 5;

/** A value a service file cannot hold as given (the file would run something else). */
export class ServiceFileError extends Error {
  override name = 'ServiceFileError';
}

/** A systemd user unit running `spec`, restarted 5 s after a failure, started at login. */
export function systemdUnit(spec: ServiceSpec): string {
  check(spec);
  const environment = spec.env.map(([name, value]) => `Environment=${systemdWord(`${name}=${value}`, false)}\n`).join('');
  return (
    '# Written by `ccremote service install`; `ccremote service uninstall` removes it.\n' +
    '[Unit]\n' +
    `Description=${systemdLine(spec.description)}\n` +
    '\n' +
    '[Service]\n' +
    `ExecStart=${spec.argv.map(systemdArgument).join(' ')}\n` +
    `WorkingDirectory=${systemdPath(spec.cwd)}\n` +
    environment +
    'Restart=on-failure\n' +
    `RestartSec=${RESTART_DELAY_S}\n` +
    '\n' +
    '[Install]\n' +
    'WantedBy=default.target\n'
  );
}

/** A launchd agent (for ~/Library/LaunchAgents) running `spec` at load, again when it fails, logging to `logFile`. */
export function launchdPlist(spec: ServiceSpec, logFile: string): string {
  check(spec);
  const string = (value: string): string => `<string>${xmlText(value)}</string>`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `ccremote service install`; `ccremote service uninstall` removes it. -->',
    '<plist version="1.0">',
    '<dict>',
    '\t<key>Label</key>',
    `\t${string(LAUNCHD_LABEL)}`,
    '\t<key>ProgramArguments</key>',
    '\t<array>',
    ...spec.argv.map((arg) => `\t\t${string(arg)}`),
    '\t</array>',
    '\t<key>WorkingDirectory</key>',
    `\t${string(spec.cwd)}`,
    '\t<key>EnvironmentVariables</key>',
    '\t<dict>',
    ...spec.env.flatMap(([name, value]) => [`\t\t<key>${xmlText(name)}</key>`, `\t\t${string(value)}`]),
    '\t</dict>',
    '\t<key>RunAtLoad</key>',
    '\t<true/>',
    '\t<key>KeepAlive</key>',
    '\t<dict>',
    '\t\t<key>SuccessfulExit</key>',
    '\t\t<false/>',
    '\t</dict>',
    '\t<key>ThrottleInterval</key>',
    `\t<integer>${RESTART_DELAY_S}</integer>`,
    '\t<key>StandardOutPath</key>',
    `\t${string(logFile)}`,
    '\t<key>StandardErrorPath</key>',
    `\t${string(logFile)}`,
    '</dict>',
    '</plist>',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * One argument of systemd's ExecStart=: `\`, `"` and control characters C-escaped, `%` as `%%` (specifiers)
 * and `$` as `$$` (variables); in double quotes unless it holds only characters that need none.
 */
export function systemdArgument(arg: string): string {
  return systemdWord(arg, true);
}

/** A word in systemd's syntax (ExecStart=, Environment=); `$` doubled where variables are expanded. */
function systemdWord(text: string, variables: boolean): string {
  wellFormed(text, 'systemd unit');
  let escaped = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') escaped += `\\${ch}`;
    else if (ch === '%') escaped += '%%';
    else if (ch === '$' && variables) escaped += '$$';
    else if (ch === '\n') escaped += '\\n';
    else if (ch === '\t') escaped += '\\t';
    else if (code < 0x20 || code === 0x7f) escaped += `\\x${code.toString(16).padStart(2, '0')}`;
    else escaped += ch;
  }
  // Unquoted, a word must not hold spaces, quotes, `\`, `;` (a command separator on its own) or anything
  // a reader could take for syntax; a lone `;` quoted is an argument.
  return /^[A-Za-z0-9_@+=:,./%-]+$/.test(text) ? escaped : `"${escaped}"`;
}

/** A path for WorkingDirectory= (taken to the end of the line, specifiers expanded, nothing unquoted). */
function systemdPath(path: string): string {
  if (!path.startsWith('/')) throw new ServiceFileError(`the working directory must be an absolute path: ${JSON.stringify(path)}`);
  if (/[\x00-\x1f\x7f]/.test(path) || path.trim() !== path || path.endsWith('\\')) {
    throw new ServiceFileError(`a systemd unit cannot hold this working directory (control characters, spaces at an end or a "\\" at the end): ${JSON.stringify(path)}`);
  }
  return path.replace(/%/g, '%%');
}

/** Free text on one line (Description=): control characters become spaces, specifiers are escaped. */
function systemdLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, ' ').trim().replace(/%/g, '%%');
}

/**
 * `text` as XML character data: `&`, `<`, `>`, `"` and `'` as entities, and a carriage return as a
 * character reference (a parser would turn a literal one into a line feed). XML 1.0 has no way to write
 * the other control characters, so they are refused.
 */
export function xmlText(text: string): string {
  wellFormed(text, 'launchd plist');
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/.test(text)) throw new ServiceFileError(`a launchd plist cannot hold control characters: ${JSON.stringify(text)}`);
  return text.replace(/[&<>"'\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' })[c]!);
}

function check(spec: ServiceSpec): void {
  if (spec.argv.length === 0 || !spec.argv[0]!.startsWith('/')) throw new ServiceFileError(`the program must be an absolute path: ${JSON.stringify(spec.argv[0] ?? '')}`);
  if (!spec.cwd.startsWith('/')) throw new ServiceFileError(`the working directory must be an absolute path: ${JSON.stringify(spec.cwd)}`);
  for (const [name] of spec.env) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ServiceFileError(`not an environment variable name: ${JSON.stringify(name)}`);
  }
}

/** Refuses NUL and lone surrogates, which neither file can hold (they would be written as something else). */
function wellFormed(text: string, where: string): void {
  if (text.includes('\0') || /[\ud800-\udfff]/u.test(text)) throw new ServiceFileError(`a ${where} cannot hold NUL or a lone surrogate: ${JSON.stringify(text)}`);
}
