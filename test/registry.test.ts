/**
 * The resource registry as docs/registry.md documents it: the committed JSON Schema is the one
 * the code generates, every field is documented, the documented examples load, and the schema
 * and the loader agree on what they refuse.
 */
import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../src/errors.js'
import { parseResourceRegistry, renderRegistrySchemaFile } from '../src/resource-registry.js'

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')
const DOC = read('docs/registry.md')
const schema = JSON.parse(renderRegistrySchemaFile()) as Record<string, unknown>
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema)

const loads = (json: unknown) => {
  try {
    parseResourceRegistry(json)
    return true
  } catch (err) {
    if (err instanceof ConfigError) return false
    throw err
  }
}

describe('the resource registry', () => {
  it('matches the committed JSON Schema (run `npm run schemas` when this fails)', () => {
    expect(read('schemas/resource-registry.schema.json')).toBe(renderRegistrySchemaFile())
  })

  it('documents every field of an entry in the fields table', () => {
    const entry = (schema.anyOf as { items?: { properties: object } }[])[0]!.items!
    const fields = Object.keys(entry.properties)
    expect(fields.length).toBeGreaterThanOrEqual(5)
    for (const field of fields)
      expect(DOC, field).toMatch(new RegExp(`^\\| \`${field}\` +\\|`, 'm'))
  })

  it('loads every documented example, which the JSON Schema accepts too', () => {
    const examples = [...DOC.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!))
    expect(examples.length).toBeGreaterThanOrEqual(2)
    for (const example of examples) {
      expect(validate(example), JSON.stringify(validate.errors)).toBe(true)
      expect(parseResourceRegistry(example).entries.length).toBeGreaterThan(0)
    }
  })

  it('refuses what the schema refuses, and accepts what it accepts', () => {
    const ok = { resource: 'https://a.example' }
    const cases: unknown[] = [
      [ok],
      { resources: [ok] },
      [],
      [{ ...ok, kind: 'grpc' }],
      [{ ...ok, alias: ['x'] }],
      [{ resource: '' }],
      [{ resource: 'x'.repeat(2049) }],
      [{ ...ok, aliases: Array.from({ length: 65 }, (_, i) => `a${i}`) }],
      [{ ...ok, scopes: [''] }],
      [{ ...ok, multi_audience_allowed: 'yes' }],
      { resources: [ok], extra: true },
      { entries: [ok] },
      [{ aliases: ['x'] }],
      'https://a.example',
    ]
    for (const c of cases) expect(loads(c), JSON.stringify(c).slice(0, 60)).toBe(validate(c))
  })

  it('names the path of each problem', () => {
    expect(() => parseResourceRegistry({ resources: [{ resource: 'x', kind: 'grpc' }] })).toThrow(
      /resources\.0\.kind/,
    )
  })
})
