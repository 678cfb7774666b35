import { defineConfig } from 'vitest/config';

/**
 * The relay integration suite: every file that starts relays, run again against groups of two and three
 * relays on a private Redis (test/helpers/system.ts `startRelay`), with agents on the first and browsers on
 * the others. The file store's own tests stay with one relay, and so do the browser tests for three.
 */
const relayFiles = [
  'abuse',
  'agent-failures',
  'app',
  'attention',
  'claude',
  'devices',
  'file-transfers',
  'hardening',
  'lossless',
  'permissions',
  'presence',
  'push',
  'relay-words',
  'relay',
  'security',
  'session',
  'sessions',
  'viewers',
];
const browserFiles = ['phone', 'web-files', 'web-recordings', 'web-permission', 'web-push', 'web-sessions', 'web'];
const files = (names: string[]): string[] => names.map((name) => `test/${name}.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A condition polled for (a file pruned, a page updated) gets 10 s: on a slow or busy machine an agent
    // takes more than the default second to start its recording or answer a page, and a poll that is met
    // returns at once anyway.
    expect: { poll: { timeout: 10_000 } },
    // Integration tests spawn PTYs, relays and browsers; two workers match the CI machine's cores.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: 'one relay', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'two relays', include: files([...relayFiles, ...browserFiles]), env: { CCREMOTE_TEST_RELAYS: '2' } } },
      { extends: true, test: { name: 'three relays', include: files(relayFiles), env: { CCREMOTE_TEST_RELAYS: '3' } } },
    ],
  },
});
