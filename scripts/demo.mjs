// `npm run demo [-- --once] [-- --port P] [-- --data-dir DIR]`: installs what is missing, builds,
// then runs `audtrail demo` with the given arguments (in this process, so Ctrl-C reaches it
// directly). The demo needs no Kafka and no ClickHouse server: `audtrail serve` runs on the
// embedded engine. See src/cli/demo.ts for what it starts.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

function run(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1
}

// npm packages: install when node_modules is missing or older than the lockfile.
const hidden = 'node_modules/.package-lock.json'
if (!existsSync(hidden) || statSync(hidden).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('installing npm packages (npm install) ...')
  if (run('npm', ['install', '--no-audit', '--no-fund']) !== 0) process.exit(1)
}
if (!existsSync('node_modules/@chdb/lib-linux-x64-gnu') && process.platform === 'linux') {
  console.error(
    'the embedded ClickHouse engine (@chdb/lib-linux-x64-gnu) is not installed: run `npm install`',
  )
  process.exit(1)
}

console.log('building (tsc) ...')
if (run('npx', ['tsc', '-p', 'tsconfig.build.json']) !== 0) process.exit(1)

const { main } = await import('../dist/cli/main.js')
process.exitCode = await main(['demo', ...process.argv.slice(2)], process.env)
