// What this browser remembers, in its local storage (never on the relay): the terminal font size, and
// the agents this device has opened, each with the credential it connects with: the key it got when it
// paired with the agent, or (until it has paired) the link's secret. Storage may be missing, full or hold
// anything: reads validate and fall back, writes never throw.

import { isId, isSecret, type Credential } from '../protocol/index.js';

const FONT_KEY = 'ccremote.font-size';
const AGENTS_KEY = 'ccremote.agents.v2';
/** Written by earlier versions: links only, read once and carried over. */
const OLD_AGENTS_KEY = 'ccremote.agents.v1';

export const MIN_FONT = 9;
export const MAX_FONT = 24;

/** An agent this device opened. */
export interface RememberedAgent {
  agentId: string;
  /** The relay's base URL, as in the link. */
  relayUrl: string;
  /** What this device connects with: its paired device key, or a link's secret. */
  credential: Credential;
  /** The link needs a PIN to pair (the PIN itself is never stored). */
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

function parse(key: string): unknown[] {
  try {
    const value: unknown = JSON.parse(read(key) ?? '[]');
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/** The remembered agents, most recently opened first. */
export function rememberedAgents(): RememberedAgent[] {
  const current = parse(AGENTS_KEY).filter(isRemembered);
  const carried = parse(OLD_AGENTS_KEY).map(fromOldEntry).filter((a): a is RememberedAgent => a !== undefined);
  const known = new Set(current.map((a) => `${a.relayUrl} ${a.agentId}`));
  return [...current, ...carried.filter((a) => !known.has(`${a.relayUrl} ${a.agentId}`))].sort((a, b) => b.lastOpened - a.lastOpened);
}

/** The remembered agent `agentId` of the relay at `relayUrl`. */
export function findRemembered(relayUrl: string, agentId: string): RememberedAgent | undefined {
  return rememberedAgents().find((a) => a.agentId === agentId && a.relayUrl === relayUrl);
}

/** Remembers (or updates) an agent; false if the browser would not store it. */
export function rememberAgent(agent: RememberedAgent): boolean {
  const others = rememberedAgents().filter((a) => !(a.agentId === agent.agentId && a.relayUrl === agent.relayUrl));
  const saved = write(AGENTS_KEY, JSON.stringify([agent, ...others]));
  if (saved) write(OLD_AGENTS_KEY, '[]');
  return saved;
}

/** Forgets an agent, and with it the credential this device had for it. */
export function forgetAgent(relayUrl: string, agentId: string): void {
  write(AGENTS_KEY, JSON.stringify(rememberedAgents().filter((a) => !(a.agentId === agentId && a.relayUrl === relayUrl))));
  write(OLD_AGENTS_KEY, '[]');
}

function isCredential(value: unknown): value is Credential {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  if (typeof c.secret !== 'string' || !isSecret(c.secret) || typeof c.readOnly !== 'boolean') return false;
  return c.kind === 'link' || (c.kind === 'device' && typeof c.id === 'string' && isId(c.id));
}

function isRemembered(value: unknown): value is RememberedAgent {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  return (
    typeof a.agentId === 'string' &&
    isId(a.agentId) &&
    typeof a.relayUrl === 'string' &&
    /^https?:\/\//.test(a.relayUrl) &&
    isCredential(a.credential) &&
    typeof a.pin === 'boolean' &&
    (a.name === undefined || typeof a.name === 'string') &&
    typeof a.lastOpened === 'number'
  );
}

/** An entry an earlier version wrote: a link's secret. */
function fromOldEntry(value: unknown): RememberedAgent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const a = value as Record<string, unknown>;
  const credential = { kind: 'link', secret: a.secret, readOnly: a.readOnly };
  const entry = { agentId: a.agentId, relayUrl: a.relayUrl, credential, pin: a.pin, name: a.name, lastOpened: a.lastOpened };
  return isRemembered(entry) ? entry : undefined;
}

/** The session this device showed last of an agent (to show it again after a reload), if any. */
export function loadWatched(relayUrl: string, agentId: string): number | undefined {
  const value = Number(read(watchedKey(relayUrl, agentId)));
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export function saveWatched(relayUrl: string, agentId: string, terminal: number): void {
  write(watchedKey(relayUrl, agentId), String(terminal));
}

function watchedKey(relayUrl: string, agentId: string): string {
  return `ccremote.watched.${relayUrl} ${agentId}`;
}
