// How many WebSocket connections the relay holds open at once: in all, and per address (as addressKey
// counts them: IPv6 per /64). A connection counts from its upgrade until its socket closes, whether it
// ever authenticates or not, so nobody can hold more than their share however they behave.

import { addressKey } from './address.js';

/** Caps of a ConnectionCap. */
export interface ConnectionLimits {
  /** Open connections in all (default 10,000). */
  total: number;
  /** Open connections from one address (default 64). */
  perAddress: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { total: 10_000, perAddress: 64 };

/** Why a connection was not admitted. */
export type Refusal = 'relay_full' | 'address_full';

/** Counts open connections and admits new ones within the caps. */
export class ConnectionCap {
  private readonly limits: ConnectionLimits;
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(limits: Partial<ConnectionLimits> = {}) {
    this.limits = { total: limits.total ?? DEFAULT_CONNECTION_LIMITS.total, perAddress: limits.perAddress ?? DEFAULT_CONNECTION_LIMITS.perAddress };
  }

  /** Open connections now. */
  get open(): number {
    return this.total;
  }

  /** Counts a new connection from `address` and returns the function that releases it (call once, when it closes); or why not. */
  admit(address: string): { release: () => void } | { refused: Refusal } {
    const key = addressKey(address);
    const mine = this.byAddress.get(key) ?? 0;
    if (this.total >= this.limits.total) return { refused: 'relay_full' };
    if (mine >= this.limits.perAddress) return { refused: 'address_full' };
    this.total++;
    this.byAddress.set(key, mine + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.byAddress.get(key) ?? 1) - 1;
        if (left > 0) this.byAddress.set(key, left);
        else this.byAddress.delete(key);
      },
    };
  }
}
