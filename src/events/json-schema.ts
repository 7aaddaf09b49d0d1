/** The JSON Schema of the contract, generated from the zod schemas (draft 2020-12). */
import { z } from 'zod'
import { AuditEventSchema } from './schema.js'

export const JSON_SCHEMA_ID = 'https://audtrail.dev/schemas/audit-event.v1.schema.json'

export function auditEventJsonSchema(): Record<string, unknown> {
  // Stryker disable next-line StringLiteral: equivalent, 'throw' is zod's default for unrepresentable
  const generated = z.toJSONSchema(AuditEventSchema, { io: 'input', unrepresentable: 'throw' })
  return {
    $schema: generated.$schema,
    $id: JSON_SCHEMA_ID,
    title: 'audtrail audit event v1',
    description:
      'One audit event of the audtrail contract v1. Unknown extra fields are accepted and kept in ' +
      '`attributes`. Rules not expressible here (token required except on a token.presented ' +
      'with reason missing_token; jti or fingerprint present; no __proto__/constructor keys; ' +
      'attribute size caps) are enforced by the zod validator.',
    // Stryker disable next-line all: equivalent, a second `$schema` keeps the first's place and value
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema')),
  }
}

/** The committed file's exact text, shared by `npm run schemas` and its staleness test. */
export function renderJsonSchemaFile(): string {
  return JSON.stringify(auditEventJsonSchema(), null, 2) + '\n'
}
