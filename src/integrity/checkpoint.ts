/**
 * Signed checkpoints (docs/integrity.md): the heads of one writer's chains of one tenant, as a
 * text in the C2SP signed-note body rules (UTF-8 lines, each ending in a line feed, no blank
 * line), signed two ways with one Ed25519 key:
 *
 * - a JWS (RFC 7515 compact, `alg: EdDSA`, RFC 8037) made with `jose`, whose payload is the text,
 *   `kid` the RFC 7638 thumbprint of the public key: what audtrail stores and verifies;
 * - a C2SP signed-note signature line (`— <key name> base64(key id || signature)`, key id the
 *   first 4 bytes of SHA-256(name LF 0x01 public key)) over the same text, so that tools of the
 *   transparency-log ecosystem can check the copy written to a file or webhook.
 *
 * It is not a C2SP tlog-checkpoint: that profile's second and third lines are a Merkle tree's
 * size and root, and these chains are linear hash chains (one head per chain, several chains per
 * checkpoint), so the text has lines of its own under its own origin line.
 */
import { createHash, createPublicKey, sign as edSign, type KeyObject } from 'node:crypto'
import { appendFile } from 'node:fs/promises'
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  FlattenedSign,
  flattenedVerify,
  type FlattenedJWS,
  type JWK,
} from 'jose'
import type { Logger } from '../logger.js'
import type { ChainHead, Chainer } from './chainer.js'
import { GENESIS } from '../storage/integrity-chain.js'

export const CHECKPOINT_ORIGIN = 'audtrail/integrity/v1'
export const CHECKPOINT_TYPE = 'audtrail-checkpoint+jws'
export const NOTE_KEY_NAME = 'audtrail-integrity'

export interface Checkpoint {
  tenant: string
  writer: string
  seq: number
  /** ISO 8601 UTC */
  issued_at: string
  /** SHA-256 (hex) of the previous checkpoint's JWS of this tenant and writer; 64 zeros first. */
  previous: string
  chains: ChainHead[]
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint
  jws: string
  /** The text with its signed-note signature line. */
  note: string
  kid: string
}

const TOKEN = /^[A-Za-z0-9._:/-]{1,256}$/
const HEX64 = /^[0-9a-f]{64}$/
/** DateTime64 text as stored: `2026-12-07 19:20:11.123`, written with a T in the text. */
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/
const toStamp = (dateTime64: string) => dateTime64.replace(' ', 'T')
const fromStamp = (stamp: string) => stamp.replace('T', ' ')

/** The checkpoint's text (what both signatures cover). */
export function checkpointText(c: Checkpoint): string {
  for (const v of [c.tenant, c.writer, ...c.chains.map((h) => h.chain)])
    if (!TOKEN.test(v)) throw new TypeError(`checkpoint: not a token: ${v}`)
  const lines = [
    CHECKPOINT_ORIGIN,
    `tenant ${c.tenant}`,
    `writer ${c.writer}`,
    `checkpoint ${c.seq}`,
    `issued ${c.issued_at}`,
    `previous ${c.previous}`,
    ...c.chains.map(
      (h) =>
        `chain ${h.chain} ${h.size} ${h.head} ${toStamp(h.first_received_at)} ${toStamp(h.last_received_at)}`,
    ),
  ]
  return `${lines.join('\n')}\n`
}

/** The checkpoint a text holds; throws on anything that is not exactly what checkpointText writes. */
export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n')
  if (lines.pop() !== '' || lines[0] !== CHECKPOINT_ORIGIN) throw new Error('not a checkpoint text')
  const field = (i: number, name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`).exec(lines[i] ?? '')
    if (!m) throw new Error(`checkpoint: line ${i + 1} is not ${name}`)
    return m[1]!
  }
  const seq = Number(field(3, 'checkpoint'))
  const previous = field(5, 'previous')
  if (!Number.isSafeInteger(seq) || seq < 1 || !HEX64.test(previous))
    throw new Error('checkpoint: bad sequence or previous hash')
  const chains = lines.slice(6).map((line, i) => {
    const m = /^chain (\S+) (\d+) ([0-9a-f]{64}) (\S+) (\S+)$/.exec(line)
    if (!m || !STAMP.test(m[4]!) || !STAMP.test(m[5]!))
      throw new Error(`checkpoint: line ${i + 7} is not a chain`)
    return {
      chain: m[1]!,
      size: Number(m[2]),
      head: m[3]!,
      first_received_at: fromStamp(m[4]!),
      last_received_at: fromStamp(m[5]!),
    }
  })
  const c: Checkpoint = {
    tenant: field(1, 'tenant'),
    writer: field(2, 'writer'),
    seq,
    issued_at: field(4, 'issued'),
    previous,
    chains,
  }
  if (checkpointText(c) !== text) throw new Error('checkpoint: not in canonical text form')
  return c
}

/** RFC 7638 thumbprint of an Ed25519 key's public half: the `kid` of its signatures. */
export async function keyIdOf(key: KeyObject): Promise<string> {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  return calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK, 'sha256')
}

/** The signed-note key id: SHA-256(name LF 0x01 raw public key), first 4 bytes. */
function noteKeyHash(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  const raw = Buffer.from((publicKey.export({ format: 'jwk' }) as JWK).x!, 'base64url')
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${NOTE_KEY_NAME}\n`), Buffer.from([0x01]), raw]))
    .digest()
    .subarray(0, 4)
}

export async function signCheckpoint(
  checkpoint: Checkpoint,
  key: KeyObject,
): Promise<SignedCheckpoint> {
  const text = checkpointText(checkpoint)
  const kid = await keyIdOf(key)
  // The JSON serialization (RFC 7515 section 7.2.2), not the compact one: a compact JWS reads as
  // a bearer token to every secret scanner (ours included), and checkpoints go to files and
  // webhooks whose owners run them.
  const signed = await new FlattenedSign(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: CHECKPOINT_TYPE })
    .sign(key)
  const jws = JSON.stringify({
    protected: signed.protected,
    payload: signed.payload,
    signature: signed.signature,
  })
  const signature = edSign(null, Buffer.from(text, 'utf8'), key)
  const note = `${text}\n\u2014 ${NOTE_KEY_NAME} ${Buffer.concat([noteKeyHash(key), signature]).toString('base64')}\n`
  return { checkpoint, jws, note, kid }
}

/** The digest that the next checkpoint's `previous` names. */
export const checkpointDigest = (jws: string) => createHash('sha256').update(jws).digest('hex')

export type Opened =
  { ok: true; checkpoint: Checkpoint; kid: string } | { ok: false; problem: string }

/** Check a checkpoint's JWS (JSON serialization) against the trusted keys (by kid) and read its text. */
export async function openCheckpoint(
  jws: string,
  keys: ReadonlyMap<string, KeyObject>,
): Promise<Opened> {
  try {
    const parsed = JSON.parse(jws) as FlattenedJWS
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.protected !== 'string')
      return { ok: false, problem: 'not a checkpoint JWS' }
    const header = decodeProtectedHeader(parsed)
    if (header.typ !== CHECKPOINT_TYPE) return { ok: false, problem: 'not a checkpoint JWS' }
    const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined
    if (!key) return { ok: false, problem: `signed by an unknown key (kid ${String(header.kid)})` }
    const { payload } = await flattenedVerify(parsed, key, { algorithms: ['EdDSA'] })
    return {
      ok: true,
      checkpoint: parseCheckpointText(new TextDecoder('utf-8', { fatal: true }).decode(payload)),
      kid: header.kid as string,
    }
  } catch (err) {
    return { ok: false, problem: `invalid: ${err instanceof Error ? err.message : String(err)}` }
  }
}

/** Trusted verifying keys by kid: the signing key's public half and the retired ones. */
export async function trustedKeys(keys: readonly KeyObject[]): Promise<Map<string, KeyObject>> {
  const out = new Map<string, KeyObject>()
  for (const k of keys) {
    const publicKey = k.type === 'private' ? createPublicKey(k) : k
    out.set(await keyIdOf(publicKey), publicKey)
  }
  return out
}

export interface CheckpointerOptions {
  chainer: Chainer
  key: KeyObject
  /** Stores a checkpoint in ClickHouse (the integrity store's writeCheckpoint). */
  store: (tenant: string, signed: SignedCheckpoint) => Promise<void>
  /** A checkpoint after this many acknowledged events (default 10 000). */
  everyEvents?: number
  /** ... or this long after the last one, when anything was added (default 60 000 ms). */
  everyMs?: number
  /** Each checkpoint is appended to this file as one JSON line (outside audtrail's control). */
  file?: string
  /** Each checkpoint is POSTed to this URL as JSON. */
  webhook?: string
  logger?: Logger
  clock?: () => number
}

export interface Checkpointer {
  /** Called after each acknowledged insert: a checkpoint when N events were added since the last. */
  afterInsert(): Promise<void>
  /** Checkpoint every tenant whose heads moved since its last checkpoint. */
  checkpoint(): Promise<SignedCheckpoint[]>
  /** Stop the timer, with a last checkpoint. */
  close(): Promise<void>
}

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const { chainer, key } = options
  const everyEvents = options.everyEvents ?? 10_000
  const everyMs = options.everyMs ?? 60_000
  const clock = options.clock ?? Date.now
  const last = new Map<string, { seq: number; digest: string; signed: string }>()
  let acknowledgedAtLast = chainer.acknowledged
  let running: Promise<SignedCheckpoint[]> | undefined

  async function run(): Promise<SignedCheckpoint[]> {
    acknowledgedAtLast = chainer.acknowledged
    const out: SignedCheckpoint[] = []
    for (const [tenant, chains] of chainer.heads()) {
      const state = last.get(tenant)
      const signedHeads = chains.map((h) => `${h.chain}:${h.size}`).join(',')
      if (state?.signed === signedHeads) continue
      const signed = await signCheckpoint(
        {
          tenant,
          writer: chainer.writer,
          seq: (state?.seq ?? 0) + 1,
          issued_at: new Date(clock()).toISOString(),
          previous: state?.digest ?? GENESIS,
          chains,
        },
        key,
      )
      await options.store(tenant, signed)
      last.set(tenant, {
        seq: signed.checkpoint.seq,
        digest: checkpointDigest(signed.jws),
        signed: signedHeads,
      })
      await publish(signed)
      out.push(signed)
    }
    return out
  }

  /** The copies outside audtrail: a failure is logged, the checkpoint stays in ClickHouse. */
  async function publish(signed: SignedCheckpoint): Promise<void> {
    const record = {
      tenant: signed.checkpoint.tenant,
      writer: signed.checkpoint.writer,
      seq: signed.checkpoint.seq,
      jws: signed.jws,
      note: signed.note,
    }
    if (options.file)
      await appendFile(options.file, `${JSON.stringify(record)}\n`, { mode: 0o600 }).catch(
        (err: unknown) =>
          options.logger?.error({ err: String(err) }, 'integrity: checkpoint not written to file'),
      )
    if (options.webhook)
      await fetch(options.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(record),
        signal: AbortSignal.timeout(5_000),
      })
        .then((r) => {
          if (!r.ok) throw new Error(`status ${r.status}`)
        })
        .catch((err: unknown) =>
          options.logger?.error({ err: String(err) }, 'integrity: checkpoint webhook failed'),
        )
  }

  function checkpoint(): Promise<SignedCheckpoint[]> {
    const next = (running ?? Promise.resolve([])).catch(() => []).then(run)
    running = next
    return next
  }

  const timer = setInterval(() => {
    if (chainer.acknowledged > acknowledgedAtLast)
      checkpoint().catch((err: unknown) =>
        options.logger?.error({ err: String(err) }, 'integrity: checkpoint failed'),
      )
  }, everyMs)
  timer.unref()

  return {
    async afterInsert() {
      if (chainer.acknowledged - acknowledgedAtLast >= everyEvents) await checkpoint()
    },
    checkpoint,
    async close() {
      clearInterval(timer)
      await checkpoint()
    },
  }
}
