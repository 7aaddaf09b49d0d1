/** The post-suite scan of `npm test` finds a raw JWT in any file it is given, and only there. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
// @ts-expect-error -- a plain ES module script without types
import { scanForRawJwts } from '../../scripts/raw-token-scan.mjs'
import { HOSTILE_JWT } from '../helpers/hostile.js'

const dir = mkdtempSync(join(tmpdir(), 'audtrail-scan-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('scanForRawJwts', () => {
  it('names each file holding a raw JWT, in binary data and nested folders, and only those', async () => {
    mkdirSync(join(dir, 'engine', 'part_1'), { recursive: true })
    mkdirSync(join(dir, 'topic-dlq-0'))
    mkdirSync(join(dir, 'topic-events-0'))
    const bytes = Buffer.concat([
      Buffer.from([0, 255, 7]),
      Buffer.from(HOSTILE_JWT),
      Buffer.from([1]),
    ])
    writeFileSync(join(dir, 'engine', 'part_1', 'data.bin'), bytes)
    writeFileSync(join(dir, 'engine', 'part_1', 'clean.bin'), Buffer.from('fingerprint only'))
    writeFileSync(join(dir, 'topic-dlq-0', 'segment.log'), `{"payload":"${HOSTILE_JWT}"}`)
    writeFileSync(join(dir, 'topic-events-0', 'segment.log'), HOSTILE_JWT)
    const all = await scanForRawJwts([dir])
    expect(all.hits.map((h: string) => h.slice(dir.length)).sort()).toEqual([
      '/engine/part_1/data.bin',
      '/topic-dlq-0/segment.log',
      '/topic-events-0/segment.log',
    ])
    const dlq = await scanForRawJwts([dir], { only: (name: string) => /dlq/i.test(name) })
    expect(dlq.hits.map((h: string) => h.slice(dir.length))).toEqual(['/topic-dlq-0/segment.log'])
    expect(dlq.files).toBe(1)
  })
})
