/**
 * `audtrail export events` (issue 29 item 4, docs/integrity.md#exporting-with-integrity): a
 * tenant's stored events of a period as NDJSON, each row as stored (`SELECT *`, with its link:
 * chain_id, chain_seq, chain_prev, chain_hash), with the signed checkpoints that cover them, so that
 * the export can be verified offline (`audtrail verify --file`, src/exports/events-file.ts)
 * without a database, by the verifier the database walk uses.
 *
 * The file, one JSON object a line:
 *
 * 1. the header `{"audtrail_export": {...}}`: the tenant, the period, and per chain the positions
 *    exported (`from`..`to`);
 * 2. the checkpoints `{"audtrail_checkpoint": {"writer", "seq", "jws"}}`: for each writer of an
 *    exported chain, its checkpoints from 1 up to the first that covers every exported chain of
 *    the writer (all of them when none does yet);
 * 3. the rows, chain by chain (sorted by id), by position.
 *
 * A chain's rows of the period are one run of positions (`first`..`last`); the export carries them
 * on to the head the included checkpoints sign (`to`, so a few rows past the period may follow),
 * since it is the signed head that proves the rows before it. Memory is bounded by a page of rows.
 */
import { parseCheckpointText, type Checkpoint } from '../integrity/checkpoint.js'
import { ocsfEvent } from './events-ocsf.js'
import { PRODUCER, type Producer } from './finding.js'
import { CANONICAL_FORM } from '../storage/integrity-chain.js'
import type { PeriodChains } from '../storage/integrity-export.js'
import type { IntegrityStore, StoredCheckpoint } from '../storage/integrity-store.js'

export const EVENTS_EXPORT_VERSION = 1

export interface ExportWindow {
  chain: string
  /** The first position exported (the first received in the period). */
  from: number
  /** The last position exported: the last of the period, or the signed head past it. */
  to: number
}

export const EVENTS_EXPORT_FORMATS = ['ndjson', 'ocsf'] as const

export interface EventsExportHeader {
  version: number
  /** ndjson: each row as stored; ocsf: each row as an OCSF API Activity carrying it (events-ocsf.ts). */
  format: (typeof EVENTS_EXPORT_FORMATS)[number]
  tenant: string
  /** The period of received_at, ISO 8601 ([since, until)); absent: unbounded. */
  since?: string
  until?: string
  exported_at: string
  canonical_form: string
  chains: ExportWindow[]
  /** Rows of the period without a link: not exported (nothing vouches for them). */
  unchained: number
}

export type ExportLine =
  { audtrail_export: EventsExportHeader } | { audtrail_checkpoint: StoredCheckpoint }

/** The writer of a chain id (`<source>/<writer>`, docs/integrity.md). */
export const writerOf = (chain: string): string => chain.slice(chain.lastIndexOf('/') + 1)

/** A checkpoint's text read without checking its signature (the verifier checks it). */
function peek(jws: string): Checkpoint | undefined {
  try {
    const payload = Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')
    return parseCheckpointText(payload)
  } catch {
    return undefined
  }
}

/**
 * Which checkpoints an export carries and how far each chain goes: per writer, its checkpoints
 * from 1 to the first covering every exported chain of it (all when none does), and each chain on
 * to the largest size those sign.
 */
export function coverage(
  chains: readonly { chain_id: string; first_seq: number; last_seq: number }[],
  checkpoints: readonly StoredCheckpoint[],
): { windows: ExportWindow[]; checkpoints: StoredCheckpoint[] } {
  const byWriter = new Map<string, { stored: StoredCheckpoint; text?: Checkpoint }[]>()
  for (const stored of checkpoints) {
    const list = byWriter.get(stored.writer) ?? []
    list.push({ stored, text: peek(stored.jws) })
    byWriter.set(stored.writer, list)
  }
  for (const list of byWriter.values()) list.sort((a, b) => a.stored.seq - b.stored.seq)
  const upTo = new Map<string, number>()
  for (const c of chains) {
    const writer = writerOf(c.chain_id)
    const list = byWriter.get(writer) ?? []
    const covering = list.find((x) =>
      x.text?.chains.some((h) => h.chain === c.chain_id && h.size >= c.last_seq),
    )
    const need = covering?.stored.seq ?? list.at(-1)?.stored.seq ?? 0
    upTo.set(writer, Math.max(upTo.get(writer) ?? 0, need))
  }
  const carried: StoredCheckpoint[] = []
  for (const [writer, top] of [...upTo].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    for (const x of byWriter.get(writer) ?? []) if (x.stored.seq <= top) carried.push(x.stored)
  const windows = chains
    .map((c) => {
      let to = c.last_seq
      for (const x of byWriter.get(writerOf(c.chain_id)) ?? [])
        if (x.stored.seq <= (upTo.get(writerOf(c.chain_id)) ?? 0))
          for (const h of x.text?.chains ?? [])
            if (h.chain === c.chain_id) to = Math.max(to, h.size)
      return { chain: c.chain_id, from: c.first_seq, to }
    })
    .sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0))
  return { windows, checkpoints: carried }
}

export interface EventsExportOptions {
  since?: number
  until?: number
  /** Positions read per query (default 5 000). */
  pageSize?: number
  format?: EventsExportHeader['format']
  producer?: Producer
  clock?: () => number
}

/** The export's text, a chunk per page of rows (the header and checkpoints first). */
export async function* eventsExportChunks(
  store: Pick<IntegrityStore, 'chainPage' | 'checkpoints'>,
  periodChains: PeriodChains,
  tenant: string,
  options: EventsExportOptions = {},
): AsyncGenerator<string> {
  const pageSize = Math.max(1, options.pageSize ?? 5_000)
  const inPeriod = await periodChains(tenant, { since: options.since, until: options.until })
  const chained = inPeriod.filter((c) => c.chain_id !== '')
  const { windows, checkpoints } = coverage(chained, await store.checkpoints(tenant))
  const header: EventsExportHeader = {
    version: EVENTS_EXPORT_VERSION,
    format: options.format ?? 'ndjson',
    tenant,
    ...(options.since !== undefined && { since: new Date(options.since).toISOString() }),
    ...(options.until !== undefined && { until: new Date(options.until).toISOString() }),
    exported_at: new Date((options.clock ?? Date.now)()).toISOString(),
    canonical_form: CANONICAL_FORM,
    chains: windows,
    unchained: inPeriod.find((c) => c.chain_id === '')?.rows ?? 0,
  }
  const lines: ExportLine[] = [
    { audtrail_export: header },
    ...checkpoints.map((c) => ({
      audtrail_checkpoint: { writer: c.writer, seq: c.seq, jws: c.jws },
    })),
  ]
  yield lines.map((l) => `${JSON.stringify(l)}\n`).join('')
  const producer = options.producer ?? PRODUCER
  const line =
    header.format === 'ocsf'
      ? (row: Record<string, unknown>) => `${JSON.stringify(ocsfEvent(row, producer))}\n`
      : (row: Record<string, unknown>) => `${JSON.stringify(row)}\n`
  for (const w of windows)
    for (let after = w.from - 1; after < w.to; after += pageSize) {
      const page = await store.chainPage(tenant, w.chain, after, Math.min(w.to, after + pageSize))
      if (page.length > 0) yield page.map(line).join('')
    }
}
