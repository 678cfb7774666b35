// The default mode, `ccremote` with no subcommand: a relay and an agent in this one process, with a
// link reachable from the local network. Only the in-process agent can register with this relay.

import { join } from 'node:path';
import { defaultConfigDir } from '../agent/identity.js';
import { randomId } from '../protocol/index.js';
import { createRelay } from '../relay/relay.js';
import { agentOptionsFrom, runAgent } from './agent-command.js';
import { describeListening, lanAddress, listeningAddresses } from './lan-address.js';
import { parsePort, type Parsed } from './options.js';
import type { Printer } from './printer.js';
import { untilStopSignal } from './signals.js';

/** `ccremote` (local mode). */
export async function localCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const v = parsed.values;
  const agentOptions = await agentOptionsFrom(parsed);
  const configDir = agentOptions.configDir ?? defaultConfigDir();
  const registrationToken = randomId();
  // Listening for the stop signals before saying it listens: a SIGTERM sent as soon as someone reads that closes both.
  return untilStopSignal(async (stop) => {
    const relay = await createRelay({
      port: parsePort(v.port as string | undefined, 8080),
      host: v.host as string | undefined,
      publicUrl: v['public-url'] as string | undefined,
      dataDir: join(configDir, 'local-relay'),
      registrationToken,
      // The agent reports its own connection; from the embedded relay only browsers are news.
      log: (entry) => !entry.event.startsWith('agent_') && printer.relayLog(entry),
    });
    const { url, port, address } = await relay.listen();
    const host = v.host as string | undefined;
    const everywhere = host === undefined || ['0.0.0.0', '::', ''].includes(host);
    const lan = everywhere ? lanAddress() : host;
    const linkBase = (v['public-url'] as string | undefined) ?? `http://${lan?.includes(':') ? `[${lan}]` : (lan ?? '127.0.0.1')}:${port}`;
    // It serves plain HTTP to whoever can reach these addresses: people should know which they are.
    printer.event({ event: 'listening', url, publicUrl: linkBase, host: address, addresses: listeningAddresses(address) });
    printer.notice(describeListening(address));
    if (!lan) printer.notice('no local network address found; the link works on this computer only');
    try {
      return await runAgent({ ...agentOptions, configDir, relayUrl: url, linkBase, registrationToken }, printer, v['no-qr'] !== true, stop);
    } finally {
      await relay.close();
    }
  });
}
