// Runs inside a PTY for M2's other sessions: prints lines of coloured text at a steady rate
// (argv[2] bytes per second), as a busy build or log would.
const rate = Number(process.argv[2] ?? 1 << 20);
const line = (i) => `\x1b[3${i % 8}m${String(i).padStart(8)} ${'build output '.repeat(5)}\x1b[0m\n`;
let i = 0;
const every = 10;
setInterval(() => {
  let chunk = '';
  while (chunk.length < (rate * every) / 1000) chunk += line(i++);
  process.stdout.write(chunk);
}, every);
