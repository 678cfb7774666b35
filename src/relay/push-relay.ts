// Web Push through the relay (RFC 8030, VAPID RFC 8292). The relay holds one VAPID key pair, so that every
// agent behind it reaches the subscriptions browsers made with its public key. It is no open proxy: it
// sends only to push services on an allow-list (the major browsers', plus `--push-service` prefixes), only
// for an agent connected and authenticated, only to subscriptions that agent registered, at a bounded
// rate per agent. What it sends is ciphertext the agent made for the subscribing device (RFC 8291): the
// relay adds the VAPID signature and never sees the content.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import webpush from 'web-push';
import { writeFileAtomic } from '../fs/write-atomic.js';
import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';

/** Hosts of the major browsers' push services (exactly these, over https), and the domains whose hosts are all push services. */
export const PUSH_HOSTS: readonly string[] = ['fcm.googleapis.com', 'updates.push.services.mozilla.com', 'web.push.apple.com'];
export const PUSH_DOMAINS: readonly string[] = ['.notify.windows.com', '.push.apple.com'];

/** A relay's VAPID key pair (base64url, as web-push writes them). */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** Settings of a PushRelay. */
export interface PushRelayOptions {
  keys: VapidKeys;
  /** The VAPID subject: a mailto: or https: URL the push services may contact (default: the relay's URL). */
  subject: string;
  /** Endpoint prefixes allowed besides the major browsers' services (a self-hosted or test push service). */
  extraServices?: readonly string[];
  /** Pushes one agent may send: burst and per minute (default 20 and 60). */
  rate?: RateLimitOptions;
  /** Subscriptions one agent may register (default 64). */
  maxPerAgent?: number;
  /** Sends the request (tests may watch it); default: fetch. */
  fetch?: typeof fetch;
}

/** Why a push was not sent, for the agent. */
export class PushRefused extends Error {
  override name = 'PushRefused';
}

/** The keys of `dataDir/vapid.json`, made and saved there on first use; without a directory, new keys. */
export async function loadVapidKeys(dataDir: string | undefined): Promise<VapidKeys> {
  if (dataDir === undefined) return webpush.generateVAPIDKeys();
  const file = join(dataDir, 'vapid.json');
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<VapidKeys>;
    if (typeof value.publicKey === 'string' && typeof value.privateKey === 'string') return { publicKey: value.publicKey, privateKey: value.privateKey };
    throw new Error(`${file} holds no VAPID keys`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const keys = webpush.generateVAPIDKeys();
  await writeFileAtomic(file, JSON.stringify(keys));
  return keys;
}

/** The VAPID key pair of a relay group: made by the first relay, kept in the group's Redis, the same at every relay. */
export async function sharedVapidKeys(redis: { commands: { set(key: string, value: string, nx: 'NX'): Promise<unknown>; get(key: string): Promise<string | null> } }): Promise<VapidKeys> {
  await redis.commands.set('ccremote:vapid', JSON.stringify(webpush.generateVAPIDKeys()), 'NX');
  const value = JSON.parse((await redis.commands.get('ccremote:vapid')) ?? '{}') as Partial<VapidKeys>;
  if (typeof value.publicKey !== 'string' || typeof value.privateKey !== 'string') throw new Error('the relay group\'s Redis holds no VAPID keys');
  return { publicKey: value.publicKey, privateKey: value.privateKey };
}

export class PushRelay {
  /** Agent id → subscription id → endpoint. */
  private readonly subscriptions = new Map<string, Map<string, string>>();
  private readonly rate: RateLimiter;
  constructor(private readonly options: PushRelayOptions) {
    this.rate = new RateLimiter(options.rate ?? { burst: 20, perMinute: 60 });
  }

  get publicKey(): string {
    return this.options.keys.publicKey;
  }

  /** Whether an endpoint is one the relay sends to. */
  allows(endpoint: string): boolean {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return false;
    }
    if (url.username || url.password) return false;
    if (url.protocol === 'https:' && url.port === '' && (PUSH_HOSTS.includes(url.hostname) || PUSH_DOMAINS.some((domain) => url.hostname.endsWith(domain)))) return true;
    return (this.options.extraServices ?? []).some((prefix) => endpoint.startsWith(prefix));
  }

  /** An agent registers a device's subscription (PushRefused if its endpoint is not allowed, or it has too many). */
  register(agentId: string, subscription: string, endpoint: string): void {
    if (!this.allows(endpoint)) throw new PushRefused(`the relay does not send to ${new URL(endpoint).origin} (not a browser's push service, nor one given with --push-service)`);
    const mine = this.subscriptions.get(agentId) ?? new Map<string, string>();
    if (!mine.has(subscription) && mine.size >= (this.options.maxPerAgent ?? 64)) throw new PushRefused(`an agent may register at most ${this.options.maxPerAgent ?? 64} subscriptions`);
    mine.set(subscription, endpoint);
    this.subscriptions.set(agentId, mine);
  }

  unregister(agentId: string, subscription: string): void {
    this.subscriptions.get(agentId)?.delete(subscription);
  }

  /** The agent went away for good: its registrations go. */
  forget(agentId: string): void {
    this.subscriptions.delete(agentId);
  }

  /**
   * Sends `body` (ciphertext in the aes128gcm content coding, made by the agent) to a subscription the agent
   * registered. Resolves with the push service's HTTP status; PushRefused for what the relay does not do.
   */
  async send(agentId: string, subscription: string, body: Uint8Array, headers: { ttl: number; urgency: 'very-low' | 'low' | 'normal' | 'high'; topic?: string }): Promise<number> {
    const endpoint = this.subscriptions.get(agentId)?.get(subscription);
    if (endpoint === undefined) throw new PushRefused('no such subscription registered by this agent');
    if (!this.rate.take(agentId)) throw new PushRefused('too many pushes from this agent; some are dropped');
    const audience = new URL(endpoint).origin;
    const vapid = webpush.getVapidHeaders(audience, this.options.subject, this.options.keys.publicKey, this.options.keys.privateKey, 'aes128gcm');
    const response = await (this.options.fetch ?? fetch)(endpoint, {
      method: 'POST',
      headers: {
        ...(vapid as Record<string, string>),
        'content-encoding': 'aes128gcm',
        'content-type': 'application/octet-stream',
        ttl: String(headers.ttl),
        urgency: headers.urgency,
        ...(headers.topic ? { topic: headers.topic } : {}),
      },
      body: new Blob([Uint8Array.from(body)]),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    // A subscription the push service no longer knows is forgotten here too.
    if (response.status === 404 || response.status === 410) this.unregister(agentId, subscription);
    await response.arrayBuffer().catch(() => undefined);
    return response.status;
  }
}
