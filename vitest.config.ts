import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The embedded ClickHouse engine allows one data directory per process: integration files
    // each open their own, so forks (one process per file) keep them apart.
    fileParallelism: true,
    maxWorkers: 2,
  },
})
