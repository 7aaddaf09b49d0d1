/** Writes schemas/audit-event.v1.schema.json from the zod contract (`npm run schemas`). */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderJsonSchemaFile } from '../src/events/json-schema.js'

const target = fileURLToPath(new URL('../schemas/audit-event.v1.schema.json', import.meta.url))
writeFileSync(target, renderJsonSchemaFile())
console.log(`wrote ${target}`)
