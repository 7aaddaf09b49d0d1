/**
 * The writer's side of the chain: it gives each new event of an insert its link, in the order
 * the sink inserts them, and knows the heads its acknowledged inserts reached (what a checkpoint
 * may sign). One Chainer per writing process run: its chains are `<source>/<writer>`, a source
 * being a Kafka partition (`kafka:<topic>:<partition>`) or `http`, so no two processes ever
 * extend one chain (a partition that moves to another member, or a restarted process, starts a
 * chain of its own; the checkpoints list them all).
 *
 * The sink calls link() only for the events its lookup found new, under its lock, right before
 * journaling the insert: the link is decided in the step that decides the row is new, and it is
 * inside the insert's bytes, so an insert sent again from the journal carries the same links and
 * a redelivered event (found stored) gets none.
 */
import { randomBytes } from 'node:crypto'
import type { EventsInsert } from '../storage/events-store.js'
import { CHAIN_COLUMNS, eventDigest, GENESIS, linkHash } from '../storage/integrity-chain.js'

export interface ChainHead {
  chain: string
  /** Events in the chain (the head's position). */
  size: number
  head: string
  /** received_at of its first and last event (DateTime64 text, UTC). */
  first_received_at: string
  last_received_at: string
}

interface ChainState {
  tenant: string
  chain: string
  seq: number
  head: string
  first: string
  last: string
}

/** The links one insert took, to acknowledge or take back. */
export interface InsertLinks {
  /** Per chain state before and after the insert. */
  readonly changes: ReadonlyArray<{
    key: string
    before: ChainState | undefined
    after: ChainState
  }>
  readonly events: number
}

const LINE_FEED = 0x0a
/** received_at's DateTime64 text, quoted at the start of every encoded line. */
const RECEIVED_AT_BYTES = 23

/** A writer id: the start time and random bits (unique per process run). */
export function newWriterId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')
  return `w${stamp}-${randomBytes(4).toString('hex')}`
}

export class Chainer {
  readonly writer: string
  /** Where links were given (acknowledged or not). */
  readonly #current = new Map<string, ChainState>()
  /** Where acknowledged inserts reached: what checkpoints sign. */
  readonly #committed = new Map<string, ChainState>()
  #acknowledged = 0

  constructor(writer = newWriterId()) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(writer)) throw new TypeError(`not a writer id: ${writer}`)
    this.writer = writer
  }

  /** The chain id of `source` for this writer. */
  chainOf(source: string): string {
    if (!/^[A-Za-z0-9._:-]{1,200}$/.test(source))
      throw new TypeError(`not a chain source: ${source}`)
    return `${source}/${this.writer}`
  }

  /**
   * The insert with the chain's columns appended to each line, each line linked in its order to
   * the chain of its tenant and `source`. The state moves on at once (the next insert continues
   * from it); rollback() takes it back when the insert was never journaled nor sent.
   */
  link(insert: EventsInsert, source: string): { insert: EventsInsert; links: InsertLinks } {
    const chain = this.chainOf(source)
    const quotedChain = JSON.stringify(chain)
    const columns = insert.columns
    if (CHAIN_COLUMNS.some((c) => columns.includes(c)))
      throw new Error('events insert: already chained')
    const tenantAt = columns.indexOf('tenant')
    const receivedAt = columns.indexOf('received_at')
    if (tenantAt < 0 || receivedAt < 0) throw new Error('events insert: no tenant or received_at')
    const before = new Map<string, ChainState | undefined>()
    const body = insert.body
    // The lines' tenants and digests as the encoder took them, and received_at read in place at
    // the third byte of each line (ENCODED_COLUMNS); otherwise each line is parsed.
    const fast =
      insert.digests !== undefined && insert.tenants !== undefined && receivedAt === 0
        ? { digests: insert.digests, tenants: insert.tenants }
        : undefined
    const parts: (Buffer | string)[] = []
    let events = 0
    let line = 0
    for (let start = 0; start < body.length;) {
      let end = body.indexOf(LINE_FEED, start)
      if (end < 0) end = body.length
      if (end > start) {
        let tenant: string
        let received: string
        let digest: string
        if (fast) {
          tenant = fast.tenants[line]!
          digest = fast.digests[line]!
          received = body.toString('latin1', start + 2, start + 2 + RECEIVED_AT_BYTES)
        } else {
          const values = JSON.parse(body.toString('utf8', start, end)) as unknown[]
          tenant = String(values[tenantAt])
          received = String(values[receivedAt])
          digest = eventDigest(columns, values)
        }
        const key = `${tenant}\u0000${chain}`
        if (!before.has(key)) before.set(key, this.#current.get(key))
        const state = this.#current.get(key)
        const seq = (state?.seq ?? 0) + 1
        const prev = state?.head ?? GENESIS
        const head = linkHash(chain, seq, prev, received, digest)
        this.#current.set(key, {
          tenant,
          chain,
          seq,
          head,
          first: state?.first ?? received,
          last: received,
        })
        // The line ends with `]`: the chain's values go in front of it.
        const close = body.lastIndexOf(0x5d, end)
        if (close < start) throw new Error('events insert: a line is not a JSON array')
        parts.push(body.subarray(start, close), `,${quotedChain},${seq},"${prev}","${head}"]\n`)
        events++
        line++
      }
      start = end + 1
    }
    const changes = [...before].map(([key, b]) => ({
      key,
      before: b,
      after: this.#current.get(key)!,
    }))
    return {
      insert: {
        columns: [...columns, ...CHAIN_COLUMNS],
        body: Buffer.concat(
          parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)),
        ),
        token: insert.token,
      },
      links: { changes, events },
    }
  }

  /** The insert was never journaled nor sent: its links are given again to the next one. */
  rollback(links: InsertLinks): void {
    for (const { key, before } of links.changes)
      if (before) this.#current.set(key, before)
      else this.#current.delete(key)
  }

  /** The insert was acknowledged: a checkpoint may sign what it reached. */
  acknowledge(links: InsertLinks): void {
    for (const { key, after } of links.changes) {
      const held = this.#committed.get(key)
      if (!held || held.seq < after.seq) this.#committed.set(key, after)
    }
    this.#acknowledged += links.events
  }

  /** Events acknowledged so far. */
  get acknowledged(): number {
    return this.#acknowledged
  }

  /** The acknowledged heads, per tenant. */
  heads(): Map<string, ChainHead[]> {
    const out = new Map<string, ChainHead[]>()
    for (const s of this.#committed.values()) {
      const list = out.get(s.tenant) ?? []
      list.push({
        chain: s.chain,
        size: s.seq,
        head: s.head,
        first_received_at: s.first,
        last_received_at: s.last,
      })
      out.set(s.tenant, list)
    }
    for (const list of out.values()) list.sort((a, b) => (a.chain < b.chain ? -1 : 1))
    return out
  }
}
