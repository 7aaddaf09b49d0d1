/** Reading the repository's Markdown specifications in tests: sections and tables. */
import { readFileSync } from 'node:fs'

/** A file of docs/spec/. */
export const spec = (name: string) =>
  readFileSync(new URL(`../../docs/spec/${name}`, import.meta.url), 'utf8')

/**
 * The text of a section, given with its heading marks (`## Rules`, `### owasp-nhi-2025`), up to
 * the next heading of its level or above.
 */
export function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`no section ${heading}`)
  const level = heading.split(' ')[0]!.length
  const rest = doc.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`^#{2,${level}} `, 'm'))
  return end < 0 ? rest : rest.slice(0, end)
}

/** The body rows of the Markdown table whose header row is `| first | ...`, as trimmed cells. */
export function table(text: string, first: string): string[][] {
  const lines = text.split('\n')
  const at = lines.findIndex((l) => new RegExp(`^\\| ${first} +\\|`).test(l))
  if (at < 0) throw new Error(`no table headed ${first}`)
  const rows: string[][] = []
  for (const line of lines.slice(at + 2)) {
    if (!line.startsWith('|')) break
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
  }
  return rows
}
