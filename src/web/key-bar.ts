// The row of keys phones lack. Each button sends the bytes a real keyboard would, including the
// cursor-key form the program asked for (DECCKM), and never takes focus from the terminal, so the
// on-screen keyboard stays open.

/** One key: its label, its accessible name, and its bytes. */
export interface KeyDef {
  label: string;
  name: string;
  /** Bytes to send; `application` is whether the program enabled application cursor keys. */
  bytes(application: boolean): string;
}

const cursor = (final: string) => (application: boolean) => (application ? `\x1bO${final}` : `\x1b[${final}`);

/** The keys, in bar order. */
export const KEYS: KeyDef[] = [
  { label: 'Esc', name: 'Escape', bytes: () => '\x1b' },
  { label: 'Tab', name: 'Tab', bytes: () => '\t' },
  { label: '^C', name: 'Control C', bytes: () => '\x03' },
  { label: '^D', name: 'Control D', bytes: () => '\x04' },
  { label: '↑', name: 'Up arrow', bytes: cursor('A') },
  { label: '↓', name: 'Down arrow', bytes: cursor('B') },
  { label: '←', name: 'Left arrow', bytes: cursor('D') },
  { label: '→', name: 'Right arrow', bytes: cursor('C') },
  { label: '⏎', name: 'Enter', bytes: () => '\r' },
];

/** Fills `container` with key buttons that call `send`. */
export function mountKeyBar(container: HTMLElement, send: (bytes: string) => void, applicationCursor: () => boolean): void {
  for (const key of KEYS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = key.label;
    button.setAttribute('aria-label', key.name);
    button.dataset.key = key.name;
    // pointerdown with preventDefault keeps focus (and the phone keyboard) on the terminal.
    button.addEventListener('pointerdown', (event) => event.preventDefault());
    button.addEventListener('click', () => send(key.bytes(applicationCursor())));
    container.append(button);
  }
}
