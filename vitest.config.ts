import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Kills what a file's tests left running (a timed-out test's children).
    setupFiles: ['test/support/setup.ts'],
    // Tests drive real rsync, SSH and loop devices; several share the machine's
    // two cores, so files run one at a time and each gets time to finish.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
