// `npm run demo [-- --once] [-- --port P] [-- --data-dir DIR]`: installs what is missing, builds,
// then runs `audtrail demo` with the given arguments (in this process, so Ctrl-C reaches it
// directly). The demo needs no Kafka and no ClickHouse server: `audtrail serve` runs on the
// embedded engine. See src/cli/demo.ts for what it starts.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

function run(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1
}

/** The packages of package.json (dependencies and development ones) not in node_modules. */
function missingPackages() {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter(
    (name) => !existsSync(`node_modules/${name}/package.json`),
  )
}

// npm packages: install when node_modules is missing or older than the lockfile, or lacks a
// package of package.json. The demo's packages (ClickHouse engine, Fastify, Express,
// oidc-provider, the MCP SDK) are development dependencies (optional peers, or none, of the
// published package), so development dependencies are installed even where npm omits them.
const hidden = 'node_modules/.package-lock.json'
const missing = existsSync('node_modules') ? missingPackages() : []
if (
  !existsSync(hidden) ||
  statSync(hidden).mtimeMs < statSync('package-lock.json').mtimeMs ||
  missing.length > 0
) {
  console.log(
    `installing npm packages (npm install${missing.length ? `: ${missing.join(', ')} missing` : ''}) ...`,
  )
  if (run('npm', ['install', '--include=dev', '--no-audit', '--no-fund']) !== 0) process.exit(1)
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
