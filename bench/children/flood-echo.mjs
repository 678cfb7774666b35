// Runs inside the PTY for M2: floods the terminal with output and, interleaved with it, echoes every
// key it reads as STX key ETX, so the benchmark can time keystrokes behind a flood.
import { writeSync } from 'node:fs';

process.stdin.setRawMode(true);
const flood = Buffer.from('y\n'.repeat(8192));
let stopped = false;
process.stdin.on('data', (data) => {
  for (const byte of data) {
    if (byte === 0x03) stopped = true;
    else writeSync(1, Buffer.from([0x02, byte, 0x03]));
  }
  if (stopped) process.exit(0);
});
const pump = () => {
  if (stopped) return;
  writeSync(1, flood);
  setImmediate(pump);
};
pump();
