/** A Markdown table with its columns padded, as prettier writes one (generated docs stay formatted). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]) {
  const width = (text: string) => [...text].length
  const widths = header.map((h, i) => Math.max(3, width(h), ...rows.map((r) => width(r[i] ?? ''))))
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}
