/**
 * HTTP ingest of a large request without holding the event loop: the pipeline's own `ingest` (the
 * same per-event answers) run over slices of the request, each slice's validation a turn of its
 * own (`setImmediate` between slices lets other requests' I/O and timers run), and the valid
 * events written in parts of a few thousand (encoding the insert and running the event rules are
 * work on this thread too, in proportion to the events written at once).
 *
 * Measured on 10 000 benign events of 680 bytes (CPU time of this thread, 2 cores): validation
 * 190 to 250 ms, encoding 45 ms, the event rules 50 ms, cutting the body 15 to 20 ms. A worker
 * thread was looked at and does not pay here: a structured clone of the 10 000 validated rows to
 * come back costs 120 to 240 ms, as much as the validation it would move (the Kafka consumer's
 * worker sends back encoded inserts instead, and runs the rules there, which HTTP ingest's
 * in-process detector does not). Each write costs about 60 ms of CPU (the stored-ids lookup, the
 * insert and its rollups), so the writes are kept few.
 *
 * Sizes, from bench:fairness (a tenant posting 10 000-event bodies at its 5 000 events a second
 * while another lists its findings; that tenant's p95 against its quiet p95, two runs each): 500
 * events a slice and 2 500 a write, 2.19x and 5.43x (stalls of the event loop up to 204 and
 * 503 ms); 200 and 1 000, 1.43x and 1.48x; 100 and 1 000, 1.03x and 1.45x; 100 and 2 000, 1.45x
 * and 1.55x (stalls up to 72 ms), as good and with half the writes. Cutting a 10 000-event request
 * into slices of 100 costs no CPU that shows (176 against 187 to 218 ms, noise of the same size).
 *
 * The answers are those of one `ingest` over the whole request: an event whose id came earlier in
 * the request, in an earlier part, is stored by then and answered `duplicate`. A write that fails
 * fails the request (503) with the earlier parts stored: a retry has them answered `duplicate`,
 * as for a write whose acknowledgement was lost.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import {
  ingest,
  type Accepted,
  type IngestContext,
  type IngestItem,
  type IngestResult,
  type IngestTarget,
  type IngestWritten,
  type Rejected,
} from '../pipeline/ingest.js'

export interface Slicing {
  /** Events validated in one turn of the event loop. */
  slice: number
  /** Events written at once (a multiple of `slice` is best). */
  write: number
}

export const DEFAULT_SLICING: Slicing = { slice: 100, write: 2000 }

/** `ingest(items, ctx, target)`, in slices; `slicing` false: in one piece, as `ingest` does. */
export async function ingestInSlices(
  items: readonly IngestItem[],
  ctx: IngestContext,
  target: IngestTarget,
  slicing: Slicing | false = DEFAULT_SLICING,
): Promise<IngestResult[]> {
  if (!slicing || items.length <= slicing.slice) return ingest(items, ctx, target)
  const slice = Math.max(1, Math.floor(slicing.slice))
  const write = Math.max(slice, Math.floor(slicing.write))
  // Each item keeps its position in the request as its index, whichever part it is in (items
  // of a body have theirs already: they are not copied).
  const indexed = items.map((item, position) =>
    item.index === undefined ? { ...item, index: position } : item,
  )
  const results: IngestResult[] = []
  for (let start = 0; start < indexed.length; start += write) {
    const part = indexed.slice(start, start + write)
    results.push(...(await writePart(part, ctx, target, slice)))
    if (start + write < indexed.length) await nextTurn()
  }
  return results
}

/** A slice's share of one write: what it handed over, and where its answer goes. */
interface Share {
  offset: number
  count: number
  answer: (written: IngestWritten | void) => void
  fail: (err: unknown) => void
}

/**
 * One write of `part`'s valid events, validated a slice per turn: each slice's `ingest` gets a
 * target that keeps its events and hands back, once the part is written, the duplicates among them.
 */
async function writePart(
  part: readonly IngestItem[],
  ctx: IngestContext,
  target: IngestTarget,
  slice: number,
): Promise<IngestResult[]> {
  const accepted: Accepted[] = []
  const rejected: Rejected[] = []
  const shares: Share[] = []
  const answers: Promise<IngestResult[]>[] = []
  for (let start = 0; start < part.length; start += slice) {
    let handedOver!: () => void
    const validated = new Promise<void>((resolve) => (handedOver = resolve))
    const collect: IngestTarget = {
      write(a, r) {
        const share = { offset: accepted.length, count: a.length } as Share
        accepted.push(...a)
        rejected.push(...r)
        shares.push(share)
        handedOver()
        return new Promise<IngestWritten | void>((resolve, reject) => {
          share.answer = resolve
          share.fail = reject
        })
      },
    }
    const answer = ingest(part.slice(start, start + slice), ctx, collect)
    answers.push(answer)
    // Validated once it hands its events over (or it failed: the await of answers says how).
    await Promise.race([
      validated,
      answer.then(
        () => {},
        () => {},
      ),
    ])
    await nextTurn()
  }
  let written: IngestWritten | void
  try {
    written = await target.write(accepted, rejected)
  } catch (err) {
    for (const share of shares) share.fail(err)
    await Promise.allSettled(answers)
    throw err
  }
  const duplicates = written?.duplicates ?? []
  for (const share of shares) {
    const own = duplicates
      .filter((i) => i >= share.offset && i < share.offset + share.count)
      .map((i) => i - share.offset)
    share.answer({ duplicates: own })
  }
  return (await Promise.all(answers)).flat()
}
