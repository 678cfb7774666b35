// A relay process for the benchmark. argv[2]: JSON RelayOptions.
import { createRelay } from '../../dist/index.js';
import { serve } from '../lib/procs.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
// Every simulated agent and browser comes from 127.0.0.1: per-address limits would refuse them.
const unlimited = { burst: 1e6, perMinute: 1e6 };
const relay = await createRelay({
  port: 0,
  host: '127.0.0.1',
  registrationLimit: unlimited,
  authLimits: { connections: unlimited },
  connectionLimits: { total: 1e6, perAddress: 1e6 },
  ...options,
});
const { url } = await relay.listen();
process.on('SIGTERM', () => relay.close().then(() => process.exit(0)));
serve({ counts: () => relay.stats() }, { url });
