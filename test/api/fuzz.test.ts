import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SCRIPT = fileURLToPath(new URL('../../scripts/fuzz-api.mjs', import.meta.url))

/** The last line of the script's output: its JSON summary. */
function summary(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').pop() ?? ''
  return JSON.parse(line) as Record<string, unknown>
}

describe('npm run fuzz:api (a short pass)', () => {
  it('answers schemathesis-generated requests without a 5xx and as the OpenAPI document declares', () => {
    // Installs schemathesis into .cache on a fresh clone (pinned; a no-op afterwards).
    const run = spawnSync(
      process.execPath,
      [
        SCRIPT,
        '--max-examples',
        '10',
        '--phases',
        'fuzzing,stateful',
        '--min-requests',
        '150',
        '--seed',
        '20261122',
        '--quiet',
      ],
      { encoding: 'utf8', timeout: 280_000, maxBuffer: 64 * 1024 * 1024 },
    )
    const output = `${run.stdout}\n${run.stderr}`
    expect(run.status, output).toBe(0)
    const result = summary(run.stdout)
    expect(result).toMatchObject({ fuzz: 'api', server_errors: 0, ok: true })
    expect(result.requests as number).toBeGreaterThanOrEqual(150)
    expect(result.checks).toEqual(
      expect.arrayContaining(['not_a_server_error', 'response_schema_conformance']),
    )
  }, 300_000)
})
