// A group of relays sharing one Redis (`ccremote relay --redis URL`): any relay serves any browser. Each
// agent is owned by the relay it is connected to, recorded in Redis with an expiry that relay keeps
// renewing, beside each relay's own record (its id and the address other relays reach it at). A relay
// that gets a browser for an agent another relay owns forwards the browser's connection to the owner
// (relay-proxy.ts): terminal bytes never go through Redis. Pub/sub carries one event per agent, that it
// came online at some relay; a relay listens only for the agents it has connections of, and moves them
// (the agent's old connection is replaced, browsers waiting here reconnect and are forwarded). Relays
// authenticate each other with a secret kept in the same Redis. A relay browsers can reach at an address
// of its own (`--direct-url`) records it too: other relays then send its agents' browsers there instead of
// forwarding them, and accept pages served by it.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomId } from '../protocol/index.js';
import type { RedisLink } from './redis-link.js';

/** How long an owner or relay record lives without renewal by default, in ms (it is renewed three times as often). */
export const DEFAULT_RECORD_TTL_MS = 15_000;
/** A relay's signature on a forwarded connection is good for this long, in ms (clocks of one group agree). */
const AUTH_WINDOW_MS = 60_000;
/** How long a relay that closes waits for Redis to remove its records, in ms. */
const CLOSE_WAIT_MS = 2000;

const PREFIX = 'ccremote:';
const ownerKey = (agentId: string): string => `${PREFIX}owner:${agentId}`;
const relayKey = (relayId: string): string => `${PREFIX}relay:${relayId}`;
const eventsChannel = (agentId: string): string => `${PREFIX}events:${agentId}`;
/**
 * Where browsers reach the relays that they can reach directly: one hash for the group (read whole, a field
 * per such relay), each field `UNTIL URL`, expired past UNTIL (ms since the epoch) and then removed by
 * whichever relay reads it. Apart from relayKey, which relays of older versions read.
 */
const DIRECT = `${PREFIX}direct`;

/** The URL of a DIRECT field, if it has not expired. */
function liveDirect(field: string | null | undefined, now: number): string | undefined {
  if (!field) return undefined;
  const space = field.indexOf(' ');
  return Number(field.slice(0, space)) > now ? field.slice(space + 1) : undefined;
}

/** Deletes a key only while it holds the value given (a relay releases only what it still owns). */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/** Renews a key only while it holds the value given; 0 when another relay took it. */
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/** A relay of the group, as others reach it. */
export interface GroupMember {
  id: string;
  url: string;
  /** Where browsers reach it directly (`--direct-url`), if they can. */
  direct?: string;
}

/** What the group tells the relay. */
export interface GroupEvents {
  /** `agentId` came online at another relay: what this relay holds of it must move there. */
  moved(agentId: string, to: string): void;
  /** This relay no longer owns `agentId` (another took it while Redis was away). */
  lost(agentId: string): void;
  /** This relay recorded again that it serves `agentId` (Redis had lost the record: it restarted empty). */
  reclaimed(agentId: string): void;
}

export class RelayGroup {
  /** This relay, in the group. */
  readonly id = randomId();
  private secret: Buffer | undefined;
  private readonly owned = new Set<string>();
  /** Agents this relay took while Redis could not be reached: recorded (and announced) at the next renewal. */
  private readonly unrecorded = new Set<string>();
  /** Agents this relay has connections of, and how many. */
  private readonly following = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Where other relays reach this one, e.g. http://10.0.0.5:8080 (known once it listens). */
  url = '';
  /** Where browsers reach this one directly (`--direct-url`), if they can. */
  direct: string | undefined;
  /** The origins of the group's relays that browsers reach directly, as of the last renewal. */
  private directOriginSet: ReadonlySet<string> = new Set();
  /** The read of the direct origins under way, which every request for one joins. */
  private directOriginsRead: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisLink,
    private readonly events: GroupEvents,
    private readonly log: (event: string, fields?: Record<string, unknown>) => void,
    /** How long this relay's records outlive it (`--group-ttl`), in ms. */
    readonly ttlMs = DEFAULT_RECORD_TTL_MS,
  ) {
    redis.onResubscribed = () => this.recheckAll();
  }

  /** Joins, reachable at `url`: the group's secret (made by the first relay), this relay's record, and its renewal. */
  async start(url: string, direct?: string): Promise<void> {
    this.url = url;
    this.direct = direct;
    const commands = this.redis.commands;
    await commands.set(`${PREFIX}group-secret`, randomBytes(32).toString('base64url'), 'NX');
    const secret = await commands.get(`${PREFIX}group-secret`);
    if (!secret) throw new Error('the relay group has no secret in Redis');
    this.secret = Buffer.from(secret, 'base64url');
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.ttlMs / 3);
    this.timer.unref();
  }

  get redisReady(): boolean {
    return this.redis.ready;
  }

  /** This relay now serves `agentId`: recorded, and every relay following it hears so. */
  async claim(agentId: string): Promise<void> {
    this.owned.add(agentId);
    this.unrecorded.add(agentId);
    await this.redis.commands.set(ownerKey(agentId), this.id, 'PX', this.ttlMs);
    await this.redis.commands.publish(eventsChannel(agentId), JSON.stringify({ type: 'online', relay: this.id }));
    this.unrecorded.delete(agentId);
  }

  /** This relay no longer serves `agentId` (its connection ended): the record goes, unless another relay took it. */
  async release(agentId: string): Promise<void> {
    this.owned.delete(agentId);
    this.unrecorded.delete(agentId);
    await this.redis.commands.eval(RELEASE, 1, ownerKey(agentId), this.id).catch(() => undefined);
  }

  /** The relay that serves `agentId` now, if one does. Throws while Redis is unreachable. */
  async ownerOf(agentId: string): Promise<GroupMember | undefined> {
    const relay = await this.redis.commands.get(ownerKey(agentId));
    if (!relay) return undefined;
    if (relay === this.id) return { id: this.id, url: this.url, ...(this.direct ? { direct: this.direct } : {}) };
    const [url, field] = await Promise.all([this.redis.commands.get(relayKey(relay)), this.redis.commands.hget(DIRECT, relay)]);
    const direct = liveDirect(field, Date.now());
    return url ? { id: relay, url, ...(direct ? { direct } : {}) } : undefined;
  }

  /**
   * The origins (scheme://host[:port]) of the group's relays that browsers reach directly, as of the last
   * renewal: a page one of them served may connect here, and a page served here may connect there.
   */
  get directOrigins(): ReadonlySet<string> {
    return this.directOriginSet;
  }

  /**
   * Reads the direct origins again now (a page of a relay that joined since the last renewal is not
   * refused for the seconds until the next); requests while a read is under way wait for that one.
   */
  refreshDirectOrigins(): Promise<void> {
    this.directOriginsRead ??= this.readDirectOrigins()
      .then((origins) => void (this.directOriginSet = origins), () => undefined)
      .finally(() => (this.directOriginsRead = undefined));
    return this.directOriginsRead;
  }

  /** This relay has (one more) connection of `agentId`: it hears when the agent comes online elsewhere. */
  follow(agentId: string): void {
    const count = this.following.get(agentId) ?? 0;
    this.following.set(agentId, count + 1);
    if (count > 0) return;
    void this.redis.subscribe(eventsChannel(agentId), (text) => this.event(agentId, text)).then(() => this.recheck(agentId));
  }

  /**
   * Whether `agentId` came online at another relay before this one listened for it (or while it was
   * admitting a browser for it): then what this relay holds of it moves there.
   */
  async recheck(agentId: string): Promise<void> {
    // An agent connected here is this relay's, whatever an older record says (its relay may be dead).
    if (this.owned.has(agentId)) return;
    const owner = await this.ownerOf(agentId).catch(() => undefined);
    if (owner && owner.id !== this.id && this.following.has(agentId) && !this.owned.has(agentId)) this.events.moved(agentId, owner.id);
  }

  /** After the subscriber's connection came back: where each agent followed here is now (its events meanwhile were missed). */
  private recheckAll(): void {
    if (!this.redis.ready) return void this.redis.commands.once('ready', () => this.recheckAll());
    for (const agentId of [...this.following.keys()]) void this.recheck(agentId);
  }

  /** One connection of `agentId` fewer. */
  unfollow(agentId: string): void {
    const count = (this.following.get(agentId) ?? 0) - 1;
    if (count > 0) return void this.following.set(agentId, count);
    this.following.delete(agentId);
    void this.redis.unsubscribe(eventsChannel(agentId));
  }

  /** Headers that authenticate a connection this relay forwards to another (with the browser's address). */
  forwardHeaders(clientAddress: string, secure: boolean): Record<string, string> {
    const at = String(Date.now());
    return { 'x-ccremote-relay': `${this.id} ${at} ${this.sign(`${this.id} ${at} ${clientAddress} ${secure}`)}`, 'x-ccremote-client': clientAddress, 'x-ccremote-secure': String(secure) };
  }

  /** The browser's address and scheme if `headers` come from a relay of the group, else undefined. */
  forwarded(headers: Record<string, string | string[] | undefined>): { address: string; secure: boolean } | undefined {
    const auth = headers['x-ccremote-relay'];
    const address = headers['x-ccremote-client'];
    const secure = headers['x-ccremote-secure'];
    if (typeof auth !== 'string' || typeof address !== 'string' || typeof secure !== 'string' || !this.secret) return undefined;
    const [relay, at, signature] = auth.split(' ');
    if (!relay || !at || !signature || Math.abs(Date.now() - Number(at)) > AUTH_WINDOW_MS) return undefined;
    const expected = Buffer.from(this.sign(`${relay} ${at} ${address} ${secure}`));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? { address, secure: secure === 'true' } : undefined;
  }

  /** Leaves: stops renewing, and removes this relay's records (its agents' too). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const commands = this.redis.commands;
    const removed = (async () => {
      await Promise.all([...this.owned].map((agentId) => commands.eval(RELEASE, 1, ownerKey(agentId), this.id).catch(() => undefined)));
      await commands.del(relayKey(this.id)).catch(() => undefined);
      if (this.direct) await commands.hdel(DIRECT, this.id).catch(() => undefined);
    })();
    // A Redis that does not answer (commands wait for it without end) does not hold the relay up: the
    // records it keeps expire by themselves.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([removed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    this.owned.clear();
    this.unrecorded.clear();
  }

  /** The origins of the direct addresses of the group's relays recorded now; expired ones are removed. */
  private async readDirectOrigins(): Promise<ReadonlySet<string>> {
    const fields = await this.redis.commands.hgetall(DIRECT);
    const now = Date.now();
    const origins = new Set<string>();
    const expired: string[] = [];
    for (const [relay, field] of Object.entries(fields)) {
      const url = liveDirect(field, now);
      if (url === undefined) expired.push(relay);
      else if (URL.canParse(url)) origins.add(new URL(url).origin);
    }
    if (expired.length > 0) await this.redis.commands.hdel(DIRECT, ...expired);
    return origins;
  }

  private sign(text: string): string {
    return createHmac('sha256', this.secret!).update(text).digest('base64url');
  }

  private event(agentId: string, text: string): void {
    let event: { type?: unknown; relay?: unknown };
    try {
      event = JSON.parse(text) as typeof event;
    } catch {
      return;
    }
    if (event.type !== 'online' || typeof event.relay !== 'string' || event.relay === this.id) return;
    this.owned.delete(agentId);
    this.unrecorded.delete(agentId);
    this.events.moved(agentId, event.relay);
  }

  /** Renews this relay's record and its agents'; an agent another relay took is lost. */
  private async renew(): Promise<void> {
    const commands = this.redis.commands;
    try {
      // A Redis that restarted empty gets the group's secret back from the relays that hold it.
      if (this.secret) await commands.set(`${PREFIX}group-secret`, this.secret.toString('base64url'), 'NX');
      await commands.set(relayKey(this.id), this.url, 'PX', this.ttlMs);
      if (this.direct) await commands.hset(DIRECT, this.id, `${Date.now() + this.ttlMs} ${this.direct}`);
      for (const agentId of [...this.owned]) {
        // Its latest connection is here, made while Redis was away: whatever relay the record still names
        // held an older one, which moves here now.
        if (this.unrecorded.has(agentId)) {
          await this.claim(agentId);
          continue;
        }
        const kept = await commands.eval(RENEW, 1, ownerKey(agentId), this.id, String(this.ttlMs));
        if (kept === 0 && this.owned.delete(agentId)) {
          // Its record expired while Redis was away, or another relay has it now.
          const owner = await commands.get(ownerKey(agentId));
          if (owner === null) {
            await this.claim(agentId);
            this.events.reclaimed(agentId);
          } else {
            this.events.lost(agentId);
          }
        }
      }
      this.directOriginSet = await this.readDirectOrigins();
    } catch (error) {
      this.log('group_renewal_failed', { message: (error as Error).message });
    }
  }
}
