/**
 * The documented sample of docs/exports.md: its finding, mapped to each format, gives exactly the
 * blocks the document shows (the JSON ones compared after parsing, the CSV byte for byte), and
 * the CSV parses back to the finding's values with its formula cell neutralised.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { csvHeader, FINDING_CSV_COLUMNS } from '../../src/exports/csv.js'
import type { ExportFinding } from '../../src/exports/finding.js'
import { formatFinding } from '../../src/exports/stream.js'
import { parseCsv } from '../helpers/csv.js'

const DOC = readFileSync(new URL('../../docs/exports.md', import.meta.url), 'utf8')
const PRODUCER = { name: 'audtrail', version: '0.1.0' }

/** The fenced block after `<!-- export-sample: name -->`. */
function block(name: string): string {
  const at = DOC.indexOf(`<!-- export-sample: ${name} -->`)
  if (at < 0) throw new Error(`docs/exports.md: no sample ${name}`)
  const match = /```\w*\n([\s\S]*?)\n```/.exec(DOC.slice(at))
  return match![1]!
}

const finding = JSON.parse(block('finding')) as ExportFinding

describe('docs/exports.md sample', () => {
  it('ndjson is the finding itself, on one line', () => {
    const line = formatFinding(finding, 'ndjson', PRODUCER)
    expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true)
    expect(JSON.parse(line)).toEqual(finding)
  })

  it('csv: the documented header and row, which parse back', () => {
    const text = csvHeader() + formatFinding(finding, 'csv', PRODUCER)
    expect(text).toBe(`${block('csv').split('\n').join('\r\n')}\r\n`)
    const [header, row] = parseCsv(text)
    expect(header).toEqual([...FINDING_CSV_COLUMNS])
    const cell = (name: (typeof FINDING_CSV_COLUMNS)[number]) =>
      row![FINDING_CSV_COLUMNS.indexOf(name)]
    expect(cell('client_id')).toBe(`'${finding.keys.client_id}`)
    expect(cell('note')).toBe(finding.note)
    expect(JSON.parse(cell('keys')!)).toEqual(finding.keys)
    expect(cell('first_seen')).toBe(finding.first_seen)
  })

  it.each(['ocsf', 'ecs'] as const)('%s: the documented document', (format) => {
    const line = formatFinding(finding, format, PRODUCER)
    expect(JSON.parse(line)).toEqual(JSON.parse(block(format)))
  })

  it('every cell a spreadsheet reads as a formula is neutralised', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      const text = formatFinding(
        { ...finding, note: `${start}1+1`, assignee: `${start}x` },
        'csv',
        PRODUCER,
      )
      const [row] = parseCsv(text)
      const cell = (name: (typeof FINDING_CSV_COLUMNS)[number]) =>
        row![FINDING_CSV_COLUMNS.indexOf(name)]
      expect(cell('note')).toBe(`'${start}1+1`)
      expect(cell('assignee')).toBe(`'${start}x`)
    }
  })
})
