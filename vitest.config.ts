import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Peer-backed tests start real servers and move real bytes; give them room, but never hang CI.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: more workers than that only makes the database peers thrash.
    maxWorkers: 2,
  },
});
