#!/usr/bin/env node
/**
 * Debian's Chromium for the report's browser test (test/reports/browser.test.ts), never a
 * downloaded browser build:
 *
 *   node scripts/chromium.mjs ensure   # installs the `chromium` apt package when missing
 *                                      # (root, Debian/Ubuntu apt); prints the binary's path
 *   node scripts/chromium.mjs path     # prints the path, or exits 1 when there is none
 *
 * Idempotent: with a Chromium on the PATH (or CHROMIUM_PATH), `ensure` only prints it.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { pathToFileURL } from 'node:url'

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']

/** The Chromium binary: CHROMIUM_PATH, else the first candidate on the PATH; undefined if none. */
export function chromiumPath(env = process.env) {
  if (env.CHROMIUM_PATH) {
    try {
      accessSync(env.CHROMIUM_PATH, constants.X_OK)
      return env.CHROMIUM_PATH
    } catch {
      return undefined
    }
  }
  for (const name of CANDIDATES) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim()
  }
  return undefined
}

/** Installs Debian's `chromium` with apt-get when no Chromium is found; returns its path. */
export function ensureChromium({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const existing = chromiumPath()
  if (existing) return existing
  if (process.platform !== 'linux' || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0)
    throw new Error(
      'no Chromium found and apt-get is not available: install Chromium and set CHROMIUM_PATH',
    )
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new Error(
      'no Chromium found: run `sudo apt-get install -y chromium` (or set CHROMIUM_PATH)',
    )
  log('chromium: installing the Debian package with apt-get (once)')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const apt = (...args) =>
    execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env })
  try {
    apt('install', '-y', '--no-install-recommends', 'chromium')
  } catch {
    apt('update')
    apt('install', '-y', '--no-install-recommends', 'chromium')
  }
  const installed = chromiumPath()
  if (!installed) throw new Error('apt-get installed chromium but no binary is on the PATH')
  return installed
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const command = process.argv[2]
  if (command === 'ensure') {
    try {
      console.log(ensureChromium())
    } catch (err) {
      console.error(`chromium: ${err instanceof Error ? err.message : String(err)}`)
      process.exit(1)
    }
  } else if (command === 'path') {
    const found = chromiumPath()
    if (!found) process.exit(1)
    console.log(found)
  } else {
    console.error('usage: node scripts/chromium.mjs ensure|path')
    process.exit(2)
  }
}
