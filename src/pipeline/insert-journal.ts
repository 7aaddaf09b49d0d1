/**
 * The sink's journal of inserts into `events` that were sent and not acknowledged.
 *
 * Why: an insert into `events` is not atomic with the rollups its materialized views feed. The
 * engine commits the `events` part first, then each view's part; an insert that fails in between
 * (a view's error, an outage, or the process killed with SIGKILL in the embedded engine) leaves
 * the events stored and some rollups without them. Looked up again, those events read as stored
 * and were skipped: the rollups lost them for good (seen in the SIGKILL test: 1 688 events of
 * 200 000 missing from client_usage_daily, none from `events`).
 *
 * The repair is to send the very same insert again: same bytes, same deduplication token. With
 * `deduplicate_blocks_in_dependent_materialized_views` each view then checks its own blocks, so the
 * tables that have the part drop the repeat and those that missed it take it (tested against the
 * embedded engine in test/pipeline/insert-journal.test.ts). So an insert is journaled before it
 * is sent and forgotten once acknowledged, and a sink replays what is pending before it looks up
 * stored ids: the inserts of this process that failed, and, read once from the directory, those
 * of a process that died.
 *
 * On disk (`<AUDTRAIL_DATA_DIR>/insert-journal`), an entry is a file written under a temporary
 * name and renamed, so a file is always whole: one JSON header line, then the insert's bytes. A
 * process killed before the rename sent nothing. Files are not fsynced: they outlive the process,
 * not the machine (nor do the embedded engine's own parts). Replaying an entry twice, or while its
 * first insert is still running in another process sharing the directory, is harmless: the
 * deduplication tokens make the repeats no-ops. A replay is exact while its token is within the
 * tables' deduplication window (the last 1 000 inserts per table), which a replay at the next
 * write, or at start, is.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from '../logger.js'
import { EVENT_COLUMNS } from '../events/event-row.js'
import type { EventsInsert } from '../storage/events-store.js'
import { CHAIN_COLUMNS } from '../storage/integrity-chain.js'

export interface JournalEntry {
  readonly insert: EventsInsert
  /** The file holding it, when the journal has a directory. */
  readonly file?: string
  /** Left by an earlier process: its events were never reported to this one's insert observers. */
  readonly earlier?: boolean
}

export interface InsertJournal {
  /** Record an insert about to be sent; on disk before it resolves. */
  begin(insert: EventsInsert): Promise<JournalEntry>
  /** The insert was acknowledged (or replayed): forget it. */
  end(entry: JournalEntry): Promise<void>
  /** The insert failed: replay it before anything else is written. */
  fail(entry: JournalEntry): void
  /** What to replay, oldest first: the first call also reads what an earlier process left. */
  pending(): Promise<JournalEntry[]>
}

const SUFFIX = '.insert'
const TEMPORARY = '.tmp'
/** Renamed to this when its header cannot be read: kept for an operator, never replayed. */
const UNREADABLE = '.unreadable'
const STALE_TEMPORARY_MS = 3_600_000
const LINE_FEED = 0x0a
/** A header is a few kilobytes (the column names); this bounds what is parsed. */
const MAX_HEADER_BYTES = 64 * 1024

// A chained insert carries the chain's columns too (src/integrity/chainer.ts): replayed as it was.
const KNOWN_COLUMNS = new Set<string>([...EVENT_COLUMNS, ...CHAIN_COLUMNS])
const IDENTITY_COLUMNS = ['tenant', 'event_id', 'occurred_at']
const Header = z.strictObject({
  v: z.literal(1),
  table: z.literal('events'),
  columns: z
    .array(z.string().refine((c) => KNOWN_COLUMNS.has(c), 'not a column of events'))
    .max(KNOWN_COLUMNS.size)
    // What a resend reads back from each line for the stored-id filter.
    .refine((c) => IDENTITY_COLUMNS.every((name) => c.includes(name)), 'lacks an identity column'),
  token: z.string().max(256),
})

/**
 * A journal in `dir` (created if missing), or in memory only (a process's own failed inserts).
 * `clock` is for tests.
 */
export function createInsertJournal(
  dir?: string,
  logger?: Logger,
  clock: () => number = Date.now,
): InsertJournal {
  // Event data (no raw tokens, but identities and addresses): readable by this user only.
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 })
  const failed: JournalEntry[] = []
  let readEarlier: Promise<void> | undefined
  let sequence = 0
  // In this journal's file names: its own entries are never read back as another process's.
  const instance = randomBytes(6).toString('hex')

  let swept = clock()

  /**
   * A temporary file is left by a process that died before the rename, so before its insert; a
   * recent one may be another live process's (sharing the directory), still being written.
   */
  async function dropIfStale(file: string): Promise<void> {
    const written = (await stat(file).catch(() => ({ mtimeMs: clock() }))).mtimeMs
    if (clock() - written > STALE_TEMPORARY_MS) await rm(file, { force: true })
  }

  /**
   * Once an hour, at a write: a process restarted soon after a death found the dead one's file
   * too recent to drop, and would otherwise keep it (up to an insert's size) until its own end.
   */
  async function sweepHourly(dir: string): Promise<void> {
    if (clock() - swept < STALE_TEMPORARY_MS) return
    swept = clock()
    // Housekeeping: a failure is logged and the write goes on. This process's own temporary
    // files are never swept: a write may be in flight (and one that fails removes its own).
    const names = await readdir(dir).catch((err: unknown) => {
      logger?.warn({ err: String(err) }, 'insert journal: stale temporary files not swept')
      return []
    })
    for (const name of names)
      if (name.endsWith(TEMPORARY) && !name.includes(`-${instance}-`))
        await dropIfStale(join(dir, name)).catch((err: unknown) =>
          logger?.warn({ file: name, err: String(err) }, 'insert journal: a stale file stays'),
        )
  }

  async function readLeft(): Promise<JournalEntry[]> {
    if (dir === undefined) return []
    const entries: JournalEntry[] = []
    for (const name of (await readdir(dir)).sort()) {
      const file = join(dir, name)
      if (name.endsWith(TEMPORARY)) {
        await dropIfStale(file)
        continue
      }
      if (!name.endsWith(SUFFIX) || name.includes(`-${instance}-`)) continue
      const insert = parseEntry(await readFile(file))
      if (insert) entries.push({ insert, file, earlier: true })
      else {
        logger?.error(
          { file: name },
          'insert journal: an entry cannot be read; renamed, not replayed (its events may be missing from the rollups)',
        )
        await rename(file, `${file}${UNREADABLE}`)
      }
    }
    if (entries.length > 0)
      logger?.warn({ entries: entries.length }, 'insert journal: replaying unacknowledged inserts')
    return entries
  }

  return {
    async begin(insert) {
      if (dir === undefined) return { insert }
      await sweepHourly(dir)
      // Names sort in the order the inserts were begun (time, then this journal's sequence).
      const name = `${clock().toString().padStart(15, '0')}-${instance}-${String(sequence++).padStart(9, '0')}${SUFFIX}`
      const file = join(dir, name)
      const header = JSON.stringify({
        v: 1,
        table: 'events',
        columns: insert.columns,
        token: insert.token,
      })
      try {
        await writeFile(`${file}${TEMPORARY}`, [`${header}\n`, insert.body], { mode: 0o600 })
        await rename(`${file}${TEMPORARY}`, file)
      } catch (err) {
        // Nothing was sent: the write fails and is retried, under a new name.
        await rm(`${file}${TEMPORARY}`, { force: true }).catch(() => {})
        throw err
      }
      return { insert, file }
    },
    async end(entry) {
      const i = failed.indexOf(entry)
      if (i >= 0) failed.splice(i, 1)
      // Gone already when another process sharing the directory replayed it.
      if (entry.file !== undefined) await rm(entry.file, { force: true })
    },
    fail(entry) {
      if (!failed.includes(entry)) failed.push(entry)
    },
    async pending() {
      // Read once, in front of this process's own failures (a failed read is tried again).
      readEarlier ??= readLeft().then(
        (entries) => void failed.unshift(...entries),
        (err: unknown) => {
          readEarlier = undefined
          throw err
        },
      )
      await readEarlier
      return [...failed]
    },
  }
}

/** The insert an entry file holds, or undefined when its header is not one this code wrote. */
function parseEntry(bytes: Buffer): EventsInsert | undefined {
  const end = bytes.indexOf(LINE_FEED)
  if (end < 0 || end > MAX_HEADER_BYTES) return undefined
  let header: unknown
  try {
    header = JSON.parse(bytes.toString('utf8', 0, end))
  } catch {
    return undefined
  }
  const parsed = Header.safeParse(header)
  if (!parsed.success) return undefined
  return { columns: parsed.data.columns, body: bytes.subarray(end + 1), token: parsed.data.token }
}
