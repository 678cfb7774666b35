// The headless terminal behind screen snapshots, in a worker thread so that parsing every byte of output
// never delays the agent's main thread. It applies output and resizes in stream order and answers
// snapshot requests with the serialized screen (scrollback, modes, alternate buffer) and the stream
// position it reflects, and line requests with the screen's last lines as text. Messages are described
// in screen-mirror.ts.

import { parentPort, workerData } from 'node:worker_threads';
import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import type { MirrorRequest, MirrorResponse, MirrorSettings } from './screen-mirror.js';

const settings = workerData as MirrorSettings;
const terminal = new headless.Terminal({
  cols: settings.cols,
  rows: settings.rows,
  scrollback: settings.scrollback,
  allowProposedApi: true,
});
const serializer = new serialize.SerializeAddon();
terminal.loadAddon(serializer as never);

/** Stream position after the last output handed to the terminal. */
let submitted = 0;

const post = (message: MirrorResponse): void => parentPort!.postMessage(message);

parentPort!.on('message', (request: MirrorRequest) => {
  switch (request.type) {
    case 'write': {
      const end = request.end;
      submitted = end;
      terminal.write(request.data, () => post({ type: 'parsed', end }));
      return;
    }
    case 'resize':
      // Queued behind the output written before it, so the size changes at the right point in the stream.
      terminal.write('', () => terminal.resize(request.cols, request.rows));
      return;
    case 'snapshot': {
      const offset = submitted;
      terminal.write('', () => post({ type: 'snapshot', id: request.id, offset, data: fitting(request.maxBytes) }));
      return;
    }
    case 'lines':
      terminal.write('', () => post({ type: 'lines', id: request.id, lines: lastLines(request.max) }));
      return;
  }
});

/** The last `max` lines of the active buffer up to its last line that is not blank, as plain text (wrapped rows joined). */
function lastLines(max: number): string[] {
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    if (!line) continue;
    const text = line.translateToString(true);
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines.slice(-max);
}

/** The serialized screen with as much scrollback as fits in `maxBytes` of UTF-8. */
function fitting(maxBytes: number): string {
  let lines = settings.scrollback;
  for (;;) {
    const data = serializer.serialize({ scrollback: lines });
    if (Buffer.byteLength(data) <= maxBytes || lines === 0) return data;
    lines = Math.floor(lines / 2);
  }
}
