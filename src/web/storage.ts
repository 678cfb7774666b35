// What this browser remembers, in its local storage (never on the relay): the terminal font size, and
// the agents this device has opened ("paired"), with the secrets of their links. Storage may be
// missing, full or hold anything: reads validate and fall back, writes never throw.

import { isId, isSecret } from '../protocol/index.js';

const FONT_KEY = 'ccremote.font-size';
const AGENTS_KEY = 'ccremote.agents.v1';

export const MIN_FONT = 9;
export const MAX_FONT = 24;

/** An agent this device opened. */
export interface PairedAgent {
  agentId: string;
  /** The relay's base URL, as in the link. */
  relayUrl: string;
  /** The link's secret (the view secret for a read-only link). */
  secret: string;
  readOnly: boolean;
  /** The link needs a PIN too (the PIN itself is never stored). */
  pin: boolean;
  name?: string;
  /** When it was last opened on this device, in ms since the epoch. */
  lastOpened: number;
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string): boolean {
  try {
    localStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

/** The remembered font size, or `fallback`. */
export function loadFontSize(fallback: number): number {
  const value = Number(read(FONT_KEY));
  return Number.isInteger(value) && value >= MIN_FONT && value <= MAX_FONT ? value : fallback;
}

export function saveFontSize(size: number): void {
  write(FONT_KEY, String(size));
}

/** The remembered agents, most recently opened first. */
export function pairedAgents(): PairedAgent[] {
  let value: unknown;
  try {
    value = JSON.parse(read(AGENTS_KEY) ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.filter(isPairedAgent).sort((a, b) => b.lastOpened - a.lastOpened);
}

/** The remembered agent `agentId` of the relay at `relayUrl`. */
export function findPaired(relayUrl: string, agentId: string): PairedAgent | undefined {
  return pairedAgents().find((a) => a.agentId === agentId && a.relayUrl === relayUrl);
}

/** Remembers (or updates) an agent; false if the browser would not store it. */
export function rememberAgent(agent: PairedAgent): boolean {
  const others = pairedAgents().filter((a) => !(a.agentId === agent.agentId && a.relayUrl === agent.relayUrl));
  return write(AGENTS_KEY, JSON.stringify([agent, ...others]));
}

/** Forgets an agent, and with it the secret of its link. */
export function forgetAgent(relayUrl: string, agentId: string): void {
  write(AGENTS_KEY, JSON.stringify(pairedAgents().filter((a) => !(a.agentId === agentId && a.relayUrl === relayUrl))));
}

function isPairedAgent(value: unknown): value is PairedAgent {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  return (
    typeof a.agentId === 'string' &&
    isId(a.agentId) &&
    typeof a.relayUrl === 'string' &&
    /^https?:\/\//.test(a.relayUrl) &&
    typeof a.secret === 'string' &&
    isSecret(a.secret) &&
    typeof a.readOnly === 'boolean' &&
    typeof a.pin === 'boolean' &&
    (a.name === undefined || typeof a.name === 'string') &&
    typeof a.lastOpened === 'number'
  );
}
