/**
 * `npm run docs`: writes src/frameworks/versions.ts from the framework files of that folder, then
 * the documents generated from the code: docs/configuration.md (the config schema), docs/rules.md
 * (the rules), docs/spec/frameworks.md and the framework table of docs/api.md (the registry).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderVersionsModule, versionFiles } from '../src/frameworks/discover.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const frameworks = `${root}src/frameworks/`
writeFileSync(`${frameworks}versions.ts`, renderVersionsModule(versionFiles(frameworks)))
console.log('wrote src/frameworks/versions.ts')

// Imported only now, so that the registry they read is the one just written.
const { renderConfigReference } = await import('../src/docs/config-reference.js')
const { renderRuleCatalog } = await import('../src/docs/rule-catalog.js')
const { renderFrameworkCatalog, withFrameworkIdTable } =
  await import('../src/docs/frameworks-catalog.js')

mkdirSync(`${root}docs/spec`, { recursive: true })
const api = readFileSync(`${root}docs/api.md`, 'utf8')
for (const [name, text] of [
  ['configuration.md', renderConfigReference()],
  ['rules.md', renderRuleCatalog()],
  ['spec/frameworks.md', renderFrameworkCatalog()],
  ['api.md', withFrameworkIdTable(api)],
] as const) {
  writeFileSync(`${root}docs/${name}`, text)
  console.log(`wrote docs/${name}`)
}
