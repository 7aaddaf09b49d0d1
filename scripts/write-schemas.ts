/** Writes schemas/audit-event.v1.schema.json, resource-registry.schema.json and openapi.json from the zod schemas (`npm run schemas`). */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { renderOpenApiFile } from '../src/api/openapi.js'
import { renderJsonSchemaFile } from '../src/events/json-schema.js'
import { renderRegistrySchemaFile } from '../src/resource-registry.js'

const target = fileURLToPath(new URL('../schemas/audit-event.v1.schema.json', import.meta.url))
writeFileSync(target, renderJsonSchemaFile())
console.log(`wrote ${target}`)

const registry = fileURLToPath(new URL('../schemas/resource-registry.schema.json', import.meta.url))
writeFileSync(registry, renderRegistrySchemaFile())
console.log(`wrote ${registry}`)

const openapi = fileURLToPath(new URL('../schemas/openapi.json', import.meta.url))
const { version } = createRequire(import.meta.url)('../package.json') as { version: string }
writeFileSync(openapi, await renderOpenApiFile(version))
console.log(`wrote ${openapi}`)
