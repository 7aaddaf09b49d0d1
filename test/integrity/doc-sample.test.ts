/**
 * The sample of docs/integrity.md: six events of acme, checkpointed (in ClickHouse and a file),
 * then event 2 edited, event 4 and event 6 deleted directly in the engine; `audtrail verify`
 * prints what the document shows (`…` stands for the elapsed milliseconds).
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runVerify } from '../../src/cli/verify.js'
import { holdsRawJwt } from '../../src/events/raw-token.js'
import { Chainer } from '../../src/integrity/chainer.js'
import { startCheckpointer } from '../../src/integrity/checkpoint.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { createIntegrityStore } from '../../src/storage/integrity-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { presentedRow } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { newKey, tamper } from './helpers.js'

afterAll(closeTestStorages)

const DIR = mkdtempSync(join(tmpdir(), 'audtrail-doc-'))
const DATABASE = 'integrity_doc'
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

/** The ```output block after the `audtrail verify` sample of docs/integrity.md. */
function documented(): string[] {
  const lines = readFileSync(new URL('../../docs/integrity.md', import.meta.url), 'utf8').split(
    '\n',
  )
  const at = lines.indexOf('audtrail verify --tenant acme --checkpoints checkpoints.jsonl')
  const open = lines.indexOf('```output', at)
  const close = lines.indexOf('```', open + 1)
  expect(at).toBeGreaterThan(0)
  return lines.slice(open + 1, close)
}

const matches = (actual: string, expected: string) =>
  new RegExp(
    `^${expected
      .split('…')
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(actual)

describe('the documented sample of audtrail verify', () => {
  it('prints what docs/integrity.md shows', async () => {
    const storage = testStorage(DATABASE, DIR)
    await migrate(storage, { retention: RETENTION })
    const key = newKey()
    const store = createIntegrityStore(storage)
    const chainer = new Chainer('w20261207T190000-5a3c')
    const file = join(DIR, 'checkpoints.jsonl')
    const checkpointer = startCheckpointer({
      chainer,
      key,
      file,
      store: (tenant, s) =>
        store.writeCheckpoint(tenant, {
          writer: s.checkpoint.writer,
          seq: s.checkpoint.seq,
          issued_at: s.checkpoint.issued_at,
          jws: s.jws,
        }),
    })
    const sink = createClickHouseSink(storage, { integrity: { chainer, checkpointer } })
    await sink.write({
      rows: [1, 2, 3, 4, 5, 6].map((n) => presentedRow({ tenant: 'acme', event_id: id(n) })),
      rejected: [],
      source: 'kafka:audtrail.events.v1:0',
    })
    await checkpointer.close()
    // A checkpoint copy is signed, yet holds nothing a secret scanner takes for a bearer token.
    const copies = readFileSync(file, 'utf8')
    expect(JSON.parse(JSON.parse(copies.split('\n')[0]!).jws)).toHaveProperty('signature')
    expect(holdsRawJwt(copies)).toBe(false)
    await tamper(
      storage,
      `ALTER TABLE {{db}}.events UPDATE http_path = '/forged' WHERE event_id = {id:UUID}`,
      { id: id(2) },
    )
    await tamper(storage, `ALTER TABLE {{db}}.events DELETE WHERE event_id IN {ids:Array(UUID)}`, {
      ids: [id(4), id(6)],
    })

    const printed: string[] = []
    const env = {
      AUDTRAIL_DATA_DIR: DIR,
      CLICKHOUSE_DATABASE: DATABASE,
      AUDTRAIL_LOG_LEVEL: 'silent',
      AUDTRAIL_INTEGRITY_SIGNING_KEY: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    }
    const code = await runVerify(['--tenant', 'acme', '--checkpoints', file], env, (l) =>
      printed.push(l),
    )
    expect(code).toBe(1)
    const expected = documented()
    expect(printed).toHaveLength(expected.length)
    printed.forEach((line, i) =>
      expect(matches(line, expected[i]!), `${line}\n${expected[i]}`).toBe(true),
    )
  })
})
