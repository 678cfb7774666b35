// What each virtual key sends: the bytes a real keyboard's key produces in xterm, including the
// cursor-key form the program asked for (DECCKM) and the xterm encoding of Ctrl, Alt and Shift
// combinations. Pure functions, no DOM: the key bar (key-bar.ts) draws buttons from these tables.

/** Modifiers held (sticky) when a key is sent. */
export interface Modifiers {
  ctrl: boolean;
  alt: boolean;
}

export const NO_MODIFIERS: Modifiers = { ctrl: false, alt: false };

/**
 * A key: `text` (a character, modified like a typed one), `cursor` (an arrow, Home or End: CSI or SS3
 * plus its final byte), `tilde` (PgUp/PgDn: CSI n ~), or `raw` (fixed bytes: Esc, Tab, Shift-Tab, Enter).
 */
export type KeySpec = { text: string } | { cursor: 'A' | 'B' | 'C' | 'D' | 'H' | 'F' } | { tilde: number } | { raw: string };

/** One button: its label, its accessible name (which begins with or contains the label, for voice control), and what it sends. */
export interface KeyDef {
  label: string;
  name: string;
  key: KeySpec;
}

/** A modifier button. */
export interface ModifierDef {
  label: string;
  name: string;
  modifier: keyof Modifiers;
}

/** The keys phones lack, in bar order; `ctrl`/`alt` entries are the sticky modifiers. */
export const KEYS: Array<KeyDef | ModifierDef> = [
  { label: 'Esc', name: 'Esc (Escape)', key: { raw: '\x1b' } },
  { label: 'Tab', name: 'Tab', key: { raw: '\t' } },
  { label: '⇧Tab', name: 'Shift Tab', key: { raw: '\x1b[Z' } },
  { label: 'Ctrl', name: 'Ctrl (applies to the next key)', modifier: 'ctrl' },
  { label: 'Alt', name: 'Alt (applies to the next key)', modifier: 'alt' },
  { label: '↑', name: 'Up arrow', key: { cursor: 'A' } },
  { label: '↓', name: 'Down arrow', key: { cursor: 'B' } },
  { label: '←', name: 'Left arrow', key: { cursor: 'D' } },
  { label: '→', name: 'Right arrow', key: { cursor: 'C' } },
  { label: '^C', name: 'Control C', key: { raw: '\x03' } },
  { label: 'Home', name: 'Home', key: { cursor: 'H' } },
  { label: 'End', name: 'End', key: { cursor: 'F' } },
  { label: 'PgUp', name: 'PgUp (page up)', key: { tilde: 5 } },
  { label: 'PgDn', name: 'PgDn (page down)', key: { tilde: 6 } },
  { label: '|', name: 'Vertical bar', key: { text: '|' } },
  { label: '~', name: 'Tilde', key: { text: '~' } },
  { label: '/', name: 'Slash', key: { text: '/' } },
  { label: '-', name: 'Hyphen', key: { text: '-' } },
  { label: '`', name: 'Backtick', key: { text: '`' } },
  { label: '\\', name: 'Backslash', key: { text: '\\' } },
  { label: '^D', name: 'Control D', key: { raw: '\x04' } },
];

/** Claude Code's everyday actions, each the key Claude Code binds to it. */
export const CLAUDE_ACTIONS: KeyDef[] = [
  { label: 'Stop', name: 'Stop: interrupt Claude (Escape)', key: { raw: '\x1b' } },
  { label: 'Mode', name: 'Mode: cycle modes (Shift Tab)', key: { raw: '\x1b[Z' } },
  { label: '1', name: 'Choose 1', key: { text: '1' } },
  { label: '2', name: 'Choose 2', key: { text: '2' } },
  { label: '3', name: 'Choose 3', key: { text: '3' } },
  { label: '/', name: '/ slash command', key: { text: '/' } },
  { label: 'Enter', name: 'Enter: accept', key: { raw: '\r' } },
];

export function isModifier(def: KeyDef | ModifierDef): def is ModifierDef {
  return 'modifier' in def;
}

/** The bytes `key` sends with `mods` held; `application` is whether the program enabled application cursor keys. */
export function encodeKey(key: KeySpec, mods: Modifiers, application: boolean): string {
  if ('raw' in key) return mods.alt ? `\x1b${key.raw}` : key.raw;
  if ('text' in key) return withModifiers(key.text, mods);
  // xterm's modifier parameter: 1 + shift(1) + alt(2) + ctrl(4).
  const param = 1 + (mods.alt ? 2 : 0) + (mods.ctrl ? 4 : 0);
  if ('tilde' in key) return param === 1 ? `\x1b[${key.tilde}~` : `\x1b[${key.tilde};${param}~`;
  if (param !== 1) return `\x1b[1;${param}${key.cursor}`;
  return application ? `\x1bO${key.cursor}` : `\x1b[${key.cursor}`;
}

/**
 * Typed text with sticky modifiers applied, as a keyboard would send it: Ctrl turns an ASCII letter
 * (and @ [ \ ] ^ _ / space ?) into its control character, Alt prefixes Escape. Longer text (a paste,
 * a composed word) passes unchanged.
 */
export function withModifiers(text: string, mods: Modifiers): string {
  if (!mods.ctrl && !mods.alt) return text;
  if ([...text].length !== 1) return text;
  let out = text;
  if (mods.ctrl) out = control(text) ?? text;
  return mods.alt ? `\x1b${out}` : out;
}

function control(ch: string): string | undefined {
  if (ch === ' ' || ch === '@' || ch === '2') return '\x00';
  if (ch === '?' || ch === '8') return '\x7f';
  if (ch === '/') return '\x1f';
  if (/^[a-zA-Z[\\\]^_]$/.test(ch)) return String.fromCharCode(ch.toUpperCase().charCodeAt(0) & 0x1f);
  if (ch >= '3' && ch <= '7') return String.fromCharCode(ch.charCodeAt(0) - 0x33 + 0x1b); // ^3..^7 as xterm
  return undefined;
}
