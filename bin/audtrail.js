#!/usr/bin/env node
// Entry point of the `audtrail` command: runs the compiled CLI (built by `npm install`'s prepare).
import { main } from '../dist/cli/main.js'

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    process.stderr.write(`audtrail: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  },
)
