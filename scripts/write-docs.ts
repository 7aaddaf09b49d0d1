/** Writes docs/configuration.md and docs/rules.md from the config schema and the rules (`npm run docs`). */
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderConfigReference } from '../src/docs/config-reference.js'
import { renderRuleCatalog } from '../src/docs/rule-catalog.js'

const docs = fileURLToPath(new URL('../docs/', import.meta.url))
mkdirSync(docs, { recursive: true })
for (const [name, text] of [
  ['configuration.md', renderConfigReference()],
  ['rules.md', renderRuleCatalog()],
] as const) {
  writeFileSync(docs + name, text)
  console.log(`wrote docs/${name}`)
}
