/**
 * `audtrail verify-report FILE [--key PUBLIC_KEY_FILE]`: checks a JSON compliance report's
 * SHA-256 digest of its RFC 8785 canonical form and, with --key (Ed25519, SPKI PEM or public JWK),
 * its JWS signature (src/reports/integrity.ts). Exit codes: 0 the report is intact (and, with
 * --key, signed by that key), 1 tampered, unsigned with --key, wrongly signed or unreadable, 2
 * usage error.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadVerifyingKey, ReportKeyError, verifyReport } from '../reports/integrity.js'

export const VERIFY_REPORT_USAGE = 'audtrail verify-report FILE [--key PUBLIC_KEY_FILE]'

export const VERIFY_REPORT_HELP = [
  'Checks that a JSON compliance report is the one audtrail generated:',
  '  - integrity.digest is the SHA-256 of the report (without integrity) in RFC 8785 canonical form;',
  '  - with --key, integrity.signature is a valid Ed25519 JWS over that digest by that key',
  '    (the key file: SPKI PEM, `openssl pkey -pubout`, or a public JWK).',
  'Exit codes: 0 intact; 1 tampered, unsigned with --key, wrong key or unreadable; 2 usage error.',
].join('\n')

export interface VerifyIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  readFile: (path: string) => string
}

const processIo: VerifyIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFileSync(path, 'utf8'),
}

export async function runVerifyReport(args: string[], io: VerifyIo = processIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { key: { type: 'string' } },
    })
  } catch (err) {
    io.stderr(`audtrail verify-report: ${(err as Error).message}\nUsage: ${VERIFY_REPORT_USAGE}\n`)
    return 2
  }
  if (parsed.positionals.length !== 1) {
    io.stderr(`audtrail verify-report: give exactly one FILE\nUsage: ${VERIFY_REPORT_USAGE}\n`)
    return 2
  }
  const file = parsed.positionals[0]!
  const read = (path: string, what: string): string | undefined => {
    try {
      return io.readFile(path)
    } catch (err) {
      io.stderr(
        `audtrail verify-report: cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}\n`,
      )
      return undefined
    }
  }
  let key
  if (parsed.values.key !== undefined) {
    const text = read(parsed.values.key, 'key')
    if (text === undefined) return 1
    try {
      key = loadVerifyingKey(text, `--key ${parsed.values.key}`)
    } catch (err) {
      if (err instanceof ReportKeyError) {
        io.stderr(`audtrail verify-report: ${err.message}\n`)
        return 2
      }
      throw err
    }
  }
  const text = read(file, 'report')
  if (text === undefined) return 1
  const result = await verifyReport(text, key)
  const lines = [
    `digest: ${result.digest.ok ? 'ok' : 'MISMATCH'}${result.digest.expected ? ` (sha-256 ${result.digest.expected})` : ''}`,
    `signature: ${
      {
        absent: 'none',
        unchecked: 'present, not checked (give --key PUBLIC_KEY_FILE)',
        valid: 'valid',
        invalid: 'INVALID',
      }[result.signature]
    }`,
    ...result.problems.map((p) => `problem: ${p}`),
    result.ok ? `${file}: intact` : `${file}: NOT intact`,
  ]
  ;(result.ok ? io.stdout : io.stderr)(`${lines.join('\n')}\n`)
  return result.ok ? 0 : 1
}
