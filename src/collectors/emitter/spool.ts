/** The disk spool: NDJSON segments, append-only, size-capped, replayed in order from a saved position. */
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { parseEvent } from '../../events/parse.js'
import {
  readLines,
  readPosition,
  repairTail,
  SEGMENT_RE,
  segmentPath,
  writePosition,
  type SpoolPosition,
} from './spool-files.js'
import { lockSpool, type SpoolLock } from './spool-lock.js'
import type { OutboundEvent } from './transports/types.js'

export type { SpoolPosition }

export interface SpoolRead {
  items: OutboundEvent[]
  /** lines that were not a valid event (a torn write, a damaged or edited file): skipped */
  corrupt: number
  /** pass to `commit` once `items` are sent */
  next: SpoolPosition
}

/**
 * Events go to `audtrail-spool-<seq>.ndjson` files of about `segmentBytes` each; the replay position
 * is saved in `audtrail-spool.position` (written to a temporary file, then renamed). Fully
 * replayed segments are deleted, so the space used is the pending events plus at most one replayed
 * segment, and all of it stays under `maxBytes` (events that do not fit are refused). Each append
 * is flushed to disk (fdatasync). A torn last line from a crash is cut off when the spool opens;
 * every line read back is validated again. Files are created owner-only (0600, directory 0700).
 */
export class Spool {
  readonly dir: string
  readonly maxBytes: number
  readonly segmentBytes: number
  #segments: { seq: number; size: number }[]
  #position: SpoolPosition
  #lock: SpoolLock
  #tail: { seq: number; handle: FileHandle } | undefined

  private constructor(
    dir: string,
    maxBytes: number,
    segments: { seq: number; size: number }[],
    position: SpoolPosition,
    lock: SpoolLock,
  ) {
    this.dir = dir
    this.maxBytes = maxBytes
    this.segmentBytes = Math.min(8 << 20, Math.max(64 << 10, Math.floor(maxBytes / 8)))
    this.#segments = segments
    this.#position = position
    this.#lock = lock
  }

  /** Opens (creating) the spool in `dir`; `repaired` counts torn lines cut off. Throws when unusable. */
  static async open(dir: string, maxBytes: number): Promise<{ spool: Spool; repaired: number }> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const lock = await lockSpool(dir)
    try {
      const seqs = (await readdir(dir))
        .map((f) => SEGMENT_RE.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .map(Number)
        .sort((a, b) => a - b)
      const saved = await readPosition(dir)
      let position = saved ?? { segment: seqs[0] ?? 1, offset: 0 }
      for (const seq of seqs.filter((s) => s < position.segment)) await rm(segmentPath(dir, seq))
      const segments: { seq: number; size: number }[] = []
      for (const seq of seqs.filter((s) => s >= position.segment))
        segments.push({ seq, size: (await stat(segmentPath(dir, seq))).size })
      if (segments[0] !== undefined && segments[0].seq !== position.segment)
        position = { segment: segments[0].seq, offset: 0 }
      const last = segments.at(-1)
      const repaired = last === undefined ? 0 : await repairTail(dir, last)
      if (segments[0] !== undefined) position.offset = Math.min(position.offset, segments[0].size)
      return { spool: new Spool(dir, maxBytes, segments, position, lock), repaired }
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  /** Bytes on disk (pending events plus the replayed part of the first segment). */
  get totalBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0)
  }

  get hasPending(): boolean {
    return this.totalBytes - (this.#segments.length > 0 ? this.#position.offset : 0) > 0
  }

  /** Appends as many of `items` as fit under `maxBytes`, in order; returns how many were written. */
  async append(items: readonly OutboundEvent[]): Promise<number> {
    let room = this.maxBytes - this.totalBytes
    const lines: Buffer[] = []
    for (const item of items) {
      const line = Buffer.from(`${item.json}\n`)
      if (line.length > room) break
      lines.push(line)
      room -= line.length
    }
    // Fill the last segment up to `segmentBytes`, then start the next one.
    for (let i = 0; i < lines.length;) {
      const tail = await this.#tailFor()
      const segment = this.#segments.at(-1)!
      let bytes = 0
      let j = i
      while (
        j < lines.length &&
        (j === i || segment.size + bytes + lines[j]!.length <= this.segmentBytes)
      )
        bytes += lines[j++]!.length
      try {
        await write(tail.handle, segment, Buffer.concat(lines.slice(i, j), bytes))
      } catch (err) {
        // What is already on disk stays there (and counts); the caller keeps the rest.
        if (i === 0) throw err
        return i
      }
      i = j
    }
    return lines.length
  }

  /** Reads up to `max` events from the saved position, without consuming them. */
  async read(max: number): Promise<SpoolRead> {
    let { segment: seq, offset } = this.#position
    let index = this.#segments.findIndex((s) => s.seq === seq)
    while (
      index >= 0 &&
      offset >= this.#segments[index]!.size &&
      index + 1 < this.#segments.length
    ) {
      index += 1
      seq = this.#segments[index]!.seq
      offset = 0
    }
    const segment = this.#segments[index]
    if (segment === undefined || offset >= segment.size)
      return { items: [], corrupt: 0, next: { segment: seq, offset } }
    const { lines, end } = await readLines(segmentPath(this.dir, seq), offset, segment.size, max)
    // The file is shorter than we wrote (truncated behind our back): what is gone is gone.
    if (end === offset) segment.size = offset
    const items: OutboundEvent[] = []
    let corrupt = 0
    for (const line of lines) {
      const parsed = safeParse(line)
      if (parsed === undefined) corrupt += 1
      else items.push(parsed)
    }
    return { items, corrupt, next: { segment: seq, offset: end } }
  }

  /** Marks everything before `next` as replayed; deletes segments that are done. */
  async commit(next: SpoolPosition): Promise<void> {
    const last = this.#segments.at(-1)
    const drained = last !== undefined && next.segment === last.seq && next.offset >= last.size
    const position = drained ? { segment: last.seq + 1, offset: 0 } : next
    await writePosition(this.dir, position)
    this.#position = position
    const done = this.#segments.filter((s) => s.seq < position.segment)
    this.#segments = this.#segments.filter((s) => s.seq >= position.segment)
    for (const s of done) {
      if (this.#tail?.seq === s.seq) await this.#closeTail()
      await rm(segmentPath(this.dir, s.seq), { force: true })
    }
  }

  async close(): Promise<void> {
    await this.#closeTail()
    await this.#lock.release()
  }

  async #tailFor(): Promise<{ seq: number; handle: FileHandle }> {
    let last = this.#segments.at(-1)
    if (last === undefined || last.size >= this.segmentBytes) {
      const seq = last === undefined ? this.#position.segment : last.seq + 1
      last = { seq, size: 0 }
      this.#segments.push(last)
    }
    if (this.#tail?.seq !== last.seq) {
      await this.#closeTail()
      const handle = await open(segmentPath(this.dir, last.seq), 'a', 0o600)
      this.#tail = { seq: last.seq, handle }
    }
    return this.#tail
  }

  async #closeTail(): Promise<void> {
    const tail = this.#tail
    this.#tail = undefined
    await tail?.handle.close().catch(() => {})
  }
}

/** Writes `data` at the end of `segment`, durably; a partial write is undone. */
async function write(handle: FileHandle, segment: { size: number }, data: Buffer): Promise<void> {
  try {
    let written = 0
    while (written < data.length) written += (await handle.write(data, written)).bytesWritten
    await handle.datasync()
  } catch (err) {
    // The segment must still end with a whole line.
    await handle.truncate(segment.size).catch(() => {})
    throw err
  }
  segment.size += data.length
}

function safeParse(line: string): OutboundEvent | undefined {
  if (line.length === 0) return undefined
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  const result = parseEvent(value)
  return result.ok ? { event: result.event, json: JSON.stringify(result.event) } : undefined
}
