// The relay's connection to the Redis its relay group shares (`--redis`): one connection for commands and
// one for subscriptions, with the state people and load balancers see (`/health`) and every change of it
// logged. Commands fail at once while Redis is unreachable (nothing is queued to run later), and the
// connections come back by themselves; subscriptions are made again when they do.

import { Redis } from 'ioredis';

/** Where the connection to Redis stands. */
export type RedisState = { kind: 'connecting' } | { kind: 'ready' } | { kind: 'down'; reason: string; since: number };

export class RedisLink {
  readonly commands: Redis;
  private readonly subscriber: Redis;
  private current: RedisState = { kind: 'connecting' };
  private readonly handlers = new Map<string, (message: string) => void>();
  private closed = false;
  /** Called once the subscriptions are made again after the subscriber's connection came back: what was published meanwhile was missed. */
  onResubscribed: (() => void) | undefined;

  constructor(
    url: string,
    private readonly log: (event: string, fields?: Record<string, unknown>) => void,
  ) {
    const options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      connectTimeout: 5000,
      retryStrategy: (attempt: number) => Math.min(200 * attempt, 2000),
    };
    this.commands = new Redis(url, { ...options, connectionName: 'ccremote-relay' });
    this.subscriber = new Redis(url, { ...options, connectionName: 'ccremote-relay-sub' });
    this.commands.on('ready', () => this.become({ kind: 'ready' }));
    this.commands.on('error', (error: Error) => this.become({ kind: 'down', reason: error.message, since: Date.now() }));
    this.commands.on('end', () => !this.closed && this.become({ kind: 'down', reason: 'connection closed', since: Date.now() }));
    this.subscriber.on('error', () => undefined); // its state is the command connection's to report
    // Subscriptions asked for while it was away are made once it is back.
    this.subscriber.on('ready', () => {
      if (this.handlers.size > 0) {
        void this.subscriber
          .subscribe(...this.handlers.keys())
          .catch(() => undefined)
          .then(() => this.onResubscribed?.());
      }
    });
    this.subscriber.on('message', (channel: string, message: string) => this.handlers.get(channel)?.(message));
  }

  get state(): RedisState {
    return this.current;
  }

  get ready(): boolean {
    return this.current.kind === 'ready';
  }

  /** Resolves once connected, or rejects after `timeoutMs` with why not. */
  async whenReady(timeoutMs: number): Promise<void> {
    if (this.ready) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.commands.off('ready', done);
        reject(new Error(`Redis is not reachable${this.current.kind === 'down' ? `: ${this.current.reason}` : ''}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.commands.once('ready', done);
    });
  }

  /** Calls `handler` with each message published on `channel` until unsubscribed. */
  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    this.handlers.set(channel, handler);
    await this.subscriber.subscribe(channel).catch(() => undefined); // made again on reconnect (ioredis resubscribes)
  }

  async unsubscribe(channel: string): Promise<void> {
    this.handlers.delete(channel);
    await this.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private become(state: RedisState): void {
    const before = this.current;
    if (before.kind === state.kind) return;
    this.current = state;
    if (state.kind === 'ready') this.log('redis_ready', before.kind === 'down' ? { down_ms: Date.now() - before.since } : {});
    else if (state.kind === 'down') this.log('redis_down', { reason: state.reason });
  }
}
