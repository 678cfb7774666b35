// `ccremote devices`: the devices paired with the agent of this folder (from the running agent when there
// is one, else from its identity file), and `ccremote devices revoke ID`, through the running agent when
// there is one (it cuts the device off at once, replaces the link and prints the new one), or in the
// identity file when the agent is not running (the relay learns it when the agent next connects). Names
// come from the devices and addresses from the relay: they are printed as data.

import { resolve } from 'node:path';
import { AgentCredentials } from '../agent/credentials.js';
import { askAgent, controlPath } from '../agent/control-socket.js';
import { IdentityFile, defaultConfigDir, type Identity, type PairedDevice } from '../agent/identity.js';
import { LockFile } from '../agent/lock-file.js';
import { printable, trimSlash } from '../protocol/index.js';
import { UsageError, type Parsed } from './options.js';
import type { Printer } from './printer.js';

/** `ccremote devices`. */
export async function devicesCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const [action, id] = parsed.positionals;
  if (action !== undefined && action !== 'revoke') throw new UsageError(`unknown action "${action}" (the only one is "revoke ID")`);
  if (action === 'revoke' && id === undefined) throw new UsageError('revoke needs the id of the device (as "ccremote devices" lists it)');
  const cwd = resolve((parsed.values.cwd as string | undefined) ?? process.cwd());
  const relay = parsed.values.relay as string | undefined;
  const configDir = (parsed.values['config-dir'] as string | undefined) ?? defaultConfigDir();
  const agents = (await IdentityFile.all(configDir)).filter(({ identity }) => identity.cwd === cwd && (relay === undefined || identity.relayUrl === trimSlash(relay)));
  if (agents.length === 0) throw new UsageError(`no agent has run in ${cwd}${relay ? ` with the relay ${relay}` : ''} (looked in ${configDir})`);
  if (action === 'revoke') return revoke(agents, id!, printer);
  for (const { file, identity } of agents) {
    const devices = (await runningDevices(file)) ?? identity.devices;
    printer.event({ event: 'agent', agentId: identity.agentId, relay: identity.relayUrl, cwd: identity.cwd, devices: devices.length });
    printer.line(`Agent ${identity.agentId} at ${identity.relayUrl} (${identity.cwd}):`);
    if (devices.length === 0) printer.line('  no device is paired yet');
    for (const device of devices) {
      printer.event({ event: 'device', agentId: identity.agentId, ...shown(device) });
      printer.line(`  ${device.id}  ${printable(device.name)}  ${device.access === 'full' ? 'can type' : 'view only'}  ${seen(device)}`);
    }
  }
  return 0;
}

/** The devices as the running agent knows them (its "last seen" is the latest), or undefined if none runs. */
async function runningDevices(file: IdentityFile): Promise<Array<Omit<PairedDevice, 'psk' | 'verifier'>> | undefined> {
  try {
    const answer = await askAgent(controlPath(file.path), { type: 'devices' });
    return answer.ok && Array.isArray(answer.devices) ? (answer.devices as Array<Omit<PairedDevice, 'psk' | 'verifier'>>) : undefined;
  } catch {
    return undefined;
  }
}

async function revoke(agents: Array<{ file: IdentityFile; identity: Identity }>, wanted: string, printer: Printer): Promise<number> {
  const matches = agents.flatMap(({ file, identity }) => identity.devices.filter((d) => d.id === wanted || (wanted.length >= 4 && d.id.startsWith(wanted))).map((device) => ({ file, identity, device })));
  if (matches.length === 0) throw new UsageError(`no paired device ${wanted}; "ccremote devices" lists them`);
  if (matches.length > 1) throw new UsageError(`${wanted} names ${matches.length} devices; give more of the id, or --relay`);
  const { file, identity, device } = matches[0]!;
  try {
    const answer = await askAgent(controlPath(file.path), { type: 'revoke', id: device.id });
    if (!answer.ok) {
      printer.error(`the agent refused: ${answer.message}`);
      return 1;
    }
    printer.event({ event: 'revoked', id: device.id, name: device.name, url: answer.url, viewUrl: answer.viewUrl });
    printer.line(`Revoked "${printable(device.name)}": it is cut off, and the link was replaced. The new one (the agent printed it too):\n\n  ${answer.url}\n`);
    return 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw error;
  }
  // No agent answers for this folder: the identity file changes, and the relay hears of it when it starts.
  // The agent's lock is held meanwhile, so that an agent running (or starting) cannot write over it.
  const lock = new LockFile(`${file.path}.lock`);
  try {
    lock.acquire();
  } catch (error) {
    printer.error(`the agent cannot be reached, and it cannot be revoked without it: ${(error as Error).message}`);
    return 1;
  }
  try {
    await new AgentCredentials(await file.load(identity.relayUrl, identity.cwd), file, undefined).revoke(device.id);
  } finally {
    lock.release();
  }
  printer.event({ event: 'revoked', id: device.id, name: device.name });
  printer.line(`Revoked "${printable(device.name)}", and replaced the link. The agent is not running: it prints the new link when it starts.`);
  return 0;
}

function shown(device: Omit<PairedDevice, 'psk' | 'verifier'>): Record<string, unknown> {
  return { id: device.id, name: device.name, access: device.access, pairedAt: device.pairedAt, lastSeen: device.lastSeen ?? null, lastAddress: device.lastAddress ?? null, alerts: device.push !== undefined };
}

function seen(device: Omit<PairedDevice, 'psk' | 'verifier'>): string {
  const paired = `paired ${new Date(device.pairedAt).toLocaleString()}${device.push ? ', gets alerts' : ''}`;
  if (device.lastSeen === undefined || device.lastSeen === null) return paired;
  return `${paired}, last seen ${new Date(device.lastSeen).toLocaleString()}${device.lastAddress ? ` from ${printable(device.lastAddress)}` : ''}`;
}
