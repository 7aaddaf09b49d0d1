/**
 * `audtrail demo [--once] [--port P] [--data-dir DIR]`: the scenario of `npm run demo`. It starts
 * `audtrail serve` as a child process through this package's own `bin/audtrail.js` (the embedded
 * engine wants one data directory per process) on port P: default AUDTRAIL_PORT, else 8080, or a
 * free port when 8080 is taken; 0 picks a free one. DIR defaults to a fresh temporary directory,
 * removed at the end, so reruns never see an earlier run's history; a DIR given is kept, and a
 * second run in it within the same clock hour finds that hour's spike already reported. Ctrl-C or
 * SIGTERM stops serve and the peers. The exit status is 0 only when every expected finding
 * appeared.
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ConfigError } from '../errors.js'
import { shutdownSignal } from './runtime.js'

/** The port of `audtrail serve` when neither --port nor AUDTRAIL_PORT names one (if it is free). */
const DEFAULT_PORT = 8080
/** Two levels up from both `src/cli/` and `dist/cli/`. */
const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))

export async function runDemoCommand(
  args: string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      once: { type: 'boolean', default: false },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  })
  const portText = values.port ?? env.AUDTRAIL_PORT
  const port = Number(portText)
  if (portText !== undefined && (!/^\d{1,5}$/.test(portText) || port > 65535))
    throw new ConfigError([`--port: must be a port number from 0 to 65535, not '${portText}'`])
  const dataDir = values['data-dir']
  if (dataDir !== undefined && dataDir.trim() === '')
    throw new ConfigError(['--data-dir: must not be empty'])
  // Loaded here, not with the CLI: the peers bring oidc-provider, the MCP SDK and Express.
  const { runDemo } = await import('../demo/run.js')
  return runDemo({
    once: values.once,
    port: portText === undefined ? { preferred: DEFAULT_PORT } : port,
    dataDir,
    command: [process.execPath, BIN],
    env,
    stop: shutdownSignal(),
    print,
  })
}
