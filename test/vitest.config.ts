import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers on ephemeral ports; two workers fit two cores.
    maxWorkers: 2,
    setupFiles: ['test/helpers/no-console.ts'],
    // The JSON report lets .ci/run print the closing "N passed, N failed" line CI reads.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
