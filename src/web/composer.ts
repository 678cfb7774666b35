// The composer: an ordinary text field for what phone keyboards do best and terminals handle worst
// (dictation, autocorrect, Chinese and Japanese input methods, emoji). On submit its text goes to the
// program as one paste (bracketed if the program asked for bracketed paste) followed by Enter. Enter
// while an input method is still composing only confirms the composition.

import { byId, keepFocus } from './dom.js';

/** What the composer needs from the page. */
export interface ComposerHost {
  /** Sends bytes to the program; false if they could not be sent (read-only link, input queue full). */
  send(bytes: string): boolean;
  /** Resolves once the program has read the paste of `text` (as far as can be told: it shows it, paste-echo.ts). */
  read(text: string): Promise<void>;
  /** Whether the program enabled bracketed paste (DECSET 2004). */
  bracketedPaste(): boolean;
  /** Gives the keyboard focus back to the terminal. */
  focusTerminal(): void;
}

/**
 * The bytes a paste of `text` sends: newlines as Enter (\r), wrapped in paste brackets if asked for.
 * Inside brackets no Escape (nor a C1 control, such as the one-character CSI) is passed at all, so the
 * text cannot end the paste early and act as keys. Every paste on the page comes through here (paste.ts).
 */
export function pasteBytes(text: string, bracketed: boolean): string {
  const body = text.replace(/\r?\n/g, '\r');
  return bracketed ? `\x1b[200~${body.replace(/[\x1b\x80-\x9f]/g, '')}\x1b[201~` : body;
}

export class Composer {
  private readonly form = document.getElementById('composer') as HTMLFormElement;
  private readonly input = document.getElementById('composer-input') as HTMLTextAreaElement;
  private readonly toggleButton = document.getElementById('compose-toggle') as HTMLButtonElement;
  /** Messages go out one after another: each Enter before the next message's paste. */
  private sending: Promise<void> = Promise.resolve();
  /** Shift+Enter asked for a new line (the line break that follows is kept). */
  private newLine = false;

  constructor(private readonly host: ComposerHost) {
    keepFocus(this.toggleButton);
    this.toggleButton.addEventListener('click', () => this.setOpen(this.form.hidden));
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (event) => {
      this.newLine = event.key === 'Enter' && event.shiftKey;
      // keyCode 229: the key went to an input method (some browsers leave isComposing false then).
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      this.submit();
    });
    // Some phone keyboards send Enter only as a line break (keyCode 229 above): that sends too.
    this.input.addEventListener('beforeinput', (event) => {
      if (event.inputType !== 'insertLineBreak' || event.isComposing || this.newLine) return;
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('input', () => this.grow());
  }

  /** Adds `text` to what is being written (after a space), opening the composer if it is closed. */
  insert(text: string): void {
    if (this.form.hidden) this.setOpen(true);
    const before = this.input.value;
    this.input.value = before && !/\s$/.test(before) ? `${before} ${text}` : before + text;
    this.grow();
    this.input.focus();
  }

  setOpen(open: boolean): void {
    this.form.hidden = !open;
    // The options under it (photos at full size, getting a file) come and go with it.
    byId('composer-options').hidden = !open;
    if (!open) byId('fetch-file').hidden = true;
    this.toggleButton.setAttribute('aria-expanded', String(open));
    document.body.dataset.composer = open ? 'open' : 'closed';
    if (open) this.input.focus();
    else this.host.focusTerminal();
  }

  /**
   * Sends the text (or just Enter when empty) and clears the field for the next message. After a
   * bracketed paste, Enter goes once the program shows the paste: programs such as Claude Code take an
   * Enter read together with a paste as part of it. Without brackets the text is typed keys, and Enter
   * goes with them. Text that could not be sent stays in the field.
   */
  private submit(): void {
    const text = this.input.value;
    const bracketed = this.host.bracketedPaste();
    this.sending = this.sending.then(async () => {
      if (text) {
        if (!this.host.send(pasteBytes(text, bracketed))) {
          // Not sent: give the text back rather than lose it.
          if (!this.input.value) this.input.value = text;
          this.grow();
          return;
        }
        if (bracketed) await this.host.read(text);
      }
      this.host.send('\r');
    });
    if (!text) return;
    this.input.value = '';
    this.grow();
    this.input.focus();
  }

  /** Grows the field with its text, up to a few lines. */
  private grow(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 120)}px`;
  }
}
