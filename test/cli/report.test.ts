import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runReport, type ReportIo } from '../../src/cli/report.js'
import { ComplianceReport } from '../../src/reports/index.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { API, issued, MCP, presented, seed } from '../reports/fixtures.js'

// The compiled CLI, as users run it (`npm test` builds dist/ before the suite).
const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), 'audtrail-cli-report-'))
const storage = testStorage('cli_reports', dataDir)
const ENV = { AUDTRAIL_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: 'cli_reports' }
const PERIOD = ['--since', '2026-10-01', '--until', '2026-11-01T00:00:00Z']
const AT = '2026-10-10T12:00:00.000Z'
const IAT = Math.floor(Date.parse(AT) / 1000) - 60

function io(tty = false) {
  const out = { stdout: '', stderr: '' }
  const streams: ReportIo = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    stderrIsTTY: tty,
  }
  return { out, streams }
}

const report = (args: string[], tty = false) => {
  const { out, streams } = io(tty)
  return runReport(args, ENV, streams).then((code) => ({ code, ...out }))
}

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  const good = { jti: 'good-1', iat: IAT, exp: IAT + 600, aud: [MCP] }
  const stray = { jti: 'stray-1', iat: IAT, exp: IAT + 600, aud: [API] }
  await seed(
    storage,
    [
      issued('acme', AT, { token: good }),
      presented('acme', AT, { token: good }),
      presented('acme', AT, { token: stray, presented_aud: [API] }),
    ],
    { detect: true },
  )
})
afterAll(() => closeTestStorages())

describe('audtrail report', () => {
  it('writes json, csv and html to --out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-report-out-'))
    for (const format of ['json', 'csv', 'html']) {
      const file = join(dir, `r.${format}`)
      const args = ['--framework', 'mcp-authorization', ...PERIOD, '--tenant', 'acme']
      const result = await report([...args, '--format', format, '--out', file])
      expect(result).toEqual({ code: 0, stdout: '', stderr: '' })
      const body = readFileSync(file, 'utf8')
      if (format === 'json') {
        const r = ComplianceReport.parse(JSON.parse(body))
        expect(r.tenant).toBe('acme')
        const handling = r.frameworks[0]!.controls.find((c) => c.id === 'mcp-authz/token-handling')
        expect(handling?.status).toBe('fail')
      } else if (format === 'csv') {
        expect(body.split('\r\n')[0]).toMatch(/^tenant,period_since,period_until,framework,/)
        expect(body).toContain('mcp-authz/token-handling')
      } else {
        expect(body).toMatch(/^<!doctype html>/)
        expect(body).not.toMatch(/<script/i)
      }
    }
  })

  it('prints to stdout without --out, for the default tenant when none is given', async () => {
    const result = await report(['--framework', 'nist-800-207', ...PERIOD])
    expect(result.code).toBe(0)
    const r = ComplianceReport.parse(JSON.parse(result.stdout))
    expect(r.tenant).toBe('default')
    expect(r.frameworks[0]!.summary.no_evidence).toBe(r.frameworks[0]!.summary.controls)
  })

  it('shows progress on stderr with --progress (or on a terminal), never on stdout', async () => {
    const args = ['--framework', 'all', ...PERIOD, '--tenant', 'acme']
    const withFlag = await report([...args, '--progress'])
    expect(withFlag.code).toBe(0)
    const lines = withFlag.stderr.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^report: 0% /)
    expect(lines.at(-1)).toMatch(/^report: 100% done$/)
    ComplianceReport.parse(JSON.parse(withFlag.stdout))
    expect((await report(args)).stderr).toBe('')
    // On a terminal one line is rewritten in place (carriage return, erase line).
    expect((await report(args, true)).stderr.endsWith('\r\u001b[Kreport: 100% done\n')).toBe(true)
  })

  it.each([
    [['--since', '2026-10-01'], /--framework/],
    [['--framework', 'pci-dss'], /--framework/],
    [['--framework', 'all', '--format', 'pdf'], /--format/],
    [
      ['--framework', 'all', '--since', '2026-11-01', '--until', '2026-10-01'],
      /since must be before until/,
    ],
    [['--framework', 'all', '--since', '2024-01-01', '--until', '2026-01-01'], /366 days/],
    [['--framework', 'all', '--since', 'last week'], /--since/],
    [['--framework', 'all', '--tenant', "x' OR 1=1"], /--tenant/],
    [['--framework', 'all', '--bogus'], /Unknown option '--bogus'/],
    [['--framework', 'all', 'extra'], /positional/],
  ])('answers %j with a usage error, exit code 2', async (args, message) => {
    const result = await report(args)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toMatch(/Usage: audtrail report --framework F/)
  })

  it('fails with exit code 1 when --out cannot be written', async () => {
    const out = join(dataDir, 'no-such-dir', 'r.json')
    const result = await report(['--framework', 'all', ...PERIOD, '--out', out])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cannot write .*ENOENT/)
  })
})

describe('the audtrail report binary', () => {
  function audtrail(args: string[], env: Record<string, string> = {}) {
    const result = spawnSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...env },
    })
    return { code: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  it('applies AUDTRAIL_REPORT_THRESHOLDS, and exits 2 on an unknown metric', async () => {
    const run = (value: string) => {
      const { out, streams } = io()
      const args = ['--framework', 'nist-800-53r5', ...PERIOD, '--tenant', 'acme']
      return runReport(args, { ...ENV, AUDTRAIL_REPORT_THRESHOLDS: value }, streams).then(
        (code) => ({ code, ...out }),
      )
    }
    const strict = await run('sender_constrained_token_share=min:0.5')
    expect(strict.code).toBe(0)
    const metric = ComplianceReport.parse(JSON.parse(strict.stdout)).metrics.find(
      (m) => m.id === 'sender_constrained_token_share',
    )
    expect(metric).toMatchObject({ threshold: { op: 'min', value: 0.5 }, status: 'fail' })
    const typo = await run('sender_constrained_share=min:0.5')
    expect(typo.code).toBe(2)
    expect(typo.stdout).toBe('')
    expect(typo.stderr).toMatch(/unknown metric "sender_constrained_share"/)
  })

  it('is listed in the help and exits 2 on a usage error', () => {
    expect(audtrail(['--help']).stdout).toMatch(/^\s+report\s+a compliance report/m)
    const bad = audtrail(['report', '--framework', 'nope'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--framework/)
  })

  it('writes a report file from an empty data dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-report-bin-'))
    const out = join(dir, 'r.html')
    const result = audtrail(
      ['report', '--framework', 'all', '--format', 'html', '--out', out, '--data-dir', dir],
      {},
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(readFileSync(out, 'utf8')).toMatch(/<h1>Compliance report<\/h1>/)
  })
})
