/**
 * `audtrail export findings --format ndjson|csv|ocsf|ecs [--out FILE] [--tenant T] [filters]
 * [--data-dir DIR]`: the findings of one tenant from the configured storage, in the format of
 * `GET /v1/findings/export` (the same pages, the same mappings), to stdout or FILE, streamed
 * page by page. The filters are the findings list's query fields as flags (`--rule`, `--severity`,
 * `--status`, `--client`, `--resource`, `--since`, `--until`, ...), validated as the API does.
 * Exit codes: 0 written, 2 usage error, 1 failure (storage, file).
 */
import { createWriteStream } from 'node:fs'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { tenantOf } from '../api/params.js'
import { ExportQuery, findingPages } from '../api/routes/findings-export.js'
import { loadConfig } from '../config.js'
import { PRODUCER } from '../exports/finding.js'
import { EXPORT_FORMATS, exportChunks } from '../exports/stream.js'
import { createLogger } from '../logger.js'
import type { Storage } from '../storage/client.js'
import { openStorage, prepareStorage } from './runtime.js'

/** The filter flags: every field of the API's export query but the tenant and the format. */
const FILTERS = Object.keys(ExportQuery.shape).filter((k) => k !== 'tenant' && k !== 'format')

export const EXPORT_USAGE =
  `audtrail export findings --format ${EXPORT_FORMATS.join('|')} [--out FILE] [--tenant T] ` +
  `${FILTERS.map((f) => `[--${f} V]`).join(' ')} [--data-dir DIR]`

export interface ExportIo {
  stdout: Writable
  stderr: (text: string) => void
  /** The storage of the configuration (tests give their own). */
  storage?: (env: NodeJS.ProcessEnv, dataDir?: string) => Promise<Storage>
}

const processIo: ExportIo = {
  stdout: process.stdout,
  stderr: (text) => process.stderr.write(text),
}

async function configuredStorage(env: NodeJS.ProcessEnv, dataDir?: string): Promise<Storage> {
  const config = loadConfig({ ...env, AUDTRAIL_DATA_DIR: dataDir ?? env.AUDTRAIL_DATA_DIR })
  const storage = openStorage(config)
  await prepareStorage(storage, config, createLogger('silent'))
  return storage
}

function usage(io: ExportIo, problem: string): number {
  io.stderr(`audtrail export: ${problem}\nUsage: ${EXPORT_USAGE}\n`)
  return 2
}

export async function runExport(
  args: string[],
  env: NodeJS.ProcessEnv,
  io: ExportIo = processIo,
): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        'data-dir': { type: 'string' },
        tenant: { type: 'string' },
        format: { type: 'string' },
        ...Object.fromEntries(FILTERS.map((f) => [f, { type: 'string' as const }])),
      },
    })
  } catch (err) {
    return usage(io, err instanceof Error ? err.message : String(err))
  }
  const { values, positionals } = parsed
  if (positionals.join(' ') !== 'findings') return usage(io, 'what to export: findings')
  const { out, 'data-dir': dataDir, ...fields } = values as Record<string, string | undefined>
  const query = ExportQuery.safeParse(
    Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  )
  if (!query.success)
    return usage(
      io,
      query.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '),
    )
  const { format, ...filter } = query.data
  // The command line acts for any tenant it names (it holds the storage credentials).
  const tenant = tenantOf({ subject: 'cli', roles: [] }, filter.tenant ?? 'default')
  const storage = await (io.storage ?? configuredStorage)(env, dataDir)
  try {
    const chunks = Readable.from(
      exportChunks(findingPages(storage, tenant, filter), format, PRODUCER),
    )
    if (out === undefined) {
      await pipeline(chunks, io.stdout, { end: false })
      return 0
    }
    try {
      await pipeline(chunks, createWriteStream(out))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === undefined || !/^E[A-Z]+$/.test(code)) throw err
      io.stderr(`audtrail export: cannot write ${out}: ${code}\n`)
      return 1
    }
    return 0
  } finally {
    await storage.close()
  }
}
