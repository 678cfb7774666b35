// How the page tells that a program has read a paste: it shows it. A terminal has no "read" signal, and
// output alone proves nothing (a program busy starting up draws its screen, then reads its input a while
// later), while programs such as Claude Code take an Enter read together with a paste as part of it. So
// the composer's Enter waits until the screen shows the end of the paste: its last line's last
// characters, or Claude Code's placeholder for a long paste. Both are compared without white space,
// since programs wrap and indent what they show.

/** Characters of the paste's last line looked for: enough to be its own, few enough to fit a narrow screen. */
const MARK_LENGTH = 16;

/** What Claude Code shows instead of a long paste ("[Pasted text #2 +40 lines]"), without white space. */
const PLACEHOLDER = '[Pastedtext#';

/** White space, and the controls that never reach the screen (pasteBytes drops Escape and C1). */
const UNSHOWN = /[\s\x00-\x1f\x7f-\x9f]+/gu;

/** The marks of a paste of `text` on the screen; none if it shows nothing (only white space). */
export function echoMarks(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/).map((line) => line.replace(UNSHOWN, ''));
  const last = lines.filter((line) => line !== '').at(-1);
  // Counted in code points, so that an emoji is never cut in half.
  return last === undefined ? [] : [Array.from(last).slice(-MARK_LENGTH).join(''), PLACEHOLDER];
}

/** How many times the marks occur in `shown` (the screen's text, as `shownText` gives it). */
export function countMarks(shown: string, marks: readonly string[]): number {
  let count = 0;
  for (const mark of marks) {
    for (let at = shown.indexOf(mark); at !== -1; at = shown.indexOf(mark, at + mark.length)) count++;
  }
  return count;
}

/** The text of the screen's rows (not the scrollback), without white space. */
export function shownText(rows: Iterable<string>): string {
  let text = '';
  for (const row of rows) text += row;
  return text.replace(UNSHOWN, '');
}
