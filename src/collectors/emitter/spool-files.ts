/** File-level helpers of the spool: segment names, the saved position, torn-line repair, line reads. */
import { open, readFile, rename, truncate, writeFile } from 'node:fs/promises'
import * as path from 'node:path'

export const SEGMENT_RE = /^audtrail-spool-(\d{12})\.ndjson$/
const POSITION_FILE = 'audtrail-spool.position'
const NEWLINE = 0x0a

/** Where replay resumes: a byte offset (always at a line start) in segment number `segment`. */
export interface SpoolPosition {
  segment: number
  offset: number
}

export function segmentPath(dir: string, seq: number): string {
  return path.join(dir, `audtrail-spool-${String(seq).padStart(12, '0')}.ndjson`)
}

export async function readPosition(dir: string): Promise<SpoolPosition | undefined> {
  try {
    const raw: unknown = JSON.parse(await readFile(path.join(dir, POSITION_FILE), 'utf8'))
    const { segment, offset } = raw as { segment?: unknown; offset?: unknown }
    if (Number.isSafeInteger(segment) && Number.isSafeInteger(offset) && (offset as number) >= 0)
      return { segment: segment as number, offset: offset as number }
  } catch {
    // Missing or damaged: replay from the first segment (duplicates are tolerated, losses are not).
  }
  return undefined
}

/** Written to a temporary file, then renamed: a crash leaves the old or the new position. */
export async function writePosition(dir: string, position: SpoolPosition): Promise<void> {
  const file = path.join(dir, POSITION_FILE)
  await writeFile(`${file}.tmp`, JSON.stringify(position), { mode: 0o600 })
  await rename(`${file}.tmp`, file)
}

/** Cuts a torn last line (no trailing newline, from a crash) off a segment; 1 when it did. */
export async function repairTail(
  dir: string,
  segment: { seq: number; size: number },
): Promise<number> {
  if (segment.size === 0) return 0
  const file = segmentPath(dir, segment.seq)
  const handle = await open(file, 'r')
  let keep = 0
  try {
    const chunk = Buffer.alloc(64 << 10)
    for (let end = segment.size; end > 0;) {
      const start = Math.max(0, end - chunk.length)
      const { bytesRead } = await handle.read(chunk, 0, end - start, start)
      const at = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE)
      if (at >= 0) {
        keep = start + at + 1
        break
      }
      end = start
    }
  } finally {
    await handle.close()
  }
  if (keep === segment.size) return 0
  await truncate(file, keep)
  segment.size = keep
  return 1
}

/** Reads whole lines from `offset` (a line start) until `max` lines or `size` (a line end). */
export async function readLines(
  file: string,
  offset: number,
  size: number,
  max: number,
): Promise<{ lines: string[]; end: number }> {
  const handle = await open(file, 'r')
  try {
    const lines: string[] = []
    let position = offset
    let chunkBytes = 256 << 10
    while (lines.length < max && position < size) {
      const length = Math.min(chunkBytes, size - position)
      const buf = Buffer.alloc(length)
      const { bytesRead } = await handle.read(buf, 0, length, position)
      const data = buf.subarray(0, bytesRead)
      let start = 0
      for (
        let nl = data.indexOf(NEWLINE);
        nl >= 0 && lines.length < max;
        nl = data.indexOf(NEWLINE, start)
      ) {
        lines.push(data.toString('utf8', start, nl))
        start = nl + 1
      }
      if (start === 0) {
        // No newline up to the end of the data: a foreign tail (we always write whole lines).
        if (bytesRead < length || length === size - position) break
        // Otherwise the line is longer than the chunk: read more at once.
        chunkBytes *= 4
      }
      position += start
    }
    return { lines, end: position }
  } finally {
    await handle.close()
  }
}
