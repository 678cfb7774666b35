// An agent process for the benchmark. argv[2]: JSON {relayUrl, command, args, cwd, env, bufferSize}.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../dist/index.js';
import { serve } from '../lib/procs.mjs';

const options = JSON.parse(process.argv[2]);
const configDir = mkdtempSync(join(tmpdir(), 'ccremote-bench-agent-'));
let resolveReady;
const ready = new Promise((resolve) => (resolveReady = resolve));
const agent = await createAgent({
  ...options,
  // BENCH_NO_RECORD=1: without session recordings, to see what they cost.
  ...(process.env.BENCH_NO_RECORD === '1' ? { recording: false } : {}),
  configDir,
  onEvent: (event) => {
    if (event.event === 'ready') resolveReady(event.url);
    if (event.event === 'error') console.error(`agent: ${event.message}`);
  },
});
const url = await ready;
const stop = async () => {
  await agent.close();
  rmSync(configDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
serve({}, { url });
