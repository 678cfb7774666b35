// `ccremote service`: the systemd unit and the launchd plist for awkward arguments (spaces, quotes, %, $,
// backslashes, non-ASCII, a command after "--"), read back field by field with the file's own rules and,
// where the tools are installed, checked by systemd-analyze and plutil; install, status and uninstall
// against a recording command runner (never the real user's services); and the CLI in dry-run mode.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, killAll, runCli } from './helpers/cli.js';
import { cleanup, tempDir } from './helpers/system.js';
import { LAUNCHD_LABEL, SYSTEMD_UNIT, ServiceFileError, launchdPlist, systemdArgument, systemdUnit, xmlText, type ServiceSpec } from '../src/service/service-file.js';
import { AGENT_NODE_FLAGS, ServiceError, agentServiceSpec, installService, serviceStatus, uninstallService, type CommandResult, type ServiceHost } from '../src/service/service.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

/** The first executable called `name` on PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

const NAME = `Ann's "box" 100% $HOME \${X} é 日本 ✓`;
const AWKWARD_ARGV = [
  '/usr/bin/node',
  '/opt/my apps/ccremote/bin/ccremote.js',
  'agent',
  '--stay',
  '--relay',
  'https://relay.example.com:8443/ccr',
  '--name',
  NAME,
  '--root',
  '/home/ann/My Projects',
  '--root',
  'C:\\odd\\path',
  '--',
  'claude',
  '--model',
  'x',
  ';',
  '',
  "it's",
  'tab\there',
  'line\nbreak',
];
const AWKWARD: ServiceSpec = {
  argv: AWKWARD_ARGV,
  cwd: '/home/ann/My Projects/app 50% é',
  env: [
    ['PATH', '/home/ann/.local/bin:/usr/local/bin:/usr/bin:/bin'],
    ['LANG', 'de_DE.UTF-8'],
    ['ODD', 'a "b" $c 5% \\d'],
  ],
  description: 'ccremote agent: 100% yours',
};

/** A unit file's settings: section → [key, value] in order (comments and blank lines left out). */
function unitSettings(text: string): Record<string, Array<[string, string]>> {
  const sections: Record<string, Array<[string, string]>> = {};
  let current: Array<[string, string]> | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]!] = [];
      continue;
    }
    const setting = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!setting || !current) throw new Error(`not a unit file line: ${JSON.stringify(line)}`);
    current.push([setting[1]!, setting[2]!]);
  }
  return sections;
}

/**
 * Words of a command line as systemd reads them (systemd.syntax(7), systemd.service(5)): separated by
 * spaces, in double or single quotes or not, C escapes, then `%%` → `%` (specifiers) and, with
 * `variables`, `$$` → `$`. Any other `%` or `$` would be expanded by systemd: an error here.
 */
function systemdWords(line: string, variables: boolean): string[] {
  const words: string[] = [];
  let i = 0;
  const escapes: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t' };
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    let quote: string | undefined;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (quote === undefined && c === ' ') break;
      if (c === quote) {
        quote = undefined;
      } else if (quote === undefined && (c === '"' || c === "'")) {
        quote = c;
      } else if (c === '\\') {
        const next = line[++i]!;
        if (next === 'x') {
          word += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
          i += 2;
        } else if (next in escapes) {
          word += escapes[next];
        } else {
          throw new Error(`unknown escape \\${next}`);
        }
      } else {
        word += c;
      }
    }
    if (quote !== undefined) throw new Error('unbalanced quotes');
    words.push(unescapeSpecials(word, variables));
  }
  return words;
}

function unescapeSpecials(word: string, variables: boolean): string {
  const special = variables ? /%%|\$\$|%|\$/g : /%%|%/g;
  return word.replace(special, (m) => {
    if (m.length === 1) throw new Error(`an unescaped ${m} in ${JSON.stringify(word)} would be expanded by systemd`);
    return m[0]!;
  });
}

type Plist = string | number | boolean | Plist[] | { [key: string]: Plist };

/** A property list, read with the XML rules it needs (elements, entities, character references); throws on anything malformed. */
function parsePlist(text: string): Plist {
  const prolog = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n';
  if (!text.startsWith(prolog)) throw new Error('no XML declaration and plist DOCTYPE');
  const body = text.slice(prolog.length).replace(/<!--(?:(?!--)[\s\S])*-->/g, '');
  const tokens = [...body.matchAll(/<(\/?)([A-Za-z]+)(?: version="1\.0")?(\/?)>|([^<]+)/g)];
  if (tokens.map((t) => t[0]).join('') !== body) throw new Error('stray markup');
  let at = 0;
  const text_ = (raw: string): string => {
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(raw) || /[>]/.test(raw.replace(/&gt;/g, ''))) throw new Error(`unescaped markup in ${JSON.stringify(raw)}`);
    return raw
      .replace(/\r\n?/g, '\n')
      .replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
        e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!,
      );
  };
  const skipSpace = (): void => {
    while (tokens[at]?.[4] !== undefined && tokens[at]![4]!.trim() === '') at++;
  };
  const close = (name: string): void => {
    const t = tokens[at++];
    if (!t || t[1] !== '/' || t[2] !== name) throw new Error(`expected </${name}>, found ${t?.[0]}`);
  };
  const value = (): Plist => {
    skipSpace();
    const t = tokens[at++];
    if (!t || t[1] || t[4] !== undefined) throw new Error(`expected an element, found ${t?.[0]}`);
    const name = t[2]!;
    if (t[3]) {
      if (name === 'true' || name === 'false') return name === 'true';
      if (name === 'string') return '';
      throw new Error(`<${name}/>`);
    }
    if (name === 'string' || name === 'key' || name === 'integer') {
      const content = tokens[at]?.[4] !== undefined ? text_(tokens[at++]![4]!) : '';
      close(name);
      return name === 'integer' ? Number(content) : content;
    }
    if (name === 'array') {
      const items: Plist[] = [];
      for (skipSpace(); tokens[at]?.[1] !== '/'; skipSpace()) items.push(value());
      close('array');
      return items;
    }
    if (name === 'dict') {
      const dict: Record<string, Plist> = {};
      for (skipSpace(); tokens[at]?.[1] !== '/'; skipSpace()) {
        if (tokens[at]?.[2] !== 'key' || tokens[at]?.[1]) throw new Error(`a dict entry without <key>: ${tokens[at]?.[0]}`);
        const key = value() as string;
        if (key in dict) throw new Error(`key ${key} twice`);
        dict[key] = value();
      }
      close('dict');
      return dict;
    }
    if (name === 'plist') {
      const inner = value();
      skipSpace();
      close('plist');
      skipSpace();
      if (at !== tokens.length) throw new Error('content after </plist>');
      return inner;
    }
    throw new Error(`unexpected <${name}>`);
  };
  return value();
}

describe('the systemd unit', () => {
  it('holds every field expected, each argument quoted and escaped for ExecStart', () => {
    const unit = systemdUnit(AWKWARD);
    expect(unit.startsWith('# Written by `ccremote service install`')).toBe(true);
    expect(unitSettings(unit)).toEqual({
      Unit: [['Description', 'ccremote agent: 100%% yours']],
      Service: [
        [
          'ExecStart',
          '/usr/bin/node "/opt/my apps/ccremote/bin/ccremote.js" agent --stay --relay https://relay.example.com:8443/ccr ' +
            `--name "Ann's \\"box\\" 100%% $$HOME $\${X} é 日本 ✓" --root "/home/ann/My Projects" --root "C:\\\\odd\\\\path" ` +
            `-- claude --model x ";" "" "it's" "tab\\there" "line\\nbreak"`,
        ],
        ['WorkingDirectory', '/home/ann/My Projects/app 50%% é'],
        ['Environment', 'PATH=/home/ann/.local/bin:/usr/local/bin:/usr/bin:/bin'],
        ['Environment', 'LANG=de_DE.UTF-8'],
        // No variables in Environment=: "$" is itself, only "%" is doubled.
        ['Environment', '"ODD=a \\"b\\" $c 5%% \\\\d"'],
        ['Restart', 'on-failure'],
        ['RestartSec', '5'],
      ],
      Install: [['WantedBy', 'default.target']],
    });
  });

  it('gives the program exactly its arguments and environment, read back with systemd\'s rules', () => {
    const settings = unitSettings(systemdUnit(AWKWARD)).Service!;
    const get = (key: string): string[] => settings.filter(([k]) => k === key).map(([, v]) => v);
    expect(systemdWords(get('ExecStart')[0]!, true)).toEqual(AWKWARD_ARGV);
    expect(get('Environment').map((line) => systemdWords(line, false))).toEqual(AWKWARD.env.map(([name, value]) => [`${name}=${value}`]));
    expect(unescapeSpecials(get('WorkingDirectory')[0]!, false)).toBe(AWKWARD.cwd);
  });

  it('escapes control characters and refuses what a unit cannot hold', () => {
    expect(systemdArgument('a\x01b\x7f')).toBe('"a\\x01b\\x7f"');
    expect(systemdArgument('plain-word_1.0:x,y=z@h/p')).toBe('plain-word_1.0:x,y=z@h/p');
    expect(systemdArgument('50%')).toBe('50%%');
    expect(() => systemdUnit({ ...AWKWARD, argv: ['node', 'x'] })).toThrow(ServiceFileError);
    expect(() => systemdUnit({ ...AWKWARD, cwd: '/a\nb' })).toThrow(/working directory/);
    expect(() => systemdUnit({ ...AWKWARD, cwd: '/trailing ' })).toThrow(/working directory/);
    expect(() => systemdUnit({ ...AWKWARD, argv: ['/bin/x', 'a\0b'] })).toThrow(/NUL/);
    expect(() => systemdUnit({ ...AWKWARD, argv: ['/bin/x', 'lone \ud800'] })).toThrow(/surrogate/);
    expect(() => systemdUnit({ ...AWKWARD, env: [['NOT A NAME', 'x']] })).toThrow(/environment variable/);
  });

  const analyze = onPath('systemd-analyze');
  // .ci/run installs systemd on Linux: there, a missing systemd-analyze is a failure, not a skip.
  const mustVerify = process.env.CI === 'true' && process.platform === 'linux';
  it.skipIf(!analyze && !mustVerify)('passes `systemd-analyze --user verify` (and a broken one does not)', () => {
    expect(analyze, 'systemd-analyze is not installed (apt-get install systemd)').toBeDefined();
    const dir = tempDir();
    const cwd = join(dir, 'a folder 50% é $HOME');
    const runtime = join(dir, 'runtime');
    mkdirSync(cwd);
    mkdirSync(runtime, { mode: 0o700 });
    // A real program: verify checks that ExecStart's executable exists.
    const spec = { ...AWKWARD, argv: [process.execPath, ...AWKWARD_ARGV.slice(1)], cwd };
    const verify = (text: string): { status: number | null; complaints: string[] } => {
      const file = join(dir, SYSTEMD_UNIT);
      writeFileSync(file, text);
      const env = { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: runtime, LANG: 'C.UTF-8' };
      const result = spawnSync(analyze!, ['--user', '--man=no', 'verify', file], { env, encoding: 'utf8' });
      return { status: result.status, complaints: `${result.stderr}\n${result.stdout}`.split('\n').filter((line) => line.includes('ccremote-agent')) };
    };
    expect(verify(systemdUnit(spec))).toEqual({ status: 0, complaints: [] });
    const broken = verify(systemdUnit(spec).replace('RestartSec=5', 'RestartSec=5\nExecStartPre="unbalanced'));
    expect(broken.status !== 0 || broken.complaints.length > 0).toBe(true);
  });
});

describe('the launchd plist', () => {
  it('is a property list with every field expected, every string XML-escaped', () => {
    const log = '/Users/ann/Library/Logs/ccremote-agent.log';
    const plist = launchdPlist(AWKWARD, log);
    expect(parsePlist(plist)).toEqual({
      Label: LAUNCHD_LABEL,
      ProgramArguments: AWKWARD_ARGV,
      WorkingDirectory: AWKWARD.cwd,
      EnvironmentVariables: Object.fromEntries(AWKWARD.env),
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      StandardOutPath: log,
      StandardErrorPath: log,
    });
    // Each argument is one <string>, escaped: nothing in them is read as markup.
    expect(plist).toContain(`<string>Ann&apos;s &quot;box&quot; 100% $HOME \${X} é 日本 ✓</string>`);
    expect(plist).toContain('<string>C:\\odd\\path</string>');
    expect(plist).toContain('<string></string>');
  });

  it('escapes markup and refuses what XML cannot hold', () => {
    expect(xmlText(`<a href="x">&'\r`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&#13;');
    expect(parsePlist(launchdPlist({ ...AWKWARD, argv: ['/bin/x', '</string><true/>', 'a\r\nb'] }, '/l'))).toMatchObject({ ProgramArguments: ['/bin/x', '</string><true/>', 'a\r\nb'] });
    expect(() => launchdPlist({ ...AWKWARD, argv: ['/bin/x', 'bell\x07'] }, '/l')).toThrow(/control characters/);
    expect(() => launchdPlist({ ...AWKWARD, argv: ['/bin/x', 'a\0'] }, '/l')).toThrow(ServiceFileError);
  });

  it.skipIf(!onPath('plutil'))('passes `plutil -lint`, and plutil reads the same ProgramArguments', () => {
    const file = join(tempDir(), `${LAUNCHD_LABEL}.plist`);
    writeFileSync(file, launchdPlist(AWKWARD, '/tmp/ccremote-agent.log'));
    execFileSync('plutil', ['-lint', file]);
    const json = JSON.parse(execFileSync('plutil', ['-convert', 'json', '-o', '-', file], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(json.ProgramArguments).toEqual(AWKWARD_ARGV);
  });
});

/** A host in a temporary home whose commands are recorded and answered by `answer`. */
function fakeHost(platform: NodeJS.Platform, answer: (command: string[]) => Partial<CommandResult> | Error = () => ({})) {
  const home = tempDir();
  const commands: string[][] = [];
  const host: ServiceHost = {
    platform,
    home,
    env: { XDG_CONFIG_HOME: join(home, 'config') },
    uid: 501,
    run: async (command, args) => {
      commands.push([command, ...args]);
      const result = answer([command, ...args]);
      if (result instanceof Error) throw result;
      return { code: 0, stdout: '', stderr: '', ...result };
    },
  };
  return { host, home, commands };
}

const SPEC: ServiceSpec = { argv: ['/usr/bin/node', '/opt/ccremote/bin/ccremote.js', 'agent', '--stay', '--relay', 'https://r.example'], cwd: '/home/ann/p', env: [['PATH', '/usr/bin']], description: 'test' };

describe('installing, querying and removing the service', () => {
  it('systemd: writes the unit under XDG_CONFIG_HOME, reloads, enables and starts it; a second install restarts it', async () => {
    const { host, home, commands } = fakeHost('linux', (c) => (c.includes('is-active') ? { code: 0, stdout: 'active\n' } : {}));
    const file = join(home, 'config', 'systemd', 'user', SYSTEMD_UNIT);
    expect(await installService(host, SPEC)).toMatchObject({ location: { manager: 'systemd', file }, replaced: false });
    expect(readFileSync(file, 'utf8')).toBe(systemdUnit(SPEC));
    expect(commands).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', SYSTEMD_UNIT],
    ]);
    commands.length = 0;
    expect(await installService(host, SPEC)).toMatchObject({ replaced: true });
    expect(commands.at(-1)).toEqual(['systemctl', '--user', 'restart', SYSTEMD_UNIT]);
    expect(await serviceStatus(host)).toMatchObject({ installed: true, state: 'active', location: { file } });
    commands.length = 0;
    expect(await uninstallService(host)).toMatchObject({ removed: true });
    expect(existsSync(file)).toBe(false);
    expect(commands).toEqual([
      ['systemctl', '--user', 'disable', '--now', SYSTEMD_UNIT],
      ['systemctl', '--user', 'daemon-reload'],
    ]);
    expect(await serviceStatus(host)).toMatchObject({ installed: false });
    expect(await uninstallService(host)).toMatchObject({ removed: false });
  });

  it('systemd: ~/.config without XDG_CONFIG_HOME; an inactive unit is a state, not an error', async () => {
    const { host, home } = fakeHost('linux', (c) => (c.includes('is-active') ? { code: 3, stdout: 'inactive\n' } : {}));
    host.env = {};
    const { location } = await installService(host, SPEC);
    expect(location.file).toBe(join(home, '.config', 'systemd', 'user', SYSTEMD_UNIT));
    expect(await serviceStatus(host)).toMatchObject({ installed: true, state: 'inactive' });
  });

  it('says so when systemctl is missing or fails: the command and what it printed, never silently', async () => {
    const missing = fakeHost('linux', () => Object.assign(new Error('spawn systemctl ENOENT'), { code: 'ENOENT' }));
    await expect(installService(missing.host, SPEC)).rejects.toThrow(/systemctl was not found, so "systemctl --user daemon-reload" could not run/);
    await expect(serviceStatus(missing.host)).rejects.toThrow(ServiceError);

    const noBus = fakeHost('linux', () => ({ code: 1, stderr: 'Failed to connect to bus: No medium found\n' }));
    const error = await installService(noBus.host, SPEC).then(() => undefined, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error!.message).toMatch(/"systemctl --user daemon-reload" failed with exit code 1:\nFailed to connect to bus: No medium found\nNo systemd user session/);
    await expect(serviceStatus(noBus.host)).rejects.toThrow(/is-active ccremote-agent.service" failed with exit code 1/);
    // A failed disable leaves the unit in place, to try again.
    await expect(uninstallService(noBus.host)).rejects.toThrow(/disable --now/);
    expect(existsSync(join(noBus.home, 'config', 'systemd', 'user', SYSTEMD_UNIT))).toBe(true);
  });

  it('launchd: writes the plist, a log readable by the user only, bootstraps it; status reads launchctl print; uninstall boots it out', async () => {
    let loaded = false;
    const { host, home, commands } = fakeHost('darwin', (c) => {
      if (c[1] === 'print') return loaded ? { code: 0, stdout: 'gui/501/dev.ccremote.agent = {\n\tstate = running\n\tpid = 4242\n\tlast exit code = (never exited)\n}\n' } : { code: 113, stderr: 'Could not find service "dev.ccremote.agent" in domain for port\n' };
      if (c[1] === 'bootstrap') loaded = true;
      if (c[1] === 'bootout') loaded = false;
      return {};
    });
    const file = join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    const log = join(home, 'Library', 'Logs', 'ccremote-agent.log');
    expect(await serviceStatus(host)).toMatchObject({ installed: false, location: { manager: 'launchd', file } });
    await installService(host, SPEC);
    expect(readFileSync(file, 'utf8')).toBe(launchdPlist(SPEC, log));
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(commands).toEqual([
      ['launchctl', 'print', `gui/501/${LAUNCHD_LABEL}`],
      ['launchctl', 'bootstrap', 'gui/501', file],
    ]);
    expect(await serviceStatus(host)).toMatchObject({ installed: true, state: 'running', detail: 'pid 4242, last exit code (never exited)' });
    commands.length = 0;
    await installService(host, SPEC);
    expect(commands).toEqual([
      ['launchctl', 'print', `gui/501/${LAUNCHD_LABEL}`],
      ['launchctl', 'bootout', `gui/501/${LAUNCHD_LABEL}`],
      ['launchctl', 'bootstrap', 'gui/501', file],
    ]);
    commands.length = 0;
    expect(await uninstallService(host)).toMatchObject({ removed: true });
    expect(existsSync(file)).toBe(false);
    expect(commands.slice(1)).toEqual([['launchctl', 'bootout', `gui/501/${LAUNCHD_LABEL}`]]);
  });

  it('launchd: a failing bootstrap is an error with launchctl\'s words', async () => {
    const { host } = fakeHost('darwin', (c) => (c[1] === 'print' ? { code: 113 } : { code: 5, stderr: 'Bootstrap failed: 5: Input/output error\n' }));
    await expect(installService(host, SPEC)).rejects.toThrow(/"launchctl bootstrap gui\/501 .*" failed with exit code 5:\nBootstrap failed: 5: Input\/output error/);
  });

  it('refuses other platforms', async () => {
    const { host } = fakeHost('win32');
    await expect(installService(host, SPEC)).rejects.toThrow(/systemd \(Linux\) and launchd \(macOS\), not on win32/);
  });

  it('the agent service: node with the engine settings of an agent, the ccremote script, agent --stay and the options; no secret, only the listed variables', () => {
    const env = { PATH: '/x/bin:/usr/bin', LANG: 'C.UTF-8', CCREMOTE_PIN: '123456', CCREMOTE_REGISTRATION_TOKEN: 't', ANTHROPIC_API_KEY: 'sk-secret', HOME: '/home/ann' };
    const spec = agentServiceSpec({ agentArgs: ['--relay', 'https://r.example', '--', 'claude', '--pin'], cwd: '/home/ann/p', env, node: '/n/node', script: '/s/ccremote.js' });
    expect(spec.argv).toEqual(['/n/node', '--single-threaded-gc', '/s/ccremote.js', 'agent', '--stay', '--relay', 'https://r.example', '--', 'claude', '--pin']);
    expect(spec.env).toEqual([
      ['PATH', '/x/bin:/usr/bin'],
      ['LANG', 'C.UTF-8'],
    ]);
    expect(agentServiceSpec({ agentArgs: [], cwd: '/', env: {} }).argv.slice(1, 3)).toEqual([...AGENT_NODE_FLAGS, BIN]);
    // This Node takes those settings and runs ccremote with them.
    const started = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, BIN, '--version'], { encoding: 'utf8' });
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/\d+\.\d+\.\d+/);
    expect(() => agentServiceSpec({ agentArgs: ['--relay', 'https://r', '--pin'], cwd: '/', env })).toThrow(/--pin holds a secret/);
    expect(() => agentServiceSpec({ agentArgs: ['--registration-token=abc'], cwd: '/', env })).toThrow(/--registration-token holds a secret/);
  });
});

describe.skipIf(process.platform !== 'linux' && process.platform !== 'darwin')('ccremote service (dry run)', () => {
  const systemd = process.platform === 'linux';

  function dryRunEnv(): { env: NodeJS.ProcessEnv; file: string } {
    const home = tempDir();
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), CCREMOTE_SERVICE_DRY_RUN: '1', CCREMOTE_PIN: 'pin-never-written-4242' };
    const file = systemd ? join(home, 'config', 'systemd', 'user', SYSTEMD_UNIT) : join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    return { env, file };
  }

  it('install writes the file and prints the commands; status and uninstall; nothing secret in the file', async () => {
    const { env, file } = dryRunEnv();
    const install = runCli(['service', 'install', '--relay', 'http://127.0.0.1:9', '--root', '/tmp', '--', 'claude'], env);
    expect((await install.exited).code, install.stderr()).toBe(0);
    const out = install.stdout().toString();
    expect(out).toContain(`Wrote ${file}`);
    const argv = [process.execPath, ...AGENT_NODE_FLAGS, BIN, 'agent', '--stay', '--relay', 'http://127.0.0.1:9', '--root', '/tmp', '--', 'claude'];
    const text = readFileSync(file, 'utf8');
    if (systemd) {
      expect(out).toContain('would run: systemctl --user daemon-reload\nwould run: systemctl --user enable --now ccremote-agent.service\n');
      const service = unitSettings(text).Service!;
      expect(service).toContainEqual(['ExecStart', argv.map(systemdArgument).join(' ')]);
      expect(service).toContainEqual(['WorkingDirectory', process.cwd()]);
      expect(systemdWords(service.find(([key]) => key === 'Environment')![1], false)).toEqual([`PATH=${process.env.PATH}`]);
      expect(service).toContainEqual(['Restart', 'on-failure']);
    } else {
      expect(out).toContain(`would run: launchctl bootstrap gui/${process.getuid!()} ${file}`);
      expect(parsePlist(text)).toMatchObject({ ProgramArguments: argv, WorkingDirectory: process.cwd() });
    }
    expect(text).not.toContain('pin-never-written-4242');
    expect(install.stderr()).toContain('CCREMOTE_PIN is set here, but the service does not get it');

    const status = runCli(['service', 'status', '--json'], env);
    expect((await status.exited).code).toBe(0);
    expect(status.events.items.at(-1)).toMatchObject({ event: 'status', installed: true, file });

    const uninstall = runCli(['service', 'uninstall'], env);
    expect((await uninstall.exited).code, uninstall.stderr()).toBe(0);
    expect(uninstall.stdout().toString()).toContain(systemd ? 'would run: systemctl --user disable --now ccremote-agent.service' : 'would run: launchctl bootout');
    expect(uninstall.stdout().toString()).toContain(`Removed ${file}`);
    expect(existsSync(file)).toBe(false);
  });

  it('--json prints one object per line', async () => {
    const { env, file } = dryRunEnv();
    const install = runCli(['service', 'install', '--json', '-r', 'http://127.0.0.1:9', '--name=-dash', '--', 'claude'], env);
    expect((await install.exited).code).toBe(0);
    const lines = install.stdout().toString().trim().split('\n');
    // Warnings first (CCREMOTE_PIN is set), then the file, the commands (would be) run, and the result.
    const events = lines.map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events.filter((e) => e !== 'warning')).toEqual(['written', 'command', 'command', 'installed']);
    expect(events[0]).toBe('warning');
    expect(install.events.items.find((e) => e.event === 'installed')).toMatchObject({ file, dryRun: true, argv: [process.execPath, ...AGENT_NODE_FLAGS, BIN, 'agent', '--stay', '--relay', 'http://127.0.0.1:9', '--name=-dash', '--', 'claude'] });
  });

  it('refuses --pin, --registration-token, --rotate and a missing or bad --relay, and writes nothing', async () => {
    const { env, file } = dryRunEnv();
    const cases: Array<[string[], RegExp]> = [
      [['--relay', 'http://127.0.0.1:9', '--pin'], /--pin cannot be used with a service: the PIN is asked for at a terminal/],
      [['--relay', 'http://127.0.0.1:9', '--registration-token', 'tok'], /--registration-token cannot be used with a service/],
      [['--relay', 'http://127.0.0.1:9', '--rotate'], /--rotate cannot be used with a service/],
      [['--root', '/tmp', '--', 'claude'], /--relay URL is required/],
      [['--relay', 'ftp://x'], /--relay must be an http:\/\/ or https:\/\/ URL/],
      [['--relay', 'http://127.0.0.1:9', '--max-sessions', 'lots'], /--max-sessions must be a whole number/],
    ];
    for (const [args, message] of cases) {
      const run = runCli(['service', 'install', ...args], env);
      expect((await run.exited).code, args.join(' ')).toBe(2);
      expect(run.stderr(), args.join(' ')).toMatch(message);
      expect(existsSync(file)).toBe(false);
    }
    const other = runCli(['service', 'status', '--relay', 'http://127.0.0.1:9'], env);
    expect((await other.exited).code).toBe(2);
    expect(other.stderr()).toMatch(/"service status" takes no agent options/);
    const unknown = runCli(['service', 'restart'], env);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.stderr()).toMatch(/unknown action "restart"/);
  });
});
