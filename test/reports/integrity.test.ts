import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runVerifyReport } from '../../src/cli/verify-report.js'
import { canonicalJson } from '../../src/events/canonical.js'
import {
  loadSigningKey,
  loadVerifyingKey,
  ReportKeyError,
  reportDigest,
  sealReport,
  verifyReport,
} from '../../src/reports/integrity.js'
import { ComplianceReport, renderReport } from '../../src/reports/index.js'
import { syntheticReport } from './synthetic.js'

const dir = mkdtempSync(join(tmpdir(), 'report-integrity-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateJwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
    publicJwk: JSON.stringify(publicKey.export({ format: 'jwk' })),
  }
}

const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

async function verifyCli(...args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await runVerifyReport(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readFile: (p) => readFileSync(p, 'utf8'),
  })
  return { code, stdout, stderr }
}

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members by UTF-16 code units, writes numbers and strings as ECMAScript does', () => {
    // RFC 8785 section 3.2.3's sorting example and section 3.2.2.3's number forms.
    expect(
      canonicalJson({
        '\u20ac': 'Euro Sign',
        '\r': 'Carriage Return',
        '\ufb33': 'Hebrew',
        '1': 'One',
        '\ud83d\ude00': 'Emoji',
        '\u0080': 'Control',
        '\u00f6': 'o',
      }),
    ).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"o","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji","\ufb33":"Hebrew"}',
    )
    expect(canonicalJson({ numbers: [333333333.3333333, 1e30, 4.5, 0.002, 1e-27, -0] })).toBe(
      '{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27,0]}',
    )
    expect(canonicalJson({ b: [true, null, 'a\u2028"\\'], a: { y: 1, x: undefined } })).toBe(
      '{"a":{"y":1},"b":[true,null,"a\u2028\\"\\\\"]}',
    )
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError)
    expect(() => canonicalJson({ x: 1n })).toThrow(TypeError)
  })

  it('gives one digest whatever the indentation and member order', () => {
    const report = syntheticReport({ findings: 20 })
    const reordered = JSON.parse(JSON.stringify(report, Object.keys(report).reverse())) as object
    const { integrity: _, ...rest } = report
    expect(reportDigest(rest)).toBe(report.integrity.digest)
    expect(reportDigest(JSON.parse(renderReport(report, 'json')) as object)).toBe(
      report.integrity.digest,
    )
    expect(Object.keys(reordered)[0]).toBe('integrity')
  })
})

describe('sealing and verifying a JSON report', () => {
  const keys = keyPair()
  const other = keyPair()

  async function signed() {
    const { integrity: _, ...rest } = syntheticReport({ findings: 30 })
    return sealReport(rest, loadSigningKey(keys.privatePem))
  }

  it('passes untouched, re-indented or reordered; fails once any value changes', async () => {
    const report = await signed()
    expect(ComplianceReport.parse(report).integrity.signature?.alg).toBe('EdDSA')
    const text = renderReport(report, 'json')
    const key = loadVerifyingKey(keys.publicPem)
    expect(await verifyReport(text, key)).toMatchObject({ ok: true, signature: 'valid' })
    expect(await verifyReport(JSON.stringify(report), key)).toMatchObject({ ok: true })

    const tampered = JSON.parse(text) as ComplianceReport
    tampered.frameworks[0]!.controls[0]!.status = 'pass'
    const result = await verifyReport(JSON.stringify(tampered), key)
    expect(result).toMatchObject({ ok: false, digest: { ok: false } })
    expect(result.problems.join(' ')).toMatch(/digest mismatch/)

    // A forger who recomputes the digest still cannot sign it.
    const forged = {
      ...tampered,
      integrity: { ...tampered.integrity, digest: reportDigest(tampered) },
    }
    expect(await verifyReport(JSON.stringify(forged), key)).toMatchObject({
      ok: false,
      digest: { ok: true },
      signature: 'invalid',
    })
    // Without a key the recomputed digest passes: only a signature proves the origin.
    expect(await verifyReport(JSON.stringify(forged))).toMatchObject({
      ok: true,
      signature: 'unchecked',
    })
  })

  it('fails with another key, and with a key but no signature', async () => {
    const report = await signed()
    const wrong = await verifyReport(JSON.stringify(report), loadVerifyingKey(other.publicJwk))
    expect(wrong).toMatchObject({ ok: false, digest: { ok: true }, signature: 'invalid' })
    const unsigned = syntheticReport({ findings: 5 })
    expect(
      await verifyReport(JSON.stringify(unsigned), loadVerifyingKey(keys.publicPem)),
    ).toMatchObject({ ok: false, signature: 'absent' })
    expect(await verifyReport(JSON.stringify(unsigned))).toMatchObject({ ok: true })
  })

  it('reads keys as PKCS#8 or SPKI PEM (also one-line with \\n) and JWK, Ed25519 only', async () => {
    const fromJwk = await sealReport(
      syntheticReport({ findings: 1 }),
      loadSigningKey(keys.privateJwk),
    )
    const oneLine = keys.publicPem.trim().replace(/\n/g, '\\n')
    expect(await verifyReport(JSON.stringify(fromJwk), loadVerifyingKey(oneLine))).toMatchObject({
      ok: true,
      signature: 'valid',
    })
    // A private key verifies with its public half.
    expect(
      await verifyReport(JSON.stringify(fromJwk), loadVerifyingKey(keys.privatePem)),
    ).toMatchObject({ ok: true })
    expect(() => loadSigningKey(keys.publicPem)).toThrow(ReportKeyError)
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString()
    expect(() => loadSigningKey(rsa)).toThrow(/not Ed25519/)
    expect(() => loadSigningKey('not a key')).toThrow(ReportKeyError)
    // The message names the variable, never the key.
    try {
      loadSigningKey(keys.publicPem)
    } catch (err) {
      expect((err as Error).message).not.toContain('BEGIN')
    }
  })
})

describe('audtrail verify-report', () => {
  const keys = keyPair()
  const other = keyPair()

  it('exits 0 on an untouched report, 1 on a tampered one or a wrong key, 2 on bad usage', async () => {
    const { integrity: _, ...rest } = syntheticReport({ findings: 40 })
    const report = await sealReport(rest, loadSigningKey(keys.privatePem))
    const good = file('good.json', renderReport(report, 'json'))
    const pub = file('pub.pem', keys.publicPem)
    const otherPub = file('other.jwk', other.publicJwk)

    const ok = await verifyCli(good, '--key', pub)
    expect(ok).toMatchObject({ code: 0, stderr: '' })
    expect(ok.stdout).toContain('digest: ok')
    expect(ok.stdout).toContain('signature: valid')
    expect(ok.stdout).toContain(report.integrity.digest)
    expect((await verifyCli(good)).stdout).toMatch(/signature: present, not checked/)

    // One character of the JSON file changed: a count.
    const text = readFileSync(good, 'utf8')
    const changed = text.replace(
      /"finding_count": (\d+)/,
      (_, n: string) => `"finding_count": ${Number(n) + 1}`,
    )
    expect(changed).not.toBe(text)
    const bad = await verifyCli(file('tampered.json', changed), '--key', pub)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/digest: MISMATCH/)
    expect(bad.stderr).toMatch(/NOT intact/)
    expect((await verifyCli(file('tampered2.json', changed))).code).toBe(1)

    const wrong = await verifyCli(good, '--key', otherPub)
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/signature: INVALID/)

    expect((await verifyCli()).code).toBe(2)
    expect((await verifyCli(good, '--bogus')).code).toBe(2)
    expect((await verifyCli(good, '--key', file('junk.pem', 'junk'))).code).toBe(2)
    expect((await verifyCli(join(dir, 'missing.json'))).code).toBe(1)
    expect((await verifyCli(file('not-json.json', '<html>'))).code).toBe(1)
  })
})
