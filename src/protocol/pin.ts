// The optional PIN: a second factor on top of the access link, so that a photographed QR code alone does
// not pair a device. The PIN never leaves the device it is typed on: a device pairing with a link that
// needs one runs CPace with the agent (cpace.ts, channel.ts), which tells both whether they typed the same
// PIN and nothing else, so a PIN can only be guessed online, one guess per exchange, and the agent limits
// those. Links with a PIN say so (`#pin.<secret>`, `#view.pin.<view secret>`), so the page knows to ask.

/** Fewest characters a PIN may have. */
export const MIN_PIN_LENGTH = 6;
/** Most characters a PIN may have. */
export const MAX_PIN_LENGTH = 64;

/** Why `pin` cannot be used, or undefined if it can. */
export function pinProblem(pin: string): string | undefined {
  const length = [...pin.normalize('NFKC')].length;
  if (length < MIN_PIN_LENGTH) return `the PIN must have at least ${MIN_PIN_LENGTH} characters`;
  if (length > MAX_PIN_LENGTH) return `the PIN must have at most ${MAX_PIN_LENGTH} characters`;
  return undefined;
}
