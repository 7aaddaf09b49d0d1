/** One emitter per spool directory: a lock file holding the owner's pid, taken over when stale. */
import { randomUUID } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import * as path from 'node:path'

const LOCK_FILE = 'audtrail-spool.lock'
// Directories locked by emitters of this process (a pid alone cannot tell two of them apart).
const held = new Set<string>()

export interface SpoolLock {
  release(): Promise<void>
}

/**
 * Takes the lock of `dir` or throws when another live emitter holds it. A lock whose pid is dead,
 * or is this process's own pid without a live holder here (a restarted container is often pid 1
 * again), is stale and taken over.
 */
export async function lockSpool(dir: string): Promise<SpoolLock> {
  const file = path.join(dir, LOCK_FILE)
  const key = path.resolve(dir)
  if (held.has(key)) throw new Error(`spool ${dir} is in use by another emitter of this process`)
  const token = `${process.pid}:${randomUUID()}`
  held.add(key)
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(file, `${token}\n`, { flag: 'wx', mode: 0o600 })
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err
        const owner = Number((await readFile(file, 'utf8').catch(() => '')).split(':')[0])
        if (owner !== process.pid && isAlive(owner))
          throw new Error(`spool ${dir} is in use by process ${owner}`)
        await rm(file, { force: true })
      }
    }
  } catch (err) {
    held.delete(key)
    throw err
  }
  return {
    async release() {
      held.delete(key)
      const current = await readFile(file, 'utf8').catch(() => '')
      if (current.trim() === token) await rm(file, { force: true })
    },
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
