// Looks for raw JWTs where none may be: every file a test run left in its scratch directory
// (engine data, spools, journals, logs) and the dead-letter topics of the local Kafka broker.
// Run by `npm test` after the suite; also `node scripts/raw-token-scan.mjs DIR...`.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const MAX_FILE = 64 << 20

/** Files under `dir` (recursively) that hold a raw JWT, as `holdsRawJwt` finds one. */
export async function scanForRawJwts(dirs, { only } = {}) {
  const { holdsRawJwt } = await import(
    pathToFileURL(fileURLToPath(new URL('../dist/events/raw-token.js', import.meta.url))).href
  )
  const hits = []
  let files = 0
  const walk = (dir, depth) => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const path = join(dir, e.name)
      if (e.isDirectory()) {
        if (depth === 0 && only !== undefined && !only(e.name)) continue
        walk(path, depth + 1)
      } else if (e.isFile()) {
        let size
        try {
          size = statSync(path).size
        } catch {
          continue
        }
        if (size === 0 || size > MAX_FILE) continue
        files += 1
        // latin1: one character a byte, so an ASCII token is found whatever surrounds it.
        if (holdsRawJwt(readFileSync(path).toString('latin1'))) hits.push(path)
      }
    }
  }
  for (const dir of dirs) walk(dir, 0)
  return { files, hits }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { files, hits } = await scanForRawJwts(process.argv.slice(2))
  for (const hit of hits) console.log(hit)
  console.log(`${files} files scanned, ${hits.length} with a raw JWT`)
  process.exit(hits.length === 0 ? 0 : 1)
}
