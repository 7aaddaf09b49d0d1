#!/usr/bin/env node
// Entry point of the `audtrail` command: runs the compiled CLI (`npm run build`; the published
// package ships it built). The server's packages (the ClickHouse engine and client, kafkajs,
// Fastify) are optional peer dependencies that a collector alone does not need (docs/install.md):
// when one is missing, the command names it and how to install it, instead of a stack trace.

/** What `npm install` adds next to audtrail for the command; the same line as docs/install.md. */
const SERVER_INSTALL =
  'npm install chdb @clickhouse/client@1.23 @clickhouse/client-common@1.23 kafkajs fastify audtrail'

/** The package an `ERR_MODULE_NOT_FOUND` names, when it is a package and not a file. */
function missingPackage(err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') return undefined
  return /Cannot find package '([^']+)'/.exec(String(err.message))?.[1]
}

let cli
try {
  cli = await import('../dist/cli/main.js')
} catch (err) {
  const name = missingPackage(err)
  const message = name
    ? `the package '${name}' is not installed. The audtrail command needs the server's ` +
      `packages, optional peer dependencies of audtrail; install them next to it:\n` +
      `  ${SERVER_INSTALL}\n(see docs/install.md in the package)`
    : err?.code === 'ERR_MODULE_NOT_FOUND' && /dist[\\/]cli[\\/]main\.js/.test(String(err.message))
      ? 'the CLI is not built: run `npm run build` in the audtrail checkout'
      : err instanceof Error
        ? err.message
        : String(err)
  process.stderr.write(`audtrail: ${message}\n`)
  process.exitCode = 1
}

cli?.main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    process.stderr.write(`audtrail: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  },
)
