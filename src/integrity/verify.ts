/**
 * `audtrail verify` and `GET /v1/integrity` (docs/integrity.md): walk a tenant's chains in order,
 * a page of positions at a time, against its signed checkpoints, and name every row that was
 * edited, deleted, inserted or cut off the tail: its chain, position and event id. Memory is
 * bounded by a page (and the issues kept, at most `maxIssues`; the counts go on).
 */
import type { KeyObject } from 'node:crypto'
import type { IntegrityStore } from '../storage/integrity-store.js'
import {
  canonicalRow,
  CHAIN_COLUMNS,
  GENESIS,
  linkHash,
  sha256Hex,
} from '../storage/integrity-chain.js'
import { checkpointDigest, openCheckpoint } from './checkpoint.js'

export type IssueKind =
  | 'edited'
  | 'deleted'
  | 'inserted'
  | 'truncated'
  | 'unchained'
  | 'checkpoint_invalid'
  | 'checkpoint_missing'
  /** A line of an export file that is not a row, a checkpoint or the header, or out of order. */
  | 'malformed'

export interface IntegrityIssue {
  kind: IssueKind
  chain?: string
  /** The position (or the first of a range). */
  position?: number
  /** The last position of a range (deleted, truncated). */
  to?: number
  event_id?: string
  writer?: string
  checkpoint?: number
  /** The line of an export file (offline verification). */
  line?: number
  detail: string
}

export interface ChainReport {
  chain: string
  /** Physical rows read. */
  rows: number
  /** Highest position stored. */
  last_position: number
  /** Size the newest valid checkpoint signs (0: none). */
  attested: number
  /** Positions stored past the newest checkpoint: not yet vouched for by a signature. */
  unattested: number
}

export interface IntegrityReport {
  tenant: string
  ok: boolean
  checked_at: string
  elapsed_ms: number
  rows_read: number
  checkpoints: { valid: number; invalid: number }
  chains: ChainReport[]
  unchained: number
  issues_total: number
  /** The first `maxIssues` issues, in the order found. */
  issues: IntegrityIssue[]
  warnings: string[]
}

export interface VerifyOptions {
  /** Trusted verifying keys by kid (trustedKeys()). */
  keys: ReadonlyMap<string, KeyObject>
  /** Checkpoint JWSs kept outside audtrail (the file or webhook copies): each must be stored too. */
  external?: readonly string[]
  /** Positions per page (default 5 000). */
  pageSize?: number
  /** Issues kept in the report (default 1 000); the count goes on. */
  maxIssues?: number
  /** Rows past the newest checkpoint count as issues (inserted) instead of unattested. */
  strict?: boolean
  clock?: () => number
  /**
   * Walk only these chains, each from position `from` (an export of a period, src/exports/events.ts):
   * its first row's previous link is taken as given, and positions before `from` are not missing.
   * The rows from `from` to a signed head are proved by the links that end at it.
   */
  windows?: ReadonlyMap<string, { from: number }>
}

const CHAIN_SET = new Set<string>(CHAIN_COLUMNS)

interface Judged {
  row: Record<string, unknown>
  eventId: string
  hash: string
  prev: string
  digest: string
  valid: boolean
}

function judge(chain: string, position: number, row: Record<string, unknown>): Judged {
  const content: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) if (!CHAIN_SET.has(k)) content[k] = v
  const digest = sha256Hex(canonicalRow(content))
  const prev = String(row.chain_prev ?? '')
  const hash = String(row.chain_hash ?? '')
  return {
    row,
    eventId: String(row.event_id),
    hash,
    prev,
    digest,
    valid: linkHash(chain, position, prev, String(row.received_at), digest) === hash,
  }
}

export async function verifyIntegrity(
  store: IntegrityStore,
  tenant: string,
  options: VerifyOptions,
): Promise<IntegrityReport> {
  const clock = options.clock ?? Date.now
  const started = performance.now()
  const pageSize = Math.max(1, options.pageSize ?? 5_000)
  const maxIssues = options.maxIssues ?? 1_000
  const issues: IntegrityIssue[] = []
  let issuesTotal = 0
  const warnings: string[] = []
  const report = (issue: IntegrityIssue) => {
    issuesTotal++
    if (issues.length < maxIssues) issues.push(issue)
  }

  // 1. The checkpoints: stored, and the external copies (each must be stored as well).
  const stored = await store.checkpoints(tenant)
  const storedJws = new Set(stored.map((c) => c.jws))
  const all: { jws: string; writer?: string; seq?: number }[] = [
    ...stored.map((c) => ({ jws: c.jws, writer: c.writer, seq: c.seq })),
    ...(options.external ?? []).filter((j) => !storedJws.has(j)).map((jws) => ({ jws })),
  ]
  const attested = new Map<string, Map<number, string>>()
  const byWriter = new Map<string, Map<number, { previous: string; digest: string }>>()
  let valid = 0
  let invalid = 0
  if (options.keys.size === 0)
    warnings.push('no trusted checkpoint keys: checkpoints are not checked, truncation is not seen')
  else
    for (const c of all) {
      const opened = await openCheckpoint(c.jws, options.keys)
      if (!opened.ok || opened.checkpoint.tenant !== tenant) {
        invalid++
        report({
          kind: 'checkpoint_invalid',
          writer: c.writer,
          checkpoint: c.seq,
          detail: opened.ok ? 'a checkpoint of another tenant' : opened.problem,
        })
        continue
      }
      valid++
      const cp = opened.checkpoint
      if (!storedJws.has(c.jws))
        report({
          kind: 'checkpoint_missing',
          writer: cp.writer,
          checkpoint: cp.seq,
          detail: 'a checkpoint kept outside audtrail is missing from ClickHouse (deleted)',
        })
      const seqs = byWriter.get(cp.writer) ?? new Map()
      seqs.set(cp.seq, { previous: cp.previous, digest: checkpointDigest(c.jws) })
      byWriter.set(cp.writer, seqs)
      for (const h of cp.chains) {
        const sizes = attested.get(h.chain) ?? new Map<number, string>()
        sizes.set(h.size, h.head)
        attested.set(h.chain, sizes)
      }
    }
  // Each writer's checkpoints are numbered from 1, each naming the digest of the one before.
  for (const [writer, seqs] of byWriter) {
    const top = Math.max(...seqs.keys())
    for (let s = 1; s <= top; s++) {
      const c = seqs.get(s)
      if (!c) {
        report({
          kind: 'checkpoint_missing',
          writer,
          checkpoint: s,
          detail: 'a checkpoint between two others is missing',
        })
        continue
      }
      const before = s === 1 ? GENESIS : seqs.get(s - 1)?.digest
      if (before !== undefined && c.previous !== before)
        report({
          kind: 'checkpoint_invalid',
          writer,
          checkpoint: s,
          detail: 'its previous digest is not the digest of the checkpoint before it',
        })
    }
  }

  // 2. The chains stored, and those only a checkpoint knows of (deleted whole).
  const chains = await store.chains(tenant)
  const storedChains = new Map(chains.map((c) => [c.chain_id, c]))
  const unchained = storedChains.get('')?.rows ?? 0
  if (unchained > 0) {
    for (const r of await store.unchained(tenant, Math.max(0, Math.min(maxIssues, 1000))))
      report({
        kind: 'unchained',
        event_id: r.id,
        detail: 'no chain vouches for this row (stored without a link, or inserted by hand)',
      })
    issuesTotal += Math.max(0, unchained - Math.min(maxIssues, 1000))
  }
  const windows = options.windows
  const names = (
    windows ? [...windows.keys()] : [...new Set([...storedChains.keys(), ...attested.keys()])]
  )
    .filter((c) => c !== '')
    .sort()
  let rowsRead = 0
  const chainReports: ChainReport[] = []

  for (const chain of names) {
    const sizes = attested.get(chain) ?? new Map<number, string>()
    const attestedSize = sizes.size > 0 ? Math.max(...sizes.keys()) : 0
    const until = Math.max(storedChains.get(chain)?.last_seq ?? 0, attestedSize)
    const from = Math.max(1, windows?.get(chain)?.from ?? 1)
    let rows = 0
    let last = from - 1
    let expected = from
    let prevHash = GENESIS
    let prevEvent: string | undefined
    let prevValid = true
    // A window's first row links to a row outside it: its previous link is not judged.
    let resync = from > 1
    let pending: { position: number; judged: Judged[] } | undefined

    /** Settle the group at one position, knowing the previous links of the next one. */
    const settle = (group: { position: number; judged: Judged[] }, nextPrevs?: Set<string>) => {
      const { position, judged } = group
      if (position > expected) {
        report({
          kind: 'deleted',
          chain,
          position: expected,
          to: position - 1,
          detail: `${position - expected} row(s) missing between positions ${expected - 1} and ${position}`,
        })
        resync = true
      }
      const head = sizes.get(position)
      const candidates = judged.filter((j) => j.valid)
      const genuine =
        (head !== undefined ? candidates.find((j) => j.hash === head) : undefined) ??
        (nextPrevs ? candidates.find((j) => nextPrevs.has(j.hash)) : undefined) ??
        candidates.find((j) => j.prev === prevHash) ??
        candidates[0] ??
        judged[0]!
      for (const j of judged) {
        if (j === genuine) continue
        // The same row twice (an insert that landed twice, not yet merged): nothing wrong.
        if (j.valid && j.hash === genuine.hash && j.digest === genuine.digest) continue
        report({
          kind: j.eventId === genuine.eventId ? 'edited' : 'inserted',
          chain,
          position,
          event_id: j.eventId,
          detail:
            j.eventId === genuine.eventId
              ? 'a second, different copy of this row'
              : 'a second row at this position: it is not the one the chain links',
        })
      }
      if (!genuine.valid)
        report({
          kind: 'edited',
          chain,
          position,
          event_id: genuine.eventId,
          detail: "the row's link does not match its content and position",
        })
      else if (genuine.prev !== prevHash && !resync && prevValid && position > 1)
        // A valid link naming another previous row: the row before was replaced, link and all.
        report({
          kind: 'edited',
          chain,
          position: position - 1,
          event_id: prevEvent,
          detail: 'replaced with a recomputed link: the next row links to another one',
        })
      if (head !== undefined && genuine.hash !== head && genuine.valid)
        report({
          kind: 'edited',
          chain,
          position,
          event_id: genuine.eventId,
          detail:
            'differs from the head a signed checkpoint holds (the chain was rewritten up to here)',
        })
      prevHash = genuine.hash
      prevEvent = genuine.eventId
      prevValid = genuine.valid
      resync = !genuine.valid
      expected = position + 1
      last = position
    }

    for (let after = from - 1; after < until; after += pageSize) {
      const page = await store.chainPage(tenant, chain, after, Math.min(until, after + pageSize))
      rows += page.length
      let i = 0
      while (i < page.length) {
        const position = Number(page[i]!.chain_seq)
        const judged: Judged[] = []
        for (; i < page.length && Number(page[i]!.chain_seq) === position; i++)
          judged.push(judge(chain, position, page[i]!))
        if (pending)
          settle(
            pending,
            position === pending.position + 1 ? new Set(judged.map((j) => j.prev)) : undefined,
          )
        pending = { position, judged }
      }
    }
    if (pending) settle(pending)
    rowsRead += rows
    if (last < attestedSize)
      report({
        kind: 'truncated',
        chain,
        position: last + 1,
        to: attestedSize,
        detail: `${attestedSize - last} row(s) a signed checkpoint holds are gone from the end of the chain`,
      })
    const unattested = Math.max(0, last - Math.max(attestedSize, from - 1))
    if (options.strict && unattested > 0)
      report({
        kind: 'inserted',
        chain,
        position: Math.max(attestedSize, from - 1) + 1,
        to: last,
        detail: 'rows no signed checkpoint vouches for (strict)',
      })
    chainReports.push({ chain, rows, last_position: last, attested: attestedSize, unattested })
  }

  return {
    tenant,
    ok: issuesTotal === 0,
    checked_at: new Date(clock()).toISOString(),
    elapsed_ms: Math.round(performance.now() - started),
    rows_read: rowsRead,
    checkpoints: { valid, invalid },
    chains: chainReports,
    unchained,
    issues_total: issuesTotal,
    issues,
    warnings,
  }
}
