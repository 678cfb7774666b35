// What the screen mirror needs to know of @xterm/headless's state that its public API does not say: whether
// its parser is between sequences, where the cursor is, and the scroll region. Read
// from the terminal's internals (the version is pinned, and a test checks they are found); where they
// are not found, the mirror never skips output and parses all of it, as it did before.

import type { Terminal } from '@xterm/headless';

/** What the mirror asks of the terminal's state. */
export interface TerminalInternals {
  /** Whether the internals were found. */
  readonly available: boolean;
  /**
   * Whether output may be skipped here (skippable-output.ts): the parser in its ground state (not inside
   * a sequence cut where the output was held), the cursor in column 0 and the scroll region the whole screen.
   */
  readyToSkip(): boolean;
}

interface Core {
  _inputHandler?: { _parser?: { currentState?: unknown } };
  buffer?: { x?: unknown; scrollTop?: unknown; scrollBottom?: unknown };
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
  if (!found) return { available: false, readyToSkip: () => false };
  return {
    available: true,
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
