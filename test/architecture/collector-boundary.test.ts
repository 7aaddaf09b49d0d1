/**
 * The library a collector user installs (`audtrail/emitter`, `audtrail/collectors/*`,
 * `audtrail/events`) is the collectors and the events contract, nothing of the server: their
 * files import only `src/events/`, `src/collectors/` and two files of `src/` that import nothing
 * themselves (the error hierarchy and the list of JWS algorithms). Packages are the business of
 * test/package/collector-imports.test.ts; this test holds the folders, and runs the emitter as
 * built to see that it does not load kafkajs until a Kafka transport is created.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { randomUUID } from 'node:crypto'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { importsOf, rel, ROOT, SRC, sourceFiles, topLevel, type Import } from './imports.js'

/** Files of src/ outside the two folders that the library may import: each imports nothing. */
const SHARED_LEAVES = ['errors.ts', 'jwt-algorithms.ts']
const LIBRARY_FOLDERS = ['collectors', 'events']

const libraryFiles = LIBRARY_FOLDERS.flatMap((f) => sourceFiles(join(SRC, f)))

function leaving(imports: Import[]): string[] {
  return imports
    .filter((i) => i.specifier.startsWith('.'))
    .filter((i) => {
      if (!i.target || !i.target.startsWith(SRC)) return true
      const top = topLevel(i.target)
      return !LIBRARY_FOLDERS.includes(top) && !SHARED_LEAVES.includes(top)
    })
    .map((i) => `${rel(i.from)} -> ${i.specifier}`)
}

describe('collectors and the events contract import nothing of the server', () => {
  it('finds the library files, the emitter among them', () => {
    expect(libraryFiles.map(rel)).toEqual(
      expect.arrayContaining([
        'src/collectors/emitter/index.ts',
        'src/collectors/fastify.ts',
        'src/events/index.ts',
      ]),
    )
  })

  it.each(libraryFiles.map((f) => [rel(f), f] as const))(
    '%s imports only events/, collectors/ and the shared leaves',
    (_name, file) => {
      expect(leaving(importsOf(file))).toEqual([])
    },
  )

  it.each(SHARED_LEAVES)('the shared leaf src/%s imports no module of the tree', (leaf) => {
    expect(importsOf(join(SRC, leaf)).filter((i) => i.specifier.startsWith('.'))).toEqual([])
  })

  it('the check sees an edge that leaves: the consumer imports the pipeline', () => {
    const consumer = join(SRC, 'transport/consumer.ts')
    expect(leaving(importsOf(consumer)).length).toBeGreaterThan(0)
  })
})

/**
 * The emitter's modules compiled as `npm run build` compiles them (each file on its own, with the
 * build's options), into a folder of the checkout so that its packages resolve.
 */
function buildEmitter(): { dir: string; entry: string } {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.build.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => void d },
  )!
  const dir = join(ROOT, '.cache', `emitter-build-${randomUUID()}`)
  const entry = join(SRC, 'collectors/emitter/index.ts')
  const seen = new Set<string>()
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.shift()!
    if (seen.has(file)) continue
    seen.add(file)
    const out = join(dir, relative(SRC, file)).replace(/\.ts$/, '.js')
    mkdirSync(dirname(out), { recursive: true })
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      // ES modules, as the build emits them for this `"type": "module"` package.
      compilerOptions: { ...config.options, module: ts.ModuleKind.ESNext },
      fileName: file,
    })
    writeFileSync(out, outputText)
    for (const i of importsOf(file)) if (i.target && !i.typeOnly) queue.push(i.target)
  }
  return { dir, entry: join(dir, 'collectors/emitter/index.js') }
}

/** Runs `code` as an ES module beside the built emitter; returns what it printed. */
function run(code: string): string {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (result.status !== 0) throw new Error(`node failed: ${result.stderr}`)
  return result.stdout.trim()
}

describe('the built emitter loads kafkajs only when a Kafka transport is created', () => {
  it('importing audtrail/emitter and sending through memory loads no kafkajs; creating the Kafka transport does', () => {
    const { dir, entry } = buildEmitter()
    try {
      const loaded = `Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/kafkajs/'))`
      const out = run(`
        import { createRequire } from 'node:module'
        import { pino } from 'pino'
        const emitter = await import(${JSON.stringify(entry)})
        const memory = emitter.createMemoryTransport()
        const e = emitter.createEmitter({ transport: memory, logger: pino({ level: 'silent' }) })
        await e.close()
        const before = ${loaded}
        emitter.createKafkaTransport({ brokers: ['127.0.0.1:9'] }, pino({ level: 'silent' }))
        const after = ${loaded}
        console.log(JSON.stringify({ before, after, topic: emitter.DEFAULT_TOPIC }))
        process.exit(0)
      `)
      expect(JSON.parse(out)).toEqual({ before: false, after: true, topic: 'audtrail.events.v1' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
