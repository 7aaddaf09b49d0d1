import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The compiled CLI, as users run it (`npm test` builds dist/ before the suite).
const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))

function audtrail(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('the audtrail command', () => {
  it('prints help listing the commands that exist', () => {
    const { code, stdout } = audtrail(['--help'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/Usage: audtrail <command>/)
    expect(stdout).toMatch(/^\s+migrate\s+/m)
  })

  it('refuses an unknown command with exit code 2', () => {
    const { code, stderr } = audtrail(['frobnicate'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/unknown command 'frobnicate'/)
  })

  it('migrates an empty data dir, then finds nothing to do', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'audtrail-cli-'))
    const first = audtrail(['migrate'], { AUDTRAIL_DATA_DIR: dataDir })
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/applying 0001_create_events\.sql/)
    const second = audtrail(['migrate', '--data-dir', dataDir])
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(/up to date: \d+ migrations already applied, nothing to do/)
  })

  it('lists every configuration problem without a stack trace', () => {
    const { code, stderr } = audtrail(['migrate'], {
      AUDTRAIL_PORT: 'x',
      CLICKHOUSE_URL: 'ftp://nope',
    })
    expect(code).toBe(2)
    expect(stderr).toMatch(/invalid configuration \(2 problems\)/)
    expect(stderr).toMatch(/AUDTRAIL_PORT: must be a number/)
    expect(stderr).toMatch(/CLICKHOUSE_URL: must be an http\(s\) URL/)
    expect(stderr).not.toMatch(/\bat .*\.js:\d+/)
  })

  it('reports an unreachable ClickHouse server clearly', () => {
    const { code, stderr } = audtrail(['migrate'], { CLICKHOUSE_URL: 'http://127.0.0.1:9' })
    expect(code).toBe(1)
    expect(stderr).toMatch(/ClickHouse is unreachable \[ERR_SINK_UNAVAILABLE\]/)
  })
})
