// `npm run bench:NAME`: builds, makes sure the local Kafka runs, then runs bench/NAME.ts with tsx.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
const name = process.argv[2]
if (!name || !/^[a-z-]+$/.test(name)) {
  console.error('usage: node scripts/bench.mjs NAME')
  process.exit(2)
}
if (spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' }).status !== 0)
  process.exit(1)
const { ensureKafka, stopKafka } = await import('./kafka.mjs')
const kafka = await ensureKafka()
const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`], {
  stdio: 'inherit',
  env: { ...process.env, AUDTRAIL_TEST_KAFKA_BROKERS: kafka.brokers },
})
if (kafka.started) await stopKafka()
process.exit(result.status ?? 1)
