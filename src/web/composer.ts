// The composer: an ordinary text field for what phone keyboards do best and terminals handle worst
// (dictation, autocorrect, Chinese and Japanese input methods, emoji). On submit its text goes to the
// program as one paste (bracketed if the program asked for bracketed paste) followed by Enter. Enter
// while an input method is still composing only confirms the composition.

/** What the composer needs from the page. */
export interface ComposerHost {
  send(bytes: string): void;
  /** Resolves once the program has been given everything sent so far. */
  delivered(): Promise<void>;
  /** Whether the program enabled bracketed paste (DECSET 2004). */
  bracketedPaste(): boolean;
}

/** The bytes a paste of `text` sends: newlines as Enter (\r), wrapped in paste brackets if asked for. */
export function pasteBytes(text: string, bracketed: boolean): string {
  const body = text.replace(/\r?\n/g, '\r');
  if (!bracketed) return body;
  // A paste may not end the bracket early.
  return `\x1b[200~${body.replace(/\x1b\[201~/g, '')}\x1b[201~`;
}

export class Composer {
  private readonly form = document.getElementById('composer') as HTMLFormElement;
  private readonly input = document.getElementById('composer-input') as HTMLTextAreaElement;
  private readonly toggleButton = document.getElementById('compose-toggle') as HTMLButtonElement;

  constructor(private readonly host: ComposerHost) {
    this.toggleButton.addEventListener('pointerdown', (event) => event.preventDefault());
    this.toggleButton.addEventListener('click', () => this.setOpen(this.form.hidden));
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (event) => {
      // keyCode 229: the key went to an input method (some browsers leave isComposing false then).
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('input', () => this.grow());
  }

  get isOpen(): boolean {
    return !this.form.hidden;
  }

  setOpen(open: boolean): void {
    this.form.hidden = !open;
    this.toggleButton.setAttribute('aria-expanded', String(open));
    document.body.dataset.composer = open ? 'open' : 'closed';
    if (open) this.input.focus();
  }

  /**
   * Sends the text (or just Enter when empty) and clears the field for the next message. Enter goes
   * once the paste has reached the program: programs such as Claude Code take an Enter that arrives
   * together with a paste as part of it.
   */
  private submit(): void {
    const text = this.input.value;
    if (text) {
      this.host.send(pasteBytes(text, this.host.bracketedPaste()));
      void this.host.delivered().then(() => this.host.send('\r'));
    } else {
      this.host.send('\r');
    }
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
