/**
 * Offline verification of an events export (`audtrail verify --file`, src/exports/events.ts):
 * the export file read as an IntegrityStore, walked by the same verifier as the database
 * (verify.ts), each chain from the first position the export holds. No database is opened.
 *
 * The file is read twice, line by line, never whole: once for its header, checkpoints and the
 * rows' order, then as the verifier asks for pages (it asks in chain order, which is the file's).
 * A line that is not JSON, not a row of a listed chain, or out of chain order is reported
 * `malformed` with its line number and left out of the walk (the positions it held then show as
 * deleted).
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { EventsExportHeader } from './events.js'
import { ocsfEvent, rowOfOcsf } from './events-ocsf.js'
import type { IntegrityStore, StoredCheckpoint } from '../storage/integrity-store.js'
import {
  verifyIntegrity,
  type IntegrityIssue,
  type IntegrityReport,
  type VerifyOptions,
} from '../integrity/verify.js'

/** Not an events export at all (its first line is not the header). */
export class NotAnExport extends Error {}

interface FileRow {
  chain: number
  seq: number
  row: Record<string, unknown>
}

async function* lines(path: string): AsyncGenerator<[number, string]> {
  const input = createReadStream(path, { encoding: 'utf8' })
  const rl = createInterface({ input, crlfDelay: Infinity })
  let n = 0
  try {
    for await (const line of rl) yield [++n, line]
  } finally {
    rl.close()
    input.destroy()
  }
}

function parseHeader(line: string | undefined): EventsExportHeader {
  try {
    const h = (JSON.parse(line ?? '') as { audtrail_export?: EventsExportHeader }).audtrail_export
    if (h && typeof h.tenant === 'string' && Array.isArray(h.chains)) return h
  } catch {
    // reported below
  }
  throw new NotAnExport('line 1 is not the header of an audtrail events export')
}

/**
 * The rows of the file in chain order, each parsed; every other line (header, checkpoints) is
 * handed to `other`, and every malformed one to `problem`.
 */
async function* rowsOf(
  path: string,
  order: ReadonlyMap<string, number>,
  problem: (line: number, detail: string, edited?: Record<string, unknown>) => void,
  other: (line: number, value: Record<string, unknown>) => void = () => {},
): AsyncGenerator<FileRow> {
  let last = { chain: -1, seq: 0 }
  for await (const [n, text] of lines(path)) {
    if (n === 1 || text.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      problem(n, 'not a JSON line')
      continue
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problem(n, 'not a JSON object')
      continue
    }
    let row = value as Record<string, unknown>
    if ('audtrail_checkpoint' in row || 'audtrail_export' in row) {
      other(n, row)
      continue
    }
    if ('class_uid' in row) {
      // An OCSF line: the row it carries, and every other attribute must be that row's mapping.
      const carried = rowOfOcsf(row)
      if (!carried) {
        problem(n, 'an OCSF line without the stored row it maps')
        continue
      }
      if (JSON.stringify(ocsfEvent(carried.row, carried.producer)) !== text.trim())
        problem(
          n,
          'its OCSF attributes are not the mapping of the stored row it carries',
          carried.row,
        )
      row = carried.row
    }
    const chain = order.get(String(row.chain_id))
    const seq = Number(row.chain_seq)
    if (chain === undefined || !Number.isSafeInteger(seq) || seq < 1) {
      problem(n, 'a row of no chain the header lists')
      continue
    }
    if (chain < last.chain || (chain === last.chain && seq < last.seq)) {
      problem(n, 'a row out of chain order')
      continue
    }
    last = { chain, seq }
    yield { chain, seq, row }
  }
}

export interface ExportFile {
  header: EventsExportHeader
  store: IntegrityStore
  windows: Map<string, { from: number }>
  /** The malformed lines (the first `maxIssues`) and how many there were. */
  problems: IntegrityIssue[]
  problemsTotal: number
}

/** Read an export's header, checkpoints and order; the store then serves its rows. */
export async function openExportFile(path: string, maxIssues = 1_000): Promise<ExportFile> {
  let first: string | undefined
  for await (const [, text] of lines(path)) {
    first = text
    break
  }
  const header = parseHeader(first)
  const names = header.chains.map((c) => c.chain).sort()
  const order = new Map(names.map((c, i) => [c, i]))
  const windows = new Map(header.chains.map((c) => [c.chain, { from: Math.max(1, c.from) }]))
  const problems: IntegrityIssue[] = []
  let problemsTotal = 0
  const problem = (line: number, detail: string, edited?: Record<string, unknown>) => {
    problemsTotal++
    if (problems.length < maxIssues)
      problems.push(
        edited
          ? {
              kind: 'edited',
              line,
              chain: String(edited.chain_id),
              position: Number(edited.chain_seq),
              event_id: String(edited.event_id),
              detail,
            }
          : { kind: 'malformed', line, detail },
      )
  }
  const checkpoints: StoredCheckpoint[] = []
  const stats = new Map<string, { rows: number; last_seq: number }>()
  const other = (line: number, value: Record<string, unknown>) => {
    const c = value.audtrail_checkpoint as Partial<StoredCheckpoint> | undefined
    if (c && typeof c.writer === 'string' && typeof c.seq === 'number' && typeof c.jws === 'string')
      checkpoints.push({ writer: c.writer, seq: c.seq, jws: c.jws })
    else problem(line, 'not a checkpoint record')
  }
  for await (const r of rowsOf(path, order, problem, other)) {
    const s = stats.get(names[r.chain]!) ?? { rows: 0, last_seq: 0 }
    s.rows++
    s.last_seq = r.seq
    stats.set(names[r.chain]!, s)
  }

  // The rows as the verifier asks for them: in chain order, a page at a time, from one reader
  // (started again only if asked out of order).
  let reader: AsyncGenerator<FileRow> | undefined
  let peeked: FileRow | undefined
  let at = { chain: -1, after: 0 }
  const next = async () => {
    reader ??= rowsOf(path, order, () => {})
    const r = await reader.next()
    return r.done ? undefined : r.value
  }
  const store: IntegrityStore = {
    chains: async () =>
      names.map((chain_id) => ({
        chain_id,
        rows: stats.get(chain_id)?.rows ?? 0,
        last_seq: stats.get(chain_id)?.last_seq ?? 0,
      })),
    async chainPage(_tenant, chainId, after, until) {
      const chain = order.get(chainId)
      if (chain === undefined) return []
      if (chain < at.chain || (chain === at.chain && after < at.after)) {
        await reader?.return(undefined)
        reader = undefined
        peeked = undefined
      }
      at = { chain, after: until }
      const page: Record<string, unknown>[] = []
      for (;;) {
        const r = peeked ?? (await next())
        peeked = undefined
        if (!r) break
        if (r.chain < chain || (r.chain === chain && r.seq <= after)) continue
        if (r.chain > chain || r.seq > until) {
          peeked = r
          break
        }
        page.push(r.row)
      }
      return page
    },
    unchained: async () => [],
    checkpoints: async () => checkpoints,
    writeCheckpoint: async () => {
      throw new Error('an export file is read only')
    },
  }
  return { header, store, windows, problems, problemsTotal }
}

/**
 * Verify an export file offline: its rows against its checkpoints (and `options.external`, the
 * checkpoint copies the auditor holds), with the trusted keys. The malformed lines come first.
 */
export async function verifyExportFile(
  path: string,
  options: VerifyOptions & { tenant?: string },
): Promise<IntegrityReport> {
  const file = await openExportFile(path, options.maxIssues)
  if (options.tenant !== undefined && options.tenant !== file.header.tenant)
    throw new NotAnExport(`the export is of tenant ${file.header.tenant}, not ${options.tenant}`)
  const report = await verifyIntegrity(file.store, file.header.tenant, {
    ...options,
    windows: file.windows,
  })
  const issues = [...file.problems, ...report.issues].slice(0, options.maxIssues ?? 1_000)
  const total = report.issues_total + file.problemsTotal
  return { ...report, ok: total === 0, issues_total: total, issues }
}
