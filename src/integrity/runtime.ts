/**
 * The chain and checkpoints as the commands configure them (docs/integrity.md): keys from
 * AUDTRAIL_INTEGRITY_SIGNING_KEY and AUDTRAIL_INTEGRITY_VERIFY_KEYS, the checkpoint cadence and
 * copies from the other AUDTRAIL_INTEGRITY_* variables.
 */
import type { KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Config } from '../config.js'
import { ConfigError } from '../errors.js'
import type { Logger } from '../logger.js'
import { loadSigningKey, loadVerifyingKey, ReportKeyError } from '../reports/integrity.js'
import type { Storage } from '../storage/client.js'
import { createIntegrityStore } from '../storage/integrity-store.js'
import { Chainer } from './chainer.js'
import { startCheckpointer, trustedKeys, type Checkpointer } from './checkpoint.js'

function keyProblem<T>(f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (err instanceof ReportKeyError) throw new ConfigError([err.message])
    throw err
  }
}

/** The key that signs checkpoints, when configured. */
export function checkpointSigningKey(config: Config): KeyObject | undefined {
  const text = config.integrity.signingKey
  return text ? keyProblem(() => loadSigningKey(text, 'AUDTRAIL_INTEGRITY_SIGNING_KEY')) : undefined
}

/**
 * The keys a checkpoint may be signed with, by kid: the signing key's public half and every key
 * of the AUDTRAIL_INTEGRITY_VERIFY_KEYS file (a JWK Set, or PEM public keys one after another).
 */
export async function checkpointTrustedKeys(config: Config): Promise<Map<string, KeyObject>> {
  const keys: KeyObject[] = []
  const signing = checkpointSigningKey(config)
  if (signing) keys.push(signing)
  const file = config.integrity.verifyKeysFile
  if (file) {
    const what = 'AUDTRAIL_INTEGRITY_VERIFY_KEYS'
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      throw new ConfigError([`${what}: cannot read the file`])
    }
    if (text.trim().startsWith('{')) {
      const set = keyProblem(() => JSON.parse(text) as { keys?: unknown[] })
      if (!Array.isArray(set.keys)) throw new ConfigError([`${what}: not a JWK Set`])
      for (const jwk of set.keys)
        keys.push(keyProblem(() => loadVerifyingKey(JSON.stringify(jwk), what)))
    } else
      for (const pem of text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ??
        [])
        keys.push(keyProblem(() => loadVerifyingKey(pem, what)))
  }
  return trustedKeys(keys)
}

export interface Integrity {
  chainer: Chainer
  checkpointer?: Checkpointer
}

/** The sink's chain and checkpointer, or undefined when AUDTRAIL_INTEGRITY=off. */
export function integrityFor(config: Config, storage: Storage, log: Logger): Integrity | undefined {
  if (!config.integrity.enabled) return undefined
  const chainer = new Chainer()
  const key = checkpointSigningKey(config)
  if (!key) {
    log.warn('integrity: no AUDTRAIL_INTEGRITY_SIGNING_KEY, events are chained without checkpoints')
    return { chainer }
  }
  const store = createIntegrityStore(storage)
  const checkpointer = startCheckpointer({
    chainer,
    key,
    everyEvents: config.integrity.checkpointEvents,
    everyMs: config.integrity.checkpointSeconds * 1000,
    file: config.integrity.checkpointFile,
    webhook: config.integrity.checkpointWebhook,
    logger: log,
    store: (tenant, signed) =>
      store.writeCheckpoint(tenant, {
        writer: signed.checkpoint.writer,
        seq: signed.checkpoint.seq,
        issued_at: signed.checkpoint.issued_at,
        jws: signed.jws,
      }),
  })
  log.info({ writer: chainer.writer }, 'integrity: chaining events, signed checkpoints')
  return { chainer, checkpointer }
}
