import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import { parseEvent } from '../../src/events/index.js'
import { auditEventJsonSchema, renderJsonSchemaFile } from '../../src/events/json-schema.js'
import { loadExamples } from '../helpers/examples.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }))
const validateJson = ajv.compile(auditEventJsonSchema())

describe('the generated JSON Schema', () => {
  it('matches the committed file (run `npm run schemas` when this fails)', () => {
    const committed = readFileSync(
      new URL('../../schemas/audit-event.v1.schema.json', import.meta.url),
      'utf8',
    )
    expect(committed).toBe(renderJsonSchemaFile())
  })

  it('covers all four event types', () => {
    const text = renderJsonSchemaFile()
    for (const type of [
      'authorization.requested',
      'token.issued',
      'token.presented',
      'token.exchanged',
    ])
      expect(text).toContain(`"const": "${type}"`)
  })
})

describe('the example events', () => {
  const valid = loadExamples('valid')
  const invalid = loadExamples('invalid')

  it('include every event type and at least ten invalid cases', () => {
    expect(new Set(valid.map(([, e]) => e.event_type)).size).toBe(4)
    expect(invalid.length).toBeGreaterThanOrEqual(10)
  })

  it.each(valid)('%s is accepted by zod and by the JSON Schema', (_, example) => {
    const result = parseEvent(structuredClone(example))
    expect(result.ok ? [] : result.reasons).toEqual([])
    expect(validateJson(example) ? [] : validateJson.errors).toEqual([])
  })

  it.each(invalid)('%s is refused by zod and by the JSON Schema', (_, example) => {
    const result = parseEvent(structuredClone(example))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reasons.length).toBeGreaterThan(0)
    expect(validateJson(example)).toBe(false)
  })
})
