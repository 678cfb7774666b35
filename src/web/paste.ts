// Every paste into the terminal goes through the composer's pasteBytes, the page's one sanitizing path:
// the clipboard's text becomes one paste, bracketed when the program asked, with no Escape inside the
// brackets, so text copied from a web page cannot end the paste early and run a command ("pastejacking").
// xterm.js's own paste handler (Ctrl+V, the context menu, middle click) passes the text's Escapes through,
// so pastes are taken from it before it sees them. Text that a phone keyboard inserts from its clipboard
// comes as typed text; more than one character with a line break or another control in it can only be
// such a paste, and is treated as one.

import { pasteBytes } from './composer.js';

/** What the paste path needs from the page. */
export interface PasteHost {
  /** Sends bytes to the program; false if they could not be sent (read-only link, input queue full). */
  send(bytes: string): boolean;
  /** Whether the program enabled bracketed paste (DECSET 2004). */
  bracketedPaste(): boolean;
}

/** Line breaks and the other C0 and C1 controls: typed text of more than one character never holds them. */
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/;

/** Sends `text` as a paste; false if it could not be sent. */
export function paste(host: PasteHost, text: string): boolean {
  return text === '' || host.send(pasteBytes(text, host.bracketedPaste()));
}

/** Routes pastes into `element` (the terminal's container) through `paste`; returns the function that removes the listeners. */
export function installPaste(element: HTMLElement, host: PasteHost): () => void {
  // Capture on the container runs before the listeners xterm.js has on its textarea and element.
  const onPaste = (event: ClipboardEvent): void => {
    event.preventDefault();
    event.stopPropagation();
    paste(host, event.clipboardData?.getData('text/plain') ?? '');
  };
  const onBeforeInput = (event: InputEvent): void => {
    const text =
      event.inputType === 'insertFromPaste' || event.inputType === 'insertFromDrop'
        ? (event.dataTransfer?.getData('text/plain') ?? event.data ?? '')
        : event.inputType === 'insertText' && event.data !== null && [...event.data].length > 1 && CONTROLS.test(event.data)
          ? event.data
          : undefined;
    if (text === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    paste(host, text);
  };
  element.addEventListener('paste', onPaste, { capture: true });
  element.addEventListener('beforeinput', onBeforeInput, { capture: true });
  return () => {
    element.removeEventListener('paste', onPaste, { capture: true });
    element.removeEventListener('beforeinput', onBeforeInput, { capture: true });
  };
}
