/**
 * Human text in the HTML rendering: every value HTML-escaped first, then the little inline
 * Markdown the catalog and rule texts use made readable: `code` becomes <code>, **strong**
 * becomes <strong>, [text](url) becomes "text (url)" as plain text (no link is ever made from
 * catalog or event text). Nothing else is interpreted, so no markup in a value can reach the page.
 */
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}

function prose(text: string): string {
  return escapeHtml(text.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, '$1 ($2)')).replace(
    /\*\*([^*\n]+)\*\*/g,
    '<strong>$1</strong>',
  )
}

/** Escaped HTML of a text with inline Markdown (code spans, strong, links as text). */
export function inlineMarkdown(text: string): string {
  return text
    .split(/`([^`\n]+)`/)
    .map((part, i) => (i % 2 === 1 ? `<code>${escapeHtml(part)}</code>` : prose(part)))
    .join('')
}

/** The text with its inline Markdown removed (for CSV and plain-text uses). */
export function stripMarkdown(text: string): string {
  return text
    .replace(/`([^`\n]+)`/g, '$1')
    .replace(/\*\*([^*\n]+)\*\*/g, '$1')
    .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, '$1 ($2)')
}
