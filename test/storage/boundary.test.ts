/**
 * The storage boundary (docs/design/storage.md): no module outside src/storage imports the
 * ClickHouse client, loads a SQL file or runs SQL text; they call the repositories.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../src', import.meta.url))

/** What only src/storage may do, each with how it shows in the source. */
const FORBIDDEN: [string, RegExp][] = [
  ['imports the ClickHouse client', /from ['"]@clickhouse\/client|import\(['"]@clickhouse/],
  ['imports the embedded engine', /from ['"]chdb['"]|import\(['"]chdb['"]\)/],
  ['loads a SQL file', /\bload(?:Query|Sql)\s*\(|storage\/sql\.js/],
  ['uses the raw client', /\.client\s*\.\s*(?:query|command|exec|insert|ping)\s*\(/],
  ['inserts into a table', /\bstorage\.insert\s*\(|\.insertEncoded\s*\(/],
  ['takes the connection', /\bconnectionOf\b|\bClickHouse(?:Connection|Storage)\b/],
  ['holds SQL text', /`[^`]*\b(?:SELECT\b[^`]*\bFROM|INSERT\s+INTO|ALTER\s+TABLE)\b/],
]

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  )
}

function crossings(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return FORBIDDEN.filter(([, re]) => re.test(text)).map(([what]) => what)
}

const outside = sources(SRC)
  .map((f) => relative(SRC, f).split('\\').join('/'))
  .filter((f) => !f.startsWith('storage/'))

describe('the storage boundary', () => {
  it('is crossed by no module outside src/storage', () => {
    const found = outside.flatMap((f) => crossings(join(SRC, f)).map((what) => `${f} ${what}`))
    expect(found).toEqual([])
  })

  it('recognises each crossing it forbids', () => {
    const samples = [
      "import { createClient } from '@clickhouse/client'",
      "import { Session } from 'chdb'",
      "loadQuery('findings-list', db)",
      'await storage.client.query({ query })',
      'await storage.insert(table, rows)',
      "await storage.insertEncoded('events', columns, body)",
      'const { client } = connectionOf(storage)',
      'const q = `SELECT watermark FROM ${db}.detector_watermarks`',
    ]
    expect(samples.map((s) => FORBIDDEN.filter(([, re]) => re.test(s)).length)).toEqual(
      samples.map(() => 1),
    )
  })
})
