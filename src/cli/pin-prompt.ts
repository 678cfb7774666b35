// Reading a PIN for `--pin`: from CCREMOTE_PIN, or typed at the terminal without echo. A PIN is never
// taken from the command line, where other users of the machine could read it in the process list.

import { UsageError } from './options.js';

export interface PinSource {
  env: NodeJS.ProcessEnv;
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

/** The PIN from CCREMOTE_PIN, or asked for on the terminal (twice when `confirm`). */
export async function readPin(source: PinSource, confirm: boolean): Promise<string> {
  const fromEnv = source.env.CCREMOTE_PIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!source.input.isTTY) throw new UsageError('--pin asks for the PIN at a terminal; without one, set CCREMOTE_PIN');
  const pin = await askHidden(source, 'PIN: ');
  if (confirm && (await askHidden(source, 'PIN again: ')) !== pin) throw new UsageError('the two PINs differ');
  return pin;
}

function askHidden({ input, output }: PinSource, question: string): Promise<string> {
  output.write(question);
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error): void => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new UsageError('no PIN given'));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    input.on('data', onData);
  });
}
