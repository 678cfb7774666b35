// The key bar above the on-screen keyboard: a row of Claude Code actions and a scrolling row of the
// keys phones lack (keys.ts says what each sends). Ctrl and Alt are sticky: tap one, then a key on
// the bar or the keyboard. Buttons never take the focus, so the on-screen keyboard stays open.

import { keepFocus } from './dom.js';
import { CLAUDE_ACTIONS, KEYS, NO_MODIFIERS, encodeKey, isModifier, withModifiers, type KeyDef, type Modifiers } from './keys.js';

/** What the key bar needs from the page. */
export interface KeyBarHost {
  send(bytes: string): void;
  /** Whether the program enabled application cursor keys. */
  applicationCursor(): boolean;
}

/** The sticky modifiers, shared by the bar's buttons and typed input. */
export class KeyBar {
  private mods: Modifiers = { ...NO_MODIFIERS };
  private readonly modifierButtons = new Map<keyof Modifiers, HTMLButtonElement>();

  constructor(
    actions: HTMLElement,
    keys: HTMLElement,
    private readonly host: KeyBarHost,
  ) {
    for (const def of CLAUDE_ACTIONS) actions.append(this.keyButton(def, 'action'));
    for (const def of KEYS) {
      if (!isModifier(def)) {
        keys.append(this.keyButton(def, 'key'));
        continue;
      }
      const button = makeButton(def.label, def.name);
      button.dataset.key = def.label;
      button.setAttribute('aria-pressed', 'false');
      button.addEventListener('click', () => this.toggle(def.modifier));
      this.modifierButtons.set(def.modifier, button);
      keys.append(button);
    }
  }

  /**
   * Text from the terminal (what the keyboard typed) with the sticky modifiers applied. Only one
   * character is a keystroke they apply to, and releases them: longer text is a paste, a composed word
   * or the terminal answering the program (a cursor report, say), and passes as it is.
   */
  typed(text: string): string {
    if ([...text].length !== 1) return text;
    const out = withModifiers(text, this.mods);
    this.release();
    return out;
  }

  private keyButton(def: KeyDef, kind: 'action' | 'key'): HTMLButtonElement {
    const button = makeButton(def.label, def.name);
    button.dataset[kind] = def.name;
    button.addEventListener('click', () => {
      this.host.send(encodeKey(def.key, kind === 'key' ? this.mods : NO_MODIFIERS, this.host.applicationCursor()));
      if (kind === 'key') this.release();
    });
    return button;
  }

  private toggle(modifier: keyof Modifiers): void {
    this.mods[modifier] = !this.mods[modifier];
    this.show();
  }

  private release(): void {
    if (!this.mods.ctrl && !this.mods.alt) return;
    this.mods = { ...NO_MODIFIERS };
    this.show();
  }

  private show(): void {
    for (const [modifier, button] of this.modifierButtons) button.setAttribute('aria-pressed', String(this.mods[modifier]));
  }
}

function makeButton(label: string, name: string): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.setAttribute('aria-label', name);
  keepFocus(button);
  return button;
}
