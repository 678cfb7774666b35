import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests spawn PTYs, relays and browsers; two workers match the CI machine's cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
