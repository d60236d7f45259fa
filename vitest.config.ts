// Vitest configuration: one global setup starts PostgreSQL and builds the template database;
// test files run in forked processes so a file can spawn and kill child processes safely.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
