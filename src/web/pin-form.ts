// The PIN form shown for links that need a PIN (`#pin.…`) before this device pairs. The PIN is used for one
// exchange with the agent (a PAKE: it never leaves the device, and cannot be tested offline) and forgotten.

import { pinProblem } from '../protocol/index.js';

/** Shows the form until a PIN of the right length is given; resolves with it. */
export function askPin(error?: string): Promise<string> {
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
      form.hidden = true;
      form.onsubmit = null;
      delete document.body.dataset.pin;
      resolve(pin);
    };
  });
}
