/** The example events shipped in schemas/examples, read once for the tests. */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../schemas/examples/', import.meta.url))

export function loadExamples(kind: 'valid' | 'invalid'): [string, Record<string, unknown>][] {
  return readdirSync(`${ROOT}${kind}`)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(`${ROOT}${kind}/${f}`, 'utf8'))])
}
