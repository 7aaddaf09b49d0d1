/**
 * `audtrail export events --tenant T [--since TIME] [--until TIME] [--format ndjson|ocsf] [--out FILE]
 * [--page-size N] [--data-dir DIR]`: the tenant's stored events received in the period, each with
 * its chain link, and the signed checkpoints covering them, for offline verification
 * (`audtrail verify --file`; src/exports/events.ts, docs/integrity.md#exporting-with-integrity).
 *
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
import { z } from 'zod'
import { TenantParam, TimeParam, tenantOf, timeMs } from '../api/params.js'
import { ExportQuery, findingPages } from '../api/routes/findings-export.js'
import { loadConfig } from '../config.js'
import { PRODUCER } from '../exports/finding.js'
import { EVENTS_EXPORT_FORMATS, eventsExportChunks } from '../exports/events.js'
import { EXPORT_FORMATS, exportChunks } from '../exports/stream.js'
import { createLogger } from '../logger.js'
import type { Storage } from '../storage/client.js'
import { createPeriodChains } from '../storage/integrity-export.js'
import { createIntegrityStore } from '../storage/integrity-store.js'
import { openStorage, prepareStorage } from './runtime.js'

/** The filter flags: every field of the API's export query but the tenant and the format. */
const FILTERS = Object.keys(ExportQuery.shape).filter((k) => k !== 'tenant' && k !== 'format')

/** The events export's flags (beside --out and --data-dir, which every export takes). */
export const EventsQuery = z.strictObject({
  tenant: TenantParam.optional(),
  since: TimeParam.optional().describe('received_at from (inclusive)'),
  until: TimeParam.optional().describe('received_at until (exclusive)'),
  format: z.enum(EVENTS_EXPORT_FORMATS).default('ndjson'),
  'page-size': z.coerce.number().int().min(1).max(1_000_000).optional(),
})

export const EXPORT_USAGE =
  `audtrail export findings --format ${EXPORT_FORMATS.join('|')} [--out FILE] [--tenant T] ` +
  `${FILTERS.map((f) => `[--${f} V]`).join(' ')} [--data-dir DIR]\n` +
  `       audtrail export events --tenant T [--since TIME] [--until TIME] [--format ${EVENTS_EXPORT_FORMATS.join('|')}] ` +
  `[--out FILE] [--page-size N] [--data-dir DIR]`

/** The flags of every export, by name: each subcommand validates those it takes. */
const OPTIONS = Object.fromEntries(
  ['out', 'data-dir', ...new Set([...FILTERS, ...Object.keys(EventsQuery.shape)]), 'format'].map(
    (f) => [f, { type: 'string' as const }],
  ),
)

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

/** The flags a schema validates, or the usage error (`--flag: problem; ...`). */
function validated<T extends z.ZodType>(
  schema: T,
  fields: Record<string, string | undefined>,
): { ok: true; data: z.output<T> } | { ok: false; problem: string } {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  )
  if (parsed.success) return { ok: true, data: parsed.data }
  return {
    ok: false,
    problem: parsed.error.issues
      .map((i) =>
        i.code === 'unrecognized_keys'
          ? i.keys.map((k) => `--${k}: not a flag of this export`).join('; ')
          : `--${i.path.join('.')}: ${i.message}`,
      )
      .join('; '),
  }
}

/** Write an export's chunks to FILE, or to stdout; 1 when the file cannot be written. */
async function write(chunks: AsyncIterable<string>, out: string | undefined, io: ExportIo) {
  const stream = Readable.from(chunks)
  if (out === undefined) {
    await pipeline(stream, io.stdout, { end: false })
    return 0
  }
  try {
    await pipeline(stream, createWriteStream(out))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === undefined || !/^E[A-Z]+$/.test(code)) throw err
    io.stderr(`audtrail export: cannot write ${out}: ${code}\n`)
    return 1
  }
  return 0
}

export async function runExport(
  args: string[],
  env: NodeJS.ProcessEnv,
  io: ExportIo = processIo,
): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options: OPTIONS })
  } catch (err) {
    return usage(io, err instanceof Error ? err.message : String(err))
  }
  const { values, positionals } = parsed
  const what = positionals.join(' ')
  if (what !== 'findings' && what !== 'events')
    return usage(io, 'what to export: findings or events')
  const { out, 'data-dir': dataDir, ...fields } = values as Record<string, string | undefined>
  const query = validated(what === 'events' ? EventsQuery : ExportQuery, fields)
  if (!query.ok) return usage(io, query.problem)
  // The command line acts for any tenant it names (it holds the storage credentials).
  const tenant = tenantOf(
    { subject: 'cli', roles: [] },
    (query.data as { tenant?: string }).tenant ?? 'default',
  )
  const storage = await (io.storage ?? configuredStorage)(env, dataDir)
  try {
    if (what === 'events') {
      const q = query.data as z.output<typeof EventsQuery>
      const chunks = eventsExportChunks(
        createIntegrityStore(storage),
        createPeriodChains(storage),
        tenant,
        {
          since: timeMs(q.since),
          until: timeMs(q.until),
          pageSize: q['page-size'],
          format: q.format,
        },
      )
      return await write(chunks, out, io)
    }
    const { format, ...filter } = query.data as z.output<typeof ExportQuery>
    return await write(
      exportChunks(findingPages(storage, tenant, filter), format, PRODUCER),
      out,
      io,
    )
  } finally {
    await storage.close()
  }
}
