// `ccremote relay`: a relay server until SIGINT or SIGTERM.

import { readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_URL_MAX, directUrlOfReason, trimSlash } from '../protocol/index.js';
import { ProxyTrust } from '../relay/proxy-trust.js';
import { createRelay, type RelayOptions } from '../relay/relay.js';
import { UsageError, parseBytes, parseCount, parseDuration, parsePort, type Parsed } from './options.js';
import type { Printer } from './printer.js';
import { untilStopSignal } from './signals.js';
import { poolAdvice } from './v8-pool.js';

/** The relay's default data directory: $XDG_DATA_HOME/ccremote/relay or ~/.local/share/ccremote/relay. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'ccremote', 'relay');
}

/** `ccremote relay`. */
export async function relayCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const v = parsed.values;
  const cert = v['tls-cert'] as string | undefined;
  const key = v['tls-key'] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const trustProxy = (v['trust-proxy'] as string[] | undefined) ?? [];
  try {
    new ProxyTrust(trustProxy);
  } catch (error) {
    throw new UsageError(`--trust-proxy: ${(error as Error).message}`);
  }
  const redisUrl = (v.redis as string | undefined) ?? process.env.CCREMOTE_REDIS;
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl)) throw new UsageError(`--redis takes a redis:// or rediss:// URL (have ${redisUrl})`);
  const database = (v.database as string | undefined) ?? process.env.CCREMOTE_DATABASE;
  if (database !== undefined && !/^postgres(ql)?:\/\/./.test(database)) throw new UsageError(`--database takes a postgres:// URL (have ${database})`);
  const advertise = v['advertise-url'] as string | undefined;
  const metricsArg = v.metrics as string | undefined;
  const metricsMatch = metricsArg === undefined ? undefined : /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(metricsArg);
  if (metricsArg !== undefined && !metricsMatch) throw new UsageError(`--metrics takes HOST:PORT, e.g. 127.0.0.1:9100 (have ${metricsArg})`);
  const metricsAt = metricsMatch ? { host: metricsMatch[1]!.replace(/^\[|\]$/g, ''), port: parsePort(metricsMatch[2], 9100) } : undefined;
  if (advertise !== undefined && !/^https?:\/\/[^/]+\/?$/.test(advertise)) throw new UsageError(`--advertise-url takes http(s)://HOST:PORT (have ${advertise})`);
  const direct = v['direct-url'] as string | undefined;
  // The rule the clients apply to the close reason that carries it (directUrlOfReason), so that a relay never records one they would not follow.
  if (direct !== undefined && trimSlash(direct).length > DIRECT_URL_MAX) throw new UsageError(`--direct-url must fit a WebSocket close reason: at most ${DIRECT_URL_MAX} characters (have ${direct.length})`);
  if (direct !== undefined && directUrlOfReason(trimSlash(direct)) === undefined) throw new UsageError(`--direct-url takes http(s)://HOST[:PORT] (have ${direct})`);
  if (direct !== undefined && redisUrl === undefined) throw new UsageError('--direct-url is for a relay of a group: give --redis too');
  const pushServices = (v['push-service'] as string[] | undefined) ?? [];
  for (const prefix of pushServices) {
    if (!/^https?:\/\/[^/]+\//.test(prefix)) throw new UsageError(`--push-service takes a URL prefix with its host and a path, such as https://push.example.com/ (have ${prefix})`);
  }
  const options: RelayOptions = {
    port: parsePort(v.port as string | undefined, 8080),
    host: v.host as string | undefined,
    publicUrl: v['public-url'] as string | undefined,
    allowedOrigins: (v['allow-origin'] as string[] | undefined) ?? [],
    dataDir: v.memory === true ? undefined : ((v['data-dir'] as string | undefined) ?? defaultDataDir()),
    tls: cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined,
    registrationToken: (v['registration-token'] as string | undefined) ?? process.env.CCREMOTE_REGISTRATION_TOKEN,
    trustProxy,
    push: { services: pushServices },
    redis: (v.redis as string | undefined) ?? process.env.CCREMOTE_REDIS,
    advertiseUrl: v['advertise-url'] as string | undefined,
    ...(direct !== undefined ? { directUrl: direct } : {}),
    database: (v.database as string | undefined) ?? process.env.CCREMOTE_DATABASE,
    ...(metricsAt ? { metrics: metricsAt } : {}),
    groupTtlMs: v['group-ttl'] !== undefined ? parseDuration(v['group-ttl'] as string, 'group record TTL') : undefined,
    hub: {
      ...(v['flow-window'] !== undefined ? { flowWindow: parseBytes(v['flow-window'] as string, 'flow window') } : {}),
      ...(v['flow-window-max'] !== undefined ? { flowWindowMax: parseBytes(v['flow-window-max'] as string, 'largest flow window') } : {}),
    },
    connectionLimits: {
      total: parseCount(v['max-connections'] as string | undefined, '--max-connections'),
      perAddress: parseCount(v['max-connections-per-address'] as string | undefined, '--max-connections-per-address'),
    },
    log: (entry) => printer.relayLog(entry),
  };
  const relay = await createRelay(options);
  const { url } = await relay.listen();
  // Ready to stop before saying it listens: a SIGTERM sent as soon as someone reads that still closes it.
  return untilStopSignal(async (stop) => {
    printer.event({ event: 'listening', url, publicUrl: relay.publicUrl ?? url });
    printer.line(`ccremote relay listening on ${url}${relay.publicUrl ? ` (public URL ${relay.publicUrl})` : ''}`);
    const advice = poolAdvice(availableParallelism(), process.execArgv, process.env.NODE_OPTIONS);
    if (advice) {
      printer.event({ event: 'advice', message: advice });
      printer.notice(advice);
    }
    if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
    printer.notice('relay stopping');
    await relay.close();
    printer.event({ event: 'closed' });
    return 0;
  });
}
