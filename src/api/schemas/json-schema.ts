/**
 * Zod to JSON Schema for the API, in two flavours: the OpenAPI document (named components as
 * `$ref`s, the contract event as its own component) and Fastify's response serializer (everything
 * inline, the contract event as a free-form object, so fast-json-stringify neither walks its union
 * nor drops fields the event carries).
 */
import { z } from 'zod'
import { AuditEventSchema } from '../../events/schema.js'

export type JsonSchema = Record<string, unknown>
export type Target = 'openapi' | 'serializer'

export const componentRef = (name: string): JsonSchema => ({
  $ref: `#/components/schemas/${name}`,
})

/**
 * Response bodies the OpenAPI document names (its components), each registered where it is
 * defined: `z.object({...}).register(COMPONENTS, { component: 'Finding' })`.
 */
export const COMPONENTS = z.registry<{ component: string }>()

/** The component name of a schema, if it has one. */
export type ComponentNames = (schema: z.ZodType) => string | undefined

/**
 * The JSON Schema of a zod schema as the API produces it (`io: output`), without `$schema`. For
 * the OpenAPI document, nested schemas found in `components` become references to them.
 */
export function responseJsonSchema(
  schema: z.ZodType,
  target: Target,
  components: ComponentNames = () => undefined,
): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'output',
    unrepresentable: 'any',
    override: (ctx) => {
      const zs = ctx.zodSchema as unknown as z.ZodType
      let replacement: JsonSchema | undefined
      if (zs === AuditEventSchema)
        replacement =
          target === 'openapi'
            ? componentRef('AuditEvent')
            : { type: 'object', additionalProperties: true }
      else if (target === 'openapi' && zs !== schema) {
        const name = components(zs)
        if (name) replacement = componentRef(name)
      }
      if (!replacement) return
      const js = ctx.jsonSchema as JsonSchema
      for (const key of Object.keys(js)) delete js[key]
      Object.assign(js, replacement)
    },
  }) as JsonSchema
  return rest
}

/** The JSON Schema of a request schema (what callers may send: `io: input`). */
export function requestJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema
  return rest
}
