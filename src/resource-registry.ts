/** The resource registry file (AUDTRAIL_RESOURCES_FILE): resources, their aliases, scopes, kind. */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from './errors.js'
import { createAliasLookup, type AliasLookup } from './events/resource.js'

export const RegistryEntry = z
  .strictObject({
    resource: z
      .string()
      .min(1)
      .max(2048)
      .describe(
        'The canonical resource identifier (RFC 8707 section 2): the URI clients send as `resource` ' +
          'and tokens carry in `aud`, e.g. `https://mcp.example.com/mcp`.',
      ),
    aliases: z
      .array(z.string().min(1).max(2048))
      .max(64)
      .optional()
      .describe(
        'Other identifiers of the same resource server (an `api://` name, an old host name): a ' +
          'token for an alias is a token for the resource, never an audience mismatch.',
      ),
    scopes: z
      .array(z.string().min(1).max(256))
      .max(256)
      .optional()
      .describe(
        'The scopes this resource serves; with it, `scope-not-valid-for-resource` flags tokens ' +
          'granted scopes none of their audiences registers.',
      ),
    kind: z
      .enum(['mcp', 'api'])
      .optional()
      .describe(
        '`mcp` for an MCP server (the MCP authorization spec makes `resource` mandatory: ' +
          '`missing-resource-indicator` is high for it), `api` for any other resource server.',
      ),
    multi_audience_allowed: z
      .boolean()
      .optional()
      .describe(
        'true when tokens may name this resource among several audiences on purpose; ' +
          '`multi-audience-token` stays quiet only when every audience of a token allows it.',
      ),
  })
  .describe('One resource server audtrail knows.')
export const Registry = z
  .union([z.array(RegistryEntry), z.strictObject({ resources: z.array(RegistryEntry) })])
  .describe(
    'The resource registry (`AUDTRAIL_RESOURCES_FILE`): a list of resources, or an object with ' +
      'the list under `resources`.',
  )

export const REGISTRY_SCHEMA_ID = 'https://audtrail.dev/schemas/resource-registry.schema.json'

/** The committed JSON Schema's exact text (schemas/resource-registry.schema.json). */
export function renderRegistrySchemaFile(): string {
  const generated = z.toJSONSchema(Registry, { io: 'input', unrepresentable: 'throw' })
  const { $schema, ...rest } = generated
  const schema = { $schema, $id: REGISTRY_SCHEMA_ID, title: 'audtrail resource registry', ...rest }
  return JSON.stringify(schema, null, 2) + '\n'
}

export type ResourceEntry = z.output<typeof RegistryEntry>

export interface ResourceRegistry {
  entries: readonly ResourceEntry[]
  aliases: AliasLookup
}

export function parseResourceRegistry(
  json: unknown,
  origin = 'resource registry',
): ResourceRegistry {
  // Each form parsed on its own, so a problem is named by its path rather than "Invalid input".
  const parsed = Array.isArray(json)
    ? z.array(RegistryEntry).safeParse(json)
    : z.strictObject({ resources: z.array(RegistryEntry) }).safeParse(json)
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => `${origin}: ${i.path.join('.') || '(root)'}: ${i.message}`),
    )
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.resources
  return { entries, aliases: createAliasLookup(entries) }
}

export function loadResourceRegistry(file: string): ResourceRegistry {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'not valid JSON'
    throw new ConfigError([`AUDTRAIL_RESOURCES_FILE: ${file}: ${why}`])
  }
  return parseResourceRegistry(json, `AUDTRAIL_RESOURCES_FILE (${file})`)
}
