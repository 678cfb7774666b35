// Terminal output as plain lines of text, for when no screen mirror can say what the screen shows: escape
// sequences and control characters (C0 and C1) are dropped, and a line keeps what follows its last
// carriage return.

import { printable, stripEscapes } from '../protocol/index.js';

/**
 * The last `max` lines of `bytes` that end with something other than blanks, as plain text. With `cut`,
 * `bytes` begin somewhere in the middle of the output (inside a line, a character or an escape sequence),
 * so everything before the first line break is left out.
 */
export function plainLines(bytes: Uint8Array, max: number, cut = false): string[] {
  let text = new TextDecoder().decode(bytes);
  if (cut) text = text.slice(text.indexOf('\n') + 1);
  // Escape sequences go first, over the whole text: a string sequence (OSC) may span lines.
  const lines = stripEscapes(text).split('\n').map((line) => {
    const parts = line.replace(/\r+$/, '').split('\r');
    return printable(parts[parts.length - 1]!).trimEnd();
  });
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-max);
}
