/** The `audtrail` command line: the only place that reads process.env and sets the exit code. */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { ConfigError, isAudtrailError } from '../errors.js'
import { runMigrate } from './migrate.js'

type Command = {
  summary: string
  usage: string
  run: (args: string[], env: NodeJS.ProcessEnv) => Promise<number>
}

const COMMANDS: Record<string, Command> = {
  migrate: {
    summary: 'create or upgrade the ClickHouse schema and reconcile retention; idempotent',
    usage: 'audtrail migrate [--data-dir DIR]',
    run: async (args, env) => {
      const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' } } })
      const config = loadConfig({
        ...env,
        AUDTRAIL_DATA_DIR: values['data-dir'] ?? env.AUDTRAIL_DATA_DIR,
      })
      return runMigrate(config, (line) => process.stdout.write(`${line}\n`))
    },
  },
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return [
    'audtrail: audit-log pipeline and token-usage anomaly detector for OAuth 2.0 access tokens',
    '',
    'Usage: audtrail <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    "  -h, --help     show this help (or a command's usage with `audtrail <command> --help`)",
    '  -v, --version  print the version',
    '',
    'Configuration comes from environment variables (AUDTRAIL_*, CLICKHOUSE_*, KAFKA_BROKERS);',
    'see the README for the full reference.',
  ].join('\n')
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${help()}\n`)
    return 0
  }
  if (name === '-v' || name === '--version') {
    const { createRequire } = await import('node:module')
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string }
    process.stdout.write(`${pkg.version}\n`)
    return 0
  }
  const command = COMMANDS[name]
  if (!command) {
    process.stderr.write(`audtrail: unknown command '${name}'\n\n${help()}\n`)
    return 2
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(`Usage: ${command.usage}\n\n${command.summary}\n`)
    return 0
  }
  try {
    return await command.run(rest, env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`audtrail: ${err.message}\n`)
      return 2
    }
    if (isAudtrailError(err)) {
      process.stderr.write(`audtrail: ${err.message} [${err.code}]\n`)
      return 1
    }
    if (
      err instanceof TypeError &&
      /parseArgs|Unknown option|unexpected argument/i.test(
        `${err.message} ${(err as { code?: string }).code}`,
      )
    ) {
      process.stderr.write(`audtrail: ${err.message}\nUsage: ${command.usage}\n`)
      return 2
    }
    process.stderr.write(
      `audtrail: unexpected error in '${name}': ${err instanceof Error ? err.message : String(err)}\n`,
    )
    return 1
  }
}
