// Terminal output as plain lines of text, for when no screen mirror can say what the screen shows: escape
// sequences and control characters (C0 and C1) are dropped, and a line keeps what follows its last
// carriage return.

/** CSI (also as the C1 character), OSC, DCS/SOS/PM/APC strings, and two-character escapes. */
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~])|\x9b[0-?]*[ -/]*[@-~]/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * The last `max` lines of `bytes` that end with something other than blanks, as plain text. With `cut`,
 * `bytes` begin somewhere in the middle of the output (inside a line, a character or an escape sequence),
 * so everything before the first line break is left out.
 */
export function plainLines(bytes: Uint8Array, max: number, cut = false): string[] {
  let text = new TextDecoder().decode(bytes);
  if (cut) text = text.slice(text.indexOf('\n') + 1);
  const lines = text.replace(ESCAPES, '').split('\n').map((line) => {
    const parts = line.replace(/\r+$/, '').split('\r');
    return parts[parts.length - 1]!.replace(CONTROLS, '').trimEnd();
  });
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-max);
}
