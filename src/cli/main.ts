/** The `audtrail` command line: the only place that reads process.env and sets the exit code. */
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { ConfigError, isAudtrailError } from '../errors.js'
import { runApi } from './api.js'
import { runConsume } from './consume.js'
import { runDemoCommand } from './demo.js'
import { runDetect } from './detect.js'
import { EXPORT_USAGE, runExport } from './export.js'
import { runMigrate } from './migrate.js'
import { REPLAY_HELP, runReplay } from './replay.js'
import { REPORT_USAGE, runReport } from './report.js'
import { runServe } from './serve.js'
import { runVerify, VERIFY_HELP, VERIFY_USAGE } from './verify.js'
import { runVerifyReport, VERIFY_REPORT_HELP, VERIFY_REPORT_USAGE } from './verify-report.js'

type Command = {
  summary: string
  usage: string
  /** More of `audtrail <command> --help`: options, output, exit codes. */
  details?: string
  run: (args: string[], env: NodeJS.ProcessEnv) => Promise<number>
}

/** Wrong arguments: the message and the command's usage, exit code 2. */
class UsageError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`)

/**
 * Configuration from the environment with the common flags on top: `--data-dir`, and for the
 * commands that listen, `--host` and `--port`. Unknown flags are usage errors.
 */
function configFrom(args: string[], env: NodeJS.ProcessEnv, listens = false) {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      ...(listens ? { host: { type: 'string' }, port: { type: 'string' } } : {}),
    },
  }) as { values: { 'data-dir'?: string; host?: string; port?: string } }
  return loadConfig({
    ...env,
    AUDTRAIL_DATA_DIR: values['data-dir'] ?? env.AUDTRAIL_DATA_DIR,
    AUDTRAIL_HOST: values.host ?? env.AUDTRAIL_HOST,
    AUDTRAIL_PORT: values.port ?? env.AUDTRAIL_PORT,
  })
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary:
      'the embedded all-in-one: HTTP ingest and pipeline (Kafka transport with KAFKA_BROKERS)',
    usage: 'audtrail serve [--host HOST] [--port PORT] [--data-dir DIR]',
    run: async (args, env) => runServe(configFrom(args, env, true), out),
  },
  api: {
    summary: 'the query API alone: findings, events, token timelines, inventory, exceptions',
    usage: 'audtrail api [--host HOST] [--port PORT] [--data-dir DIR]',
    run: async (args, env) => runApi(configFrom(args, env, true), out),
  },
  consume: {
    summary: 'Kafka -> pipeline -> ClickHouse; run several for scale-out (one consumer group)',
    usage: 'audtrail consume [--data-dir DIR]',
    run: async (args, env) => runConsume(configFrom(args, env)),
  },
  detect: {
    summary: 'the scheduled detection rules alone, every AUDTRAIL_DETECT_INTERVAL_S',
    usage: 'audtrail detect [--data-dir DIR]',
    run: async (args, env) => runDetect(configFrom(args, env)),
  },
  replay: {
    summary: 'send an NDJSON file of events to the configured transport, with progress',
    usage: 'audtrail replay FILE [--url http://host:port/v1/ingest] [--rejects OUT]',
    details: REPLAY_HELP,
    run: async (args, env) => {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { url: { type: 'string' }, rejects: { type: 'string' } },
      })
      if (positionals.length !== 1) throw new UsageError('replay takes exactly one FILE')
      const tty = process.stderr.isTTY
      // On a terminal the progress line is rewritten in place: a report line clears it first.
      let pending = false
      return runReplay(loadConfig(env), positionals[0]!, {
        url: values.url,
        rejects: values.rejects,
        progress: (line, final) => {
          process.stderr.write(tty ? `\r${line}${final ? '\n' : ''}` : `${line}\n`)
          pending = tty && !final
        },
        report: (line) => {
          process.stderr.write(`${pending ? '\r\x1b[K' : ''}${line}\n`)
          pending = false
        },
      })
    },
  },
  report: {
    summary: 'a compliance report (OWASP NHI/ASI, NIST CSF, 800-53, 800-207, MCP): json, csv, html',
    usage: REPORT_USAGE,
    run: async (args, env) => runReport(args, env),
  },
  export: {
    summary:
      'findings as NDJSON, CSV, OCSF or ECS; events with their chain links and checkpoints, streamed',
    usage: EXPORT_USAGE,
    run: async (args, env) => runExport(args, env),
  },
  'verify-report': {
    summary: "check a JSON compliance report's digest and, with --key, its Ed25519 signature",
    usage: VERIFY_REPORT_USAGE,
    details: VERIFY_REPORT_HELP,
    run: async (args) => runVerifyReport(args),
  },
  verify: {
    summary:
      "walk a tenant's event hash chains against the signed checkpoints; name each tampered row",
    usage: VERIFY_USAGE,
    details: VERIFY_HELP,
    run: async (args, env) => runVerify(args, env, out),
  },
  migrate: {
    summary: 'create or upgrade the ClickHouse schema and reconcile retention; idempotent',
    usage: 'audtrail migrate [--data-dir DIR]',
    run: async (args, env) => runMigrate(configFrom(args, env), out),
  },
  demo: {
    summary: 'the scenario of `npm run demo`: serve, real peers, an attacking agent, the findings',
    usage: 'audtrail demo [--once] [--port PORT] [--data-dir DIR]',
    run: async (args, env) => runDemoCommand(args, env, out),
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
    process.stdout.write(
      `Usage: ${command.usage}\n\n${command.summary}\n${command.details ? `\n${command.details}\n` : ''}`,
    )
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
    const message = err instanceof Error ? err.message : String(err)
    if (
      err instanceof UsageError ||
      String((err as { code?: unknown })?.code).startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`audtrail: ${message}\nUsage: ${command.usage}\n`)
      return 2
    }
    process.stderr.write(`audtrail: unexpected error in '${name}': ${message}\n`)
    return 1
  }
}
