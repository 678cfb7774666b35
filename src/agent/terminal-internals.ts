// What the screen mirror needs of @xterm/headless that its public API does not offer: whether its parser is
// between sequences, where the cursor is, and the scroll region; and a write parsed at once rather than on
// a timer. Read from the terminal's internals (the version is pinned, and a test checks they are found);
// each falls back on its own: where the state is not found, the mirror never skips output and parses all
// of it, as it did before; where the write buffer's flag is not found, its writes wait for the timer.

import type { Terminal } from '@xterm/headless';

/** What the mirror asks of the terminal's state. */
export interface TerminalInternals {
  /** Whether the state `readyToSkip` reads was found (else it always says no). */
  readonly available: boolean;
  /**
   * Whether output may be skipped here (skippable-output.ts): the parser in its ground state (not inside
   * a sequence cut where the output was held), the cursor in column 0 and the scroll region the whole screen.
   */
  readyToSkip(): boolean;
  /**
   * Makes the terminal's next `write`, if nothing waits to be parsed before it, start parsing at once, as
   * it does after a key is typed, instead of on a timer (each of which wakes the worker's thread once more).
   */
  parseNextWriteAtOnce(): void;
}

interface Core {
  _inputHandler?: { _parser?: { currentState?: unknown } };
  buffer?: { x?: unknown; scrollTop?: unknown; scrollBottom?: unknown };
  _writeBuffer?: { _didUserInput?: unknown };
}

/** The parser's ground state (xterm's ParserState.GROUND). */
const GROUND = 0;

export function terminalInternals(terminal: Terminal): TerminalInternals {
  const core = (terminal as unknown as { _core?: Core })._core;
  const parser = core?._inputHandler?._parser;
  const found =
    typeof parser?.currentState === 'number' &&
    typeof core?.buffer?.x === 'number' &&
    typeof core.buffer.scrollTop === 'number' &&
    typeof core.buffer.scrollBottom === 'number';
  const writeBuffer = typeof core?._writeBuffer?._didUserInput === 'boolean' ? (core._writeBuffer as { _didUserInput: boolean }) : undefined;
  const parseNextWriteAtOnce = writeBuffer
    ? () => {
        writeBuffer._didUserInput = true;
      }
    : () => undefined;
  if (!found) return { available: false, readyToSkip: () => false, parseNextWriteAtOnce };
  return {
    available: true,
    parseNextWriteAtOnce,
    readyToSkip() {
      const buffer = core.buffer as { x: number; scrollTop: number; scrollBottom: number };
      return (
        parser.currentState === GROUND &&
        buffer.x === 0 &&
        buffer.scrollTop === 0 &&
        buffer.scrollBottom === terminal.rows - 1
      );
    },
  };
}
