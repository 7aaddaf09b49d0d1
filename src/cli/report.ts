/**
 * `audtrail report --framework F [--since T] [--until T] [--format json|csv|html] [--out FILE]
 * [--tenant T] [--progress] [--data-dir DIR]`: a compliance report from the configured storage
 * to stdout or FILE. Progress goes to stderr when it is a terminal or with --progress. Exit
 * codes: 0 written, 2 usage error (bad flag or value), 1 failure (storage, file); configuration
 * errors are answered by main (2).
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { createLogger } from '../logger.js'
import { buildComplianceReport } from '../reports/build.js'
import { loadSigningKey, ReportKeyError } from '../reports/integrity.js'
import { FRAMEWORK_IDS } from '../reports/control.js'
import { renderReport } from '../reports/render.js'
import { isSafeLinkTemplate } from '../reports/render-html.js'
import { REPORT_FORMATS, ReportRequest, reportPeriod } from '../reports/request.js'
import { parseReportThresholds, ReportThresholdsError } from '../reports/thresholds.js'
import { openStorage, prepareStorage } from './runtime.js'

export const REPORT_USAGE =
  'audtrail report --framework F [--since T] [--until T] [--format json|csv|html] [--out FILE] ' +
  '[--tenant T] [--finding-link URL_TEMPLATE] [--progress] [--data-dir DIR]'

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export interface ReportIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Whether stderr is a terminal (progress is shown by default then). */
  stderrIsTTY: boolean
}

const processIo: ReportIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
}

function usage(io: ReportIo, problem: string): number {
  io.stderr(
    `audtrail report: ${problem}\nUsage: ${REPORT_USAGE}\n` +
      `  frameworks: ${FRAMEWORK_IDS.join(', ')}, all; formats: ${REPORT_FORMATS.join(', ')}\n` +
      '  times: ISO-8601 date-times with an offset (2026-11-01T00:00:00Z) or dates (2026-11-01)\n',
  )
  return 2
}

function flags(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    options: {
      framework: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      tenant: { type: 'string' },
      'finding-link': { type: 'string' },
      progress: { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
  }).values
}

export async function runReport(
  args: string[],
  env: NodeJS.ProcessEnv,
  io: ReportIo = processIo,
): Promise<number> {
  let values: ReturnType<typeof flags>
  try {
    values = flags(args)
  } catch (err) {
    return usage(io, err instanceof Error ? err.message : String(err))
  }
  const request = ReportRequest.safeParse({
    framework: values.framework,
    since: values.since,
    until: values.until,
    format: values.format,
  })
  if (!request.success)
    return usage(
      io,
      request.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '),
    )
  const tenant = values.tenant ?? 'default'
  if (!TENANT.test(tenant)) return usage(io, '--tenant: not a tenant name')

  const findingLink = values['finding-link']
  if (findingLink !== undefined && !isSafeLinkTemplate(findingLink))
    return usage(io, '--finding-link: an http(s) URL or a path, with {id} for the finding id')

  // AUDTRAIL_REPORT_SIGNING_KEY: an Ed25519 private key (PKCS#8 PEM or JWK) signs the JSON report.
  let signingKey
  if (env.AUDTRAIL_REPORT_SIGNING_KEY) {
    try {
      signingKey = loadSigningKey(env.AUDTRAIL_REPORT_SIGNING_KEY)
    } catch (err) {
      if (err instanceof ReportKeyError) return usage(io, err.message)
      throw err
    }
  }

  // AUDTRAIL_REPORT_THRESHOLDS: the operator's thresholds over the defaults, as the API applies them.
  let thresholds
  try {
    thresholds = parseReportThresholds(env.AUDTRAIL_REPORT_THRESHOLDS)
  } catch (err) {
    if (err instanceof ReportThresholdsError) return usage(io, err.message)
    throw err
  }

  const config = loadConfig({
    ...env,
    AUDTRAIL_DATA_DIR: values['data-dir'] ?? env.AUDTRAIL_DATA_DIR,
  })
  const showProgress = values.progress === true || io.stderrIsTTY
  const storage = openStorage(config)
  try {
    await prepareStorage(storage, config, createLogger('silent'))
    const report = await buildComplianceReport(storage, {
      tenant,
      framework: request.data.framework,
      ...reportPeriod(request.data),
      signingKey,
      thresholds,
      onProgress: showProgress
        ? ({ step, done, total }) => {
            const line = `report: ${Math.round((done / total) * 100)}% ${step}`
            io.stderr(io.stderrIsTTY ? `\r\x1b[K${line}${done === total ? '\n' : ''}` : `${line}\n`)
          }
        : undefined,
    })
    // HTML: a finding links to the console (`{id}`), by default relative to the serving host.
    const body = renderReport(report, request.data.format, {
      findingLink,
    })
    if (values.out === undefined) io.stdout(body)
    else {
      try {
        writeFileSync(values.out, body)
      } catch (err) {
        io.stderr(
          `audtrail report: cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? 'error'}\n`,
        )
        return 1
      }
      if (showProgress) io.stderr(`report: wrote ${values.out}\n`)
    }
    return 0
  } finally {
    await storage.close()
  }
}
