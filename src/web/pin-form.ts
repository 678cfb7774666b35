// The PIN form shown for links that need a PIN (`#pin.…`). The PIN is stretched into the PIN key on
// this device (pinKey) and forgotten; only the key is kept, in memory, for this page's session.

import { pinKey, pinProblem } from '../protocol/index.js';

/** Shows the form until a PIN of the right length is given; resolves with its PIN key. */
export function askPin(agentId: string, error?: string): Promise<Uint8Array> {
  const form = document.getElementById('pin-form') as HTMLFormElement;
  const input = document.getElementById('pin-input') as HTMLInputElement;
  const text = document.getElementById('pin-text')!;
  const button = document.getElementById('pin-submit') as HTMLButtonElement;
  const initialText = text.dataset.initial ?? (text.dataset.initial = text.textContent ?? '');
  const show = (message: string | undefined): void => {
    text.textContent = message ?? initialText;
    if (message) form.dataset.error = '';
    else delete form.dataset.error;
    button.disabled = false;
    button.textContent = 'Unlock';
    input.disabled = false;
    input.value = '';
    form.hidden = false;
    document.body.dataset.pin = 'asking';
    input.focus();
  };
  show(error);
  return new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      const pin = input.value;
      const problem = pinProblem(pin);
      if (problem) return show(`That is not the PIN: ${problem}.`);
      button.disabled = true;
      input.disabled = true;
      button.textContent = 'Checking…';
      pinKey(pin, agentId).then(
        (key) => {
          form.hidden = true;
          form.onsubmit = null;
          delete document.body.dataset.pin;
          resolve(key);
        },
        (failure: Error) => show(failure.message),
      );
    };
  });
}
