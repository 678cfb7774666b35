// Terminal output as plain lines of text, for when no screen mirror can say what the screen shows: escape
// sequences and control characters are dropped, and a line keeps what follows its last carriage return.

/** CSI, OSC, DCS/SOS/PM/APC strings, and two-character escapes. */
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~])/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** The last `max` lines of `bytes` that end with something other than blanks, as plain text. */
export function plainLines(bytes: Uint8Array, max: number): string[] {
  const text = new TextDecoder().decode(bytes).replace(ESCAPES, '');
  const lines = text.split('\n').map((line) => {
    const parts = line.replace(/\r+$/, '').split('\r');
    return parts[parts.length - 1]!.replace(CONTROLS, '').trimEnd();
  });
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-max);
}
