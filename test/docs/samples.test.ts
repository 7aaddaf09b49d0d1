/**
 * Every TypeScript sample in README.md and docs/*.md runs here, as a user would run it: a file
 * importing the built package by its name (`audtrail/...`), executed with tsx in an empty working
 * directory. A sample must exit 0 on its own; it fails with its output otherwise. A sample that
 * prints is followed by its documented output, an ```output block (within the next few lines),
 * which its standard output must match line by line: `…` in a line stands for any text, a line
 * of `…` alone for any number of lines. Shell samples may only name `audtrail` commands that
 * exist.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TSX = join(ROOT, 'node_modules/.bin/tsx')
const BIN = join(ROOT, 'bin/audtrail.js')
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
)

interface Sample {
  file: string
  line: number
  lang: string
  code: string
  /** the ```output block that follows the sample, if any */
  output?: string
}

function samples(file: string): Sample[] {
  const found: Sample[] = []
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!)
    if (!open) continue
    const start = i
    const body: string[] = []
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!)
    const sample: Sample = { file, line: start + 1, lang: open[1]!, code: body.join('\n') }
    // The documented output: an ```output block within the next four lines.
    for (let j = i + 1; j < Math.min(lines.length, i + 5); j++) {
      if (/^```/.test(lines[j]!) && lines[j] !== '```output') break
      if (lines[j] !== '```output') continue
      const out: string[] = []
      while (++j < lines.length && lines[j] !== '```') out.push(lines[j]!)
      sample.output = out.join('\n')
      i = j
      break
    }
    found.push(sample)
  }
  return found
}

/** `actual` matches `expected` line by line; `…` is any text, a line of `…` any lines. */
function matchesOutput(actual: string, expected: string): boolean {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const pattern = expected
    .trimEnd()
    .split('\n')
    .map((line) => line.trimEnd())
    .map((line) =>
      line.trim() === '…'
        ? '(?:[^\\n]*\\n)*?'
        : `${line.split('…').map(escape).join('[^\\n]*')}\\n`,
    )
    .join('')
  return new RegExp(`^${pattern}$`).test(`${actual.replace(/[ \t]+$/gm, '').trimEnd()}\n`)
}

const all = DOCS.flatMap(samples)
const ts = all.filter((s) => s.lang === 'ts')
const sh = all.filter((s) => s.lang === 'sh')

describe('documentation samples', () => {
  it('the README and the guides have TypeScript samples to run', () => {
    expect(ts.filter((s) => s.file === 'README.md').length).toBeGreaterThan(0)
    expect(ts.length).toBeGreaterThanOrEqual(5)
  })

  it.each(ts.map((s) => [`${s.file}:${s.line}`, s] as const))(
    'the TypeScript sample at %s runs and exits 0',
    (_name, sample) => {
      // Inside the package, so `audtrail/...` resolves to the built package by self-reference.
      const dir = join(ROOT, '.cache/samples')
      mkdirSync(dir, { recursive: true })
      const file = join(dir, `${sample.file.replace(/\W/g, '_')}_${sample.line}.ts`)
      writeFileSync(file, sample.code)
      const cwd = mkdtempSync(join(tmpdir(), 'audtrail-sample-'))
      try {
        const run = spawnSync(TSX, [file], { cwd, encoding: 'utf8', timeout: 60_000 })
        expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0)
        if (/console\.log\(/.test(sample.code))
          expect(
            sample.output,
            'a sample that prints is followed by an ```output block',
          ).toBeDefined()
        if (sample.output !== undefined)
          expect(
            matchesOutput(run.stdout, sample.output),
            `documented:\n${sample.output}\nprinted:\n${run.stdout}`,
          ).toBe(true)
      } finally {
        rmSync(cwd, { recursive: true, force: true })
      }
    },
    90_000,
  )

  it('compares outputs line by line, with … for any text', () => {
    expect(matchesOutput('401 Bearer x\n', '401 Bearer x')).toBe(true)
    expect(matchesOutput('401 Bearer x\n', '200 Bearer x')).toBe(false)
    expect(matchesOutput('a 123 b\nc\n', 'a … b\nc')).toBe(true)
    expect(matchesOutput('a\nb\nc\nd\n', 'a\n…\nd')).toBe(true)
    expect(matchesOutput('a\nb\n', 'a')).toBe(false)
    expect(matchesOutput('a (x)\n', 'a (x)')).toBe(true)
  })

  it('shell samples name only audtrail commands that exist', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout
    const commands = new Set([...help.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1]))
    const unknown: string[] = []
    for (const s of sh)
      for (const m of s.code.matchAll(/(?:npx )?audtrail ([a-z][a-z-]*)/g))
        if (!commands.has(m[1]!)) unknown.push(`${s.file}:${s.line}: audtrail ${m[1]}`)
    expect(commands.size).toBeGreaterThan(5)
    expect(unknown).toEqual([])
  })
})
