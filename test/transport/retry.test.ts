import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/errors.js'
import type { Logger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { retrying } from '../../src/transport/retry.js'

function recorder() {
  const lines: { level: string; msg: string }[] = []
  const at = (level: string) => (_obj: unknown, msg: string) => void lines.push({ level, msg })
  const log = { warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger
  return { lines, log }
}

async function failTwice(err: Error) {
  const { lines, log } = recorder()
  const metrics = pipelineMetrics(new Metrics())
  let calls = 0
  const result = await retrying(
    'detect',
    {
      alive: () => true,
      heartbeat: async () => {},
      log,
      metrics,
      onFailure: () => {},
      initialMs: 1,
    },
    async () => {
      if (++calls <= 2) throw err
      return 'stored'
    },
  )
  return { result, lines, retries: metrics.retries }
}

describe('retrying a pipeline step', () => {
  it('logs a failure that cannot heal by itself as an error, and retries it all the same', async () => {
    const bad = new StorageError('ERR_STORAGE_QUERY', 'record findings: ClickHouse error 62')
    const { result, lines } = await failTwice(bad)
    expect(result).toBe('stored')
    expect(lines[0]).toEqual({ level: 'error', msg: 'detect failed; retrying in 1 ms' })
    expect(lines[1]!.level).toBe('debug')
  })

  it('logs an outage that may pass as a warning', async () => {
    const outage = new StorageError('ERR_SINK_UNAVAILABLE', 'connection refused', {
      retriable: true,
    })
    const { lines } = await failTwice(outage)
    expect(lines[0]).toEqual({ level: 'warn', msg: 'detect failed; retrying in 1 ms' })
  })
})
