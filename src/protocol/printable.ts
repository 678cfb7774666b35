// Text from elsewhere (a relay's names, reasons and error messages; a program's last lines) made safe to
// print on a terminal: escape sequences and control characters would otherwise move the cursor, rewrite
// what was printed, change the title, or read and fill the clipboard (OSC 52).

/** CSI (also as the C1 character), OSC, DCS/SOS/PM/APC strings, and two-character escapes. */
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~])|\x9b[0-?]*[ -/]*[@-~]/g;
/** Line breaks and tabs, which become one space. */
const BREAKS = /[\t\n\v\f\r]+/g;
/** C0 and C1 controls, DEL, and the Unicode controls that reorder text (which can make it read as something else). */
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` without escape sequences: what is left of them, such as a lone ESC, is a control `printable` removes. */
export function stripEscapes(text: string): string {
  return text.replace(ESCAPES, '');
}

/**
 * `text` as one line that is safe to print: escape sequences and control characters removed, line
 * breaks and tabs as a space; every printable character, in any script, kept.
 */
export function printable(text: string): string {
  return stripEscapes(text).replace(BREAKS, ' ').replace(CONTROLS, '');
}
