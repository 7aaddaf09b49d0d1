/** The resource registry file (AUDTRAIL_RESOURCES_FILE): resources, their aliases, scopes, kind. */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from './errors.js'
import { createAliasLookup, type AliasLookup } from './events/resource.js'

export const RegistryEntry = z.strictObject({
  resource: z.string().min(1).max(2048),
  aliases: z.array(z.string().min(1).max(2048)).max(64).optional(),
  scopes: z.array(z.string().min(1).max(256)).max(256).optional(),
  kind: z.enum(['mcp', 'api']).optional(),
  multi_audience_allowed: z.boolean().optional(),
})
export const Registry = z.union([
  z.array(RegistryEntry),
  z.strictObject({ resources: z.array(RegistryEntry) }),
])

export type ResourceEntry = z.output<typeof RegistryEntry>

export interface ResourceRegistry {
  entries: readonly ResourceEntry[]
  aliases: AliasLookup
}

export function parseResourceRegistry(
  json: unknown,
  origin = 'resource registry',
): ResourceRegistry {
  const parsed = Registry.safeParse(json)
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
