import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one self-signed certificate for every in-process server of the run (test/helpers/in-process.ts)
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own servers on port 0; two workers suit the 2-core machines this runs on.
    maxWorkers: 2,
  },
});
