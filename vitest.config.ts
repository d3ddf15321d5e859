import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Starts private Redis + FerretDB for the run (see test/global-setup.ts);
    // tests read them via inject('redisUrl' | 'mongoUrl') or TEST_REDIS_URL / TEST_MONGODB_URL.
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts', 'server/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Files run in parallel (each uses its own database name / queue prefix), two at a time.
    fileParallelism: true,
    maxWorkers: 2,
    // The JSON report lets .ci/run print a plain 'N passed, N failed' closing line.
    reporters: ['default', ['json', { outputFile: 'test-artifacts/vitest.json' }]],
  },
});
