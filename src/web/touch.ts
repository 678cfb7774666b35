// Touch on the terminal: a swipe scrolls the scrollback (line by line, following the finger), a long
// press selects the word under the finger so it can be copied, and two fingers pinch the text size
// (instead of zooming the page). Full-screen programs (less, vim, htop: the alternate screen has no
// scrollback) get the arrow keys a mouse wheel would give them.

import type { Terminal } from '@xterm/xterm';
import { encodeKey, NO_MODIFIERS } from './keys.js';

const LONG_PRESS_MS = 450;
/** A finger that moves further than this (px) is swiping, not pressing. */
const SLOP = 8;

/** What the gestures act on besides the terminal. */
export interface TouchHost {
  /** Types into the program. */
  send(bytes: string): void;
  /** Sets (and remembers) the text size. */
  setFontSize(size: number): void;
}

/** Installs the gestures on `element`, the terminal's container. */
export function installTouch(element: HTMLElement, term: Terminal, host: TouchHost): void {
  let start: { x: number; y: number; lastY: number; carry: number } | undefined;
  let pinch: { distance: number; size: number } | undefined;
  let timer: number | undefined;
  let swiping = false;
  /** The press became a selection: the touch's end must not turn into a click that clears it. */
  let selected = false;

  const cancelPress = (): void => {
    window.clearTimeout(timer);
    timer = undefined;
  };

  element.addEventListener(
    'touchstart',
    (event) => {
      if (event.touches.length !== 1) {
        start = undefined;
        pinch = event.touches.length === 2 ? { distance: spread(event.touches), size: term.options.fontSize ?? 13 } : undefined;
        return cancelPress();
      }
      const touch = event.touches[0]!;
      start = { x: touch.clientX, y: touch.clientY, lastY: touch.clientY, carry: 0 };
      swiping = false;
      selected = false;
      cancelPress();
      timer = window.setTimeout(() => {
        timer = undefined;
        if (start) selected = selectWordAt(term, start.x, start.y);
      }, LONG_PRESS_MS);
    },
    { passive: true, capture: true },
  );

  element.addEventListener(
    'touchmove',
    (event) => {
      if (pinch && event.touches.length === 2) {
        event.preventDefault();
        event.stopPropagation();
        const size = Math.round((pinch.size * spread(event.touches)) / Math.max(1, pinch.distance));
        if (size !== term.options.fontSize) host.setFontSize(size);
        return;
      }
      if (!start || event.touches.length !== 1) return;
      const touch = event.touches[0]!;
      if (!swiping && Math.hypot(touch.clientX - start.x, touch.clientY - start.y) < SLOP) return;
      swiping = true;
      cancelPress();
      // The page must not scroll or bounce, and xterm must not see the swipe as a selection.
      event.preventDefault();
      event.stopPropagation();
      const height = cellHeight(term);
      start.carry += start.lastY - touch.clientY;
      start.lastY = touch.clientY;
      const lines = Math.trunc(start.carry / height);
      if (lines !== 0) {
        start.carry -= lines * height;
        scroll(term, lines, host.send);
      }
    },
    { passive: false, capture: true },
  );

  const end = (event: TouchEvent): void => {
    cancelPress();
    start = undefined;
    if (event.touches.length < 2) pinch = undefined;
    if (selected || swiping) {
      // No mouse events follow: a click would clear the selection or move the cursor.
      event.preventDefault();
      event.stopPropagation();
    }
    selected = false;
  };
  element.addEventListener('touchend', end, { passive: false, capture: true });
  element.addEventListener('touchcancel', end, { passive: false, capture: true });
}

/** Scrolls by `lines` (negative: back): the scrollback, or in the alternate screen the program, by arrow keys. */
function scroll(term: Terminal, lines: number, send: (bytes: string) => void): void {
  if (term.buffer.active.type === 'normal') return term.scrollLines(lines);
  if (term.options.disableStdin) return;
  const key = encodeKey({ cursor: lines < 0 ? 'A' : 'B' }, NO_MODIFIERS, term.modes.applicationCursorKeysMode);
  send(key.repeat(Math.abs(lines)));
}

/** Distance between the first two fingers, in CSS pixels. */
function spread(touches: TouchList): number {
  const [a, b] = [touches[0]!, touches[1]!];
  return Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
}

/** Height of one terminal row in CSS pixels. */
function cellHeight(term: Terminal): number {
  const screen = term.element?.querySelector('.xterm-screen');
  const height = screen ? screen.getBoundingClientRect().height / term.rows : 0;
  return height > 0 ? height : 16;
}

/** Selects the word (a run of non-blank characters) at the viewport point (x, y). */
export function selectWordAt(term: Terminal, x: number, y: number): boolean {
  const screen = term.element?.querySelector('.xterm-screen');
  if (!screen) return false;
  const rect = screen.getBoundingClientRect();
  const col = Math.floor(((x - rect.left) / rect.width) * term.cols);
  const row = Math.floor(((y - rect.top) / rect.height) * term.rows);
  if (col < 0 || col >= term.cols || row < 0 || row >= term.rows) return false;
  const line = term.buffer.active.getLine(term.buffer.active.viewportY + row);
  if (!line) return false;
  // By cells, so that wide characters (two cells, the second empty) count once.
  const isWord = (i: number): boolean => {
    const cell = i >= 0 && i < term.cols ? line.getCell(i) : undefined;
    if (!cell) return false;
    return cell.getWidth() === 0 || !/^\s*$/.test(cell.getChars());
  };
  if (!isWord(col)) return false;
  let from = col;
  let to = col;
  while (isWord(from - 1)) from--;
  while (isWord(to + 1)) to++;
  term.select(from, term.buffer.active.viewportY + row, to - from + 1);
  return true;
}
