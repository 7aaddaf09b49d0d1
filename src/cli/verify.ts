/**
 * `audtrail verify`: walk a tenant's event chains against its signed checkpoints
 * (docs/integrity.md) and name every edited, deleted, inserted or truncated row. Exit 0 when
 * clean, 1 on any issue, 2 on wrong arguments or configuration.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { ConfigError } from '../errors.js'
import { NotAnExport, verifyExportFile } from '../exports/events-file.js'
import { renderReport } from '../integrity/render.js'
import { checkpointTrustedKeys } from '../integrity/runtime.js'
import { verifyIntegrity } from '../integrity/verify.js'
import { createIntegrityStore } from '../storage/integrity-store.js'
import { logger, openStorage, prepareStorage } from './runtime.js'

export const VERIFY_USAGE =
  'audtrail verify --tenant TENANT [--checkpoints FILE] [--strict] [--json] [--page-size N] [--data-dir DIR]\n' +
  '       audtrail verify --file EXPORT [--tenant TENANT] [--checkpoints FILE] [--strict] [--json]'

export const VERIFY_HELP = `Options:
  --tenant T         the tenant whose chains are walked (required, but with --file)
  --file F           verify an events export (audtrail export events) offline, without a
                     database: its rows against the checkpoints it carries (and --checkpoints)
  --checkpoints F    checkpoint copies kept outside audtrail (AUDTRAIL_INTEGRITY_CHECKPOINT_FILE):
                     each must also be in ClickHouse, and its heads are checked too
  --strict           rows no signed checkpoint covers yet are issues too
  --json             the report as JSON (the GET /v1/integrity body)
  --page-size N      positions read per query (default 5000)
Keys: AUDTRAIL_INTEGRITY_SIGNING_KEY (its public half) and AUDTRAIL_INTEGRITY_VERIFY_KEYS.
Exit codes: 0 verified, 1 an issue found (or storage failed), 2 usage or configuration.`

/** The JWSs of a checkpoint file (one JSON line each, as the checkpointer appends them). */
export function readCheckpointFile(path: string): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new ConfigError([`--checkpoints: cannot read ${path}`])
  }
  const out: string[] = []
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    try {
      const jws = (JSON.parse(line) as { jws?: unknown }).jws
      if (typeof jws !== 'string') throw new Error('no jws')
      out.push(jws)
    } catch {
      throw new ConfigError([`--checkpoints: line ${i + 1} is not a checkpoint record`])
    }
  }
  return out
}

/** `--file`: an events export verified offline (src/exports/events-file.ts); no storage. */
async function verifyFile(
  path: string,
  values: { tenant?: string; checkpoints?: string; strict?: boolean; json?: boolean },
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const keys = await checkpointTrustedKeys(loadConfig(env))
  const external = values.checkpoints ? readCheckpointFile(values.checkpoints) : []
  let report
  try {
    report = await verifyExportFile(path, {
      keys,
      external,
      strict: values.strict === true,
      tenant: values.tenant,
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (err instanceof NotAnExport) throw new ConfigError([`--file: ${err.message}`])
    if (typeof code === 'string') throw new ConfigError([`--file: cannot read ${path} (${code})`])
    throw err
  }
  if (values.json) out(JSON.stringify(report))
  else for (const line of renderReport(report)) out(line)
  return report.ok ? 0 : 1
}

export async function runVerify(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      checkpoints: { type: 'string' },
      strict: { type: 'boolean' },
      json: { type: 'boolean' },
      'page-size': { type: 'string' },
      'data-dir': { type: 'string' },
      file: { type: 'string' },
    },
  })
  if (values.file !== undefined) return verifyFile(values.file, values, env, out)
  if (!values.tenant || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.tenant))
    throw new ConfigError(['--tenant: a tenant name is required'])
  const pageSize = values['page-size'] === undefined ? 5000 : Number(values['page-size'])
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1_000_000)
    throw new ConfigError(['--page-size: a whole number from 1 to 1000000'])
  const config = loadConfig({
    ...env,
    AUDTRAIL_DATA_DIR: values['data-dir'] ?? env.AUDTRAIL_DATA_DIR,
  })
  const keys = await checkpointTrustedKeys(config)
  const external = values.checkpoints ? readCheckpointFile(values.checkpoints) : []
  const storage = openStorage(config)
  try {
    await prepareStorage(storage, config, logger(config, 'audtrail-verify'))
    const report = await verifyIntegrity(createIntegrityStore(storage), values.tenant, {
      keys,
      external,
      pageSize,
      strict: values.strict === true,
    })
    if (values.json) out(JSON.stringify(report))
    else for (const line of renderReport(report)) out(line)
    return report.ok ? 0 : 1
  } finally {
    await storage.close()
  }
}
