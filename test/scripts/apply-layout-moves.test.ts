/**
 * scripts/dev/apply-layout-moves.mjs on a small tree laid out the old way, with importers of the
 * kinds a branch written against the old layout may hold: it moves the file, rewrites each of
 * them, reports what it cannot rewrite safely, and a second run changes nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCRIPT = join(ROOT, 'scripts/dev/apply-layout-moves.mjs')

const TREE: Record<string, string> = {
  'package.json': '{ "type": "module" }\n',
  'src/events/resource.ts': 'export const canonical = 1\n',
  'src/storage/helpers.ts': 'export const helper = 1\n',
  // The file that moves, with a sibling import and one that already resolves from its new folder.
  'src/storage/event-row.ts': [
    "import { canonical } from '../events/resource.js'",
    "import { helper } from './helpers.js'",
    'export const toDateTime64 = canonical + helper',
    '',
  ].join('\n'),
  // A second moved file that imports the first one from its old place.
  'src/pipeline/rejected-row.ts':
    "import { toDateTime64 } from '../storage/event-row.js'\nexport const rejected = toDateTime64\n",
  'src/storage/sql.ts':
    "import { toDateTime64 } from './event-row.js'\nexport const q = toDateTime64\n",
  // Hand-moved names: their new homes exist, the old module lost them.
  'src/transport/kafka.ts': 'export function sendAll() {}\nexport function createKafka() {}\n',
  'src/events/topics.ts':
    "export const EVENTS_TOPIC = 'e'\nexport const DLQ_TOPIC = 'd'\nexport const FINDINGS_TOPIC = 'f'\n",
  'src/pipeline/dlq.ts':
    'export interface OutgoingMessage { value: string }\nexport function dlqMessage() {}\nexport const MAX_DLQ_PAYLOAD_BYTES = 1\n',
  'src/pipeline/ingest.ts': 'export function sinkTarget() {}\n',
  'src/transport/ingest-target.ts': 'export function kafkaTarget() {}\n',
  // A branch's new file, written against the old layout.
  'src/api/new-route.ts': [
    "import { sendAll, DLQ_TOPIC, type OutgoingMessage } from '../transport/kafka.js'",
    "import type { toDateTime64 } from '../storage/event-row.js'",
    "import { sinkTarget, kafkaTarget as target } from '../pipeline/ingest.js'",
    'export const all = [sendAll, DLQ_TOPIC, sinkTarget, target]',
    'export type T = OutgoingMessage | typeof toDateTime64',
    '',
  ].join('\n'),
  'src/index.ts': "export { FINDINGS_TOPIC, createKafka } from './transport/kafka.js'\n",
  'src/alerting/ns.ts': "import * as kafka from '../transport/kafka.js'\nexport const k = kafka\n",
  'test/topic.test.ts': [
    "const { EVENTS_TOPIC } = await import('../src/transport/kafka.js')",
    "vi.mock('../src/storage/event-row.js')",
    "const row: typeof import('../src/storage/event-row.js') = await import('../src/storage/event-row.js')",
    'export { EVENTS_TOPIC, row }',
    '',
  ].join('\n'),
}

let dir: string
const read = (path: string) => readFileSync(join(dir, path), 'utf8')
const run = (...args: string[]) =>
  spawnSync(process.execPath, [SCRIPT, '--no-format', ...args], { cwd: dir, encoding: 'utf8' })

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'audtrail-moves-'))
  for (const [path, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' })
  git('init', '-q')
  git('add', '.')
  git('-c', 'user.email=t@example.org', '-c', 'user.name=t', 'commit', '-qm', 'old layout')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('apply-layout-moves on a tree laid out the old way', () => {
  it('--check reports the work and changes nothing', () => {
    const result = run('--check')
    expect(result.status).toBe(1)
    expect(result.stdout).toContain(
      'would move src/storage/event-row.ts -> src/events/event-row.ts',
    )
    expect(read('src/api/new-route.ts')).toBe(TREE['src/api/new-route.ts'])
  })

  it('moves the file with git and rewrites every kind of importer', () => {
    const result = run()
    expect(result.status, result.stderr).toBe(0)
    const status = execFileSync('git', ['status', '--short'], { cwd: dir, encoding: 'utf8' })
    expect(status).toMatch(/^R. src\/storage\/event-row\.ts -> src\/events\/event-row\.ts$/m)

    expect(read('src/events/event-row.ts')).toBe(
      [
        "import { canonical } from '../events/resource.js'",
        "import { helper } from '../storage/helpers.js'",
        'export const toDateTime64 = canonical + helper',
        '',
      ].join('\n'),
    )
    expect(read('src/storage/sql.ts')).toContain("from '../events/event-row.js'")
    expect(status).toMatch(/^R. src\/pipeline\/rejected-row\.ts -> src\/events\/rejected-row\.ts$/m)
    expect(read('src/events/rejected-row.ts')).toContain("from './event-row.js'")
    expect(read('src/api/new-route.ts')).toBe(
      [
        "import { sendAll } from '../transport/kafka.js'",
        "import { DLQ_TOPIC } from '../events/topics.js'",
        "import { type OutgoingMessage } from '../pipeline/dlq.js'",
        "import type { toDateTime64 } from '../events/event-row.js'",
        "import { sinkTarget } from '../pipeline/ingest.js'",
        "import { kafkaTarget as target } from '../transport/ingest-target.js'",
        'export const all = [sendAll, DLQ_TOPIC, sinkTarget, target]',
        'export type T = OutgoingMessage | typeof toDateTime64',
        '',
      ].join('\n'),
    )
    expect(read('src/index.ts')).toBe(
      [
        "export { createKafka } from './transport/kafka.js'",
        "export { FINDINGS_TOPIC } from './events/topics.js'",
        '',
      ].join('\n'),
    )
    expect(read('test/topic.test.ts')).toBe(
      [
        "const { EVENTS_TOPIC } = await import('../src/events/topics.js')",
        "vi.mock('../src/events/event-row.js')",
        "const row: typeof import('../src/events/event-row.js') = await import('../src/events/event-row.js')",
        'export { EVENTS_TOPIC, row }',
        '',
      ].join('\n'),
    )
    // A namespace import is left for a hand edit, and said so.
    expect(read('src/alerting/ns.ts')).toBe(TREE['src/alerting/ns.ts'])
    expect(result.stdout).toMatch(/note: src\/alerting\/ns\.ts: 'import \* as kafka'/)
  })

  it('a second run changes nothing, and --check agrees', () => {
    // The moved files are gone from their old places.
    const moved = (p: string) =>
      p.includes('storage/event-row') || p.includes('pipeline/rejected-row')
    const before = Object.keys(TREE).map((p) => (moved(p) ? '' : read(p)))
    const again = run()
    expect(again.status).toBe(0)
    expect(again.stdout).toContain('0 file(s) changed')
    expect(Object.keys(TREE).map((p) => (moved(p) ? '' : read(p)))).toEqual(before)
    expect(run('--check').status).toBe(0)
  })
})
