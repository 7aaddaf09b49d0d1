import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))
const SERVE_PROCESS = fileURLToPath(new URL('../../src/demo/serve-process.ts', import.meta.url))

/** Running: it exists and is not a zombie (an exited orphan may wait for init to reap it). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('serve started by the demo', () => {
  it('stops itself when the demo process is killed without stopping it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-orphan-'))
    writeFileSync(join(dir, 'resources.json'), '[]\n')
    const parentScript = join(dir, 'parent.mts')
    // A demo stand-in: starts serve, prints its pid once it listens, then waits to be killed.
    writeFileSync(
      parentScript,
      `import { freePort, startServe } from ${JSON.stringify(SERVE_PROCESS)}
const serve = startServe({
  command: [process.execPath, ${JSON.stringify(BIN)}],
  port: await freePort(),
  dataDir: ${JSON.stringify(join(dir, 'data'))},
  registryFile: ${JSON.stringify(join(dir, 'resources.json'))},
  env: { PATH: process.env.PATH },
})
await serve.listening
console.log('serve pid', serve.pid)
setInterval(() => {}, 1000)
`,
    )
    const parent = spawn(process.execPath, ['--import', 'tsx', parentScript], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const servePid = await new Promise<number>((resolve, reject) => {
      let out = ''
      parent.stdout.on('data', (d: Buffer) => {
        out += String(d)
        const m = /serve pid (\d+)/.exec(out)
        if (m) resolve(Number(m[1]))
      })
      parent.once('exit', (code) => reject(new Error(`parent exited with ${code}: ${out}`)))
    })
    try {
      expect(alive(servePid)).toBe(true)
      parent.kill('SIGKILL')
      // Liveness, not timing: serve must go away (it checks every second; 60 s is only a bound).
      for (let i = 0; i < 600 && alive(servePid); i++) await new Promise((r) => setTimeout(r, 100))
      expect(alive(servePid)).toBe(false)
    } finally {
      if (alive(servePid)) process.kill(servePid, 'SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
