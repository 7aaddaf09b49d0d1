/**
 * Adding a framework version is one file (docs/design/frameworks.md): in a copy of the project,
 * one new file in src/frameworks/ and `npm run docs` put the version in the registry, in a
 * compliance report built by the real code on a real engine, and in the generated docs, and
 * nothing else changes but the generated files.
 */
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { REGISTRY } from '../../src/frameworks/index.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const copy = mkdtempSync(join(tmpdir(), 'audtrail-one-file-'))
afterAll(() => rmSync(copy, { recursive: true, force: true }))

/** The one file a contributor writes: a report framework whose control lists its rule. */
const NEW_FILE = `import { defineFramework } from './framework.js'

export default defineFramework({
  id: 'acme-sample-1.0',
  title: 'ACME Sample Controls 1.0',
  order: 67,
  label: 'ACME Sample Controls, 1.0',
  source: {
    title: 'ACME Sample Controls',
    publisher: 'ACME',
    version: '1.0',
    url: 'https://example.com/acme-sample/1.0',
  },
  ids: { 'ACME-1': 'Tokens are accepted only by the resource they were issued for' },
  controls: [{ id: 'ACME-1', rules: ['aud-mismatch-accepted'], metrics: ['accepted_mismatches'] }],
  notes: 'A sample version added by test/frameworks/one-file.test.ts.',
})
`

/** Builds the 'acme-sample-1.0' report on an empty engine with the copy's own code. */
const PROBE = `import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FRAMEWORK_IDS, REGISTRY } from './src/frameworks/index.js'
import { buildComplianceReport, renderReport } from './src/reports/index.js'
import { createStorage } from './src/storage/client.js'
import { migrate } from './src/storage/migrate.js'

const storage = createStorage({ database: 'probe', dataDir: mkdtempSync(join(tmpdir(), 'probe-')) })
await migrate(storage, { retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 } })
const report = await buildComplianceReport(storage, {
  tenant: 'acme',
  framework: 'acme-sample-1.0' as (typeof FRAMEWORK_IDS)[number],
  since: new Date('2026-10-01T00:00:00Z'),
  until: new Date('2026-11-01T00:00:00Z'),
})
const html = renderReport(report, 'html')
await storage.close()
console.log(JSON.stringify({
  registry: REGISTRY.map((f) => f.id),
  frameworkIds: FRAMEWORK_IDS,
  report: report.frameworks.map((f) => ({ id: f.id, title: f.title, controls: f.controls.map((c) => [c.id, c.title, c.rules]) })),
  htmlNamesIt: html.includes('ACME Sample Controls 1.0') && html.includes('ACME-1'),
}))
`

/** Every file under `dir` (relative path -> contents), node_modules aside. */
function tree(dir: string, base = dir, out = new Map<string, string>()) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (name === 'node_modules') continue
    if (statSync(path).isDirectory()) tree(path, base, out)
    else out.set(relative(base, path), readFileSync(path, 'utf8'))
  }
  return out
}

function run(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    cwd: copy,
    encoding: 'utf8',
    timeout: 240_000,
  })
  expect(result.error).toBeUndefined()
  expect(result.status, result.stderr).toBe(0)
  return result.stdout
}

describe('adding a framework version', () => {
  it('is one file: the registry, a report and the docs pick it up, nothing else is edited', () => {
    for (const path of ['src', 'sql', 'docs', 'scripts/write-docs.ts', 'package.json'])
      cpSync(join(ROOT, path), join(copy, path), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
    const before = tree(copy)

    writeFileSync(join(copy, 'src/frameworks/acme-sample-1.0.ts'), NEW_FILE)
    run(['scripts/write-docs.ts'])

    // Only the new file and what the generator writes differ from the project as it was.
    const after = tree(copy)
    const changed = [...after.keys()].filter((path) => after.get(path) !== before.get(path)).sort()
    expect(changed).toEqual([
      'docs/api.md',
      'docs/spec/frameworks.md',
      'src/frameworks/acme-sample-1.0.ts',
      'src/frameworks/versions.ts',
    ])
    expect(after.get('src/frameworks/versions.ts')).toContain(
      "import acmeSample10 from './acme-sample-1.0.js'",
    )

    // The docs: its section with source and ids, and its row in the API's framework table.
    const catalog = after.get('docs/spec/frameworks.md')!
    expect(catalog).toContain('\n## acme-sample-1.0\n\nReport title: ACME Sample Controls 1.0\n')
    expect(catalog).toMatch(/\| URL +\| https:\/\/example\.com\/acme-sample\/1\.0 +\|/)
    expect(catalog).toMatch(
      /\| ACME-1 \| Tokens are accepted only by the resource they were issued for \|/,
    )
    expect(catalog.indexOf('\n## acme-sample-1.0\n')).toBeGreaterThan(
      catalog.indexOf(`\n## ${REGISTRY.filter((f) => f.order < 67).at(-1)!.id}\n`),
    )
    expect(after.get('docs/api.md')).toMatch(
      /^\| `acme-sample-1\.0` +\| ACME Sample Controls, 1\.0 +\|$/m,
    )

    // The registry, the API's framework values and a report built by the copy's code.
    writeFileSync(join(copy, 'probe.ts'), PROBE)
    const probe = JSON.parse(run(['probe.ts'])) as {
      registry: string[]
      frameworkIds: string[]
      report: { id: string; title: string; controls: [string, string, string[]][] }[]
      htmlNamesIt: boolean
    }
    // Placed by its order: right after the version with the greatest order below 67.
    const before67 = REGISTRY.filter((f) => f.order < 67).at(-1)!.id
    expect(probe.registry).toEqual(
      REGISTRY.flatMap((f) => (f.id === before67 ? [f.id, 'acme-sample-1.0'] : [f.id])),
    )
    expect(probe.frameworkIds).toContain('acme-sample-1.0')
    expect(probe.report).toEqual([
      {
        id: 'acme-sample-1.0',
        title: 'ACME Sample Controls 1.0',
        controls: [
          [
            'ACME-1',
            'Tokens are accepted only by the resource they were issued for',
            ['aud-mismatch-accepted'],
          ],
        ],
      },
    ])
    expect(probe.htmlNamesIt).toBe(true)
  }, 300_000)
})
