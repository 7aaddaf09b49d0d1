/**
 * The console in a real browser: Debian's Chromium, headless, driven by puppeteer-core
 * (`node scripts/chromium.mjs ensure` installs it once). The analyst signs in through the demo's
 * oidc-provider (authorization code + PKCE; the API verifies the token against the provider's
 * keys), filters the queue to critical, opens a cross-audience replay, checks its evidence and
 * timeline, triages it with a note, adds an exception and opens the compliance view. Every page
 * is screenshotted to .cache/console-screenshots/<run>/ and checked by axe-core (no serious or
 * critical violation); no page may trip its Content Security Policy.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { createRemoteJWKSet } from 'jose'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthenticator } from '../../src/api/auth.js'
import {
  startAuthorizationServer,
  type DemoAuthorizationServer,
} from '../../src/demo/authorization-server.js'
import { freePort } from '../../src/demo/serve-process.js'
import { migrate } from '../../src/storage/migrate.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { MCP_B, seedFindings } from './seed.js'

const AUDIENCE = 'https://audtrail.test/api'
const NOTE = 'replay confirmed at mcp-b; revoking the grant'
const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)
const shots = join('.cache', 'console-screenshots', new Date().toISOString().replace(/[:.]/g, '-'))

const storage = testStorage('console_browser')
let as: DemoAuthorizationServer
let app: FastifyInstance
let browser: Browser
let page: Page
let base: string
const cspViolations: string[] = []

const quiet = {
  emit: () => {},
  flush: async () => {},
  close: async () => {},
  stats: () => ({ emitted: 0, sent: 0, spooled: 0, replayed: 0, dropped: 0, failures: 0 }),
}

beforeAll(async () => {
  let executablePath: string
  try {
    executablePath = execFileSync(process.execPath, ['scripts/chromium.mjs', 'ensure'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim()
  } catch {
    throw new Error(
      'the browser test needs Chromium: `node scripts/chromium.mjs ensure` (root, apt) installs ' +
        "Debian's chromium package, or set CHROMIUM_PATH to a Chromium binary",
    )
  }
  await migrate(storage, { retention: RETENTION })
  await seedFindings(storage, 'default', { replayKey: 'replayed-token', client: 'agent-7' })
  await seedFindings(storage, 'other', { replayKey: 'other-token', client: 'other-agent' })
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  as = await startAuthorizationServer(quiet as never, {
    console: {
      clientId: 'audtrail-console',
      redirectUris: [`${base}/auth/callback`],
      audience: AUDIENCE,
      tenant: 'default',
      roles: ['analyst', 'admin'],
    },
  })
  app = await testApp({ keys: createRemoteJWKSet(new URL(as.jwksUri)) } as never, {
    storage,
    authenticate: createAuthenticator({
      keys: createRemoteJWKSet(new URL(as.jwksUri)),
      issuer: as.issuer,
      audience: AUDIENCE,
    }),
    console: {
      oidc: { issuer: as.issuer, clientId: 'audtrail-console', audience: AUDIENCE, baseUrl: base },
    },
  })
  await app.listen({ host: '127.0.0.1', port })
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 900 })
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text())
  })
  mkdirSync(shots, { recursive: true })
}, 600_000)

afterAll(async () => {
  await browser?.close()
  await app?.close()
  await as?.close()
  await closeTestStorages()
})

/** axe-core on the page as it is: the serious and critical violations (none expected). */
async function accessible(name: string): Promise<void> {
  await page.evaluate(axeSource)
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(): Promise<{
            violations: { id: string; impact: string; nodes: { target: string[] }[] }[]
          }>
        }
      }
    ).axe
    const result = await axe.run()
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  })
  expect(violations, name).toEqual([])
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
}

describe('the console in Chromium', () => {
  it('signs in through oidc-provider, triages a critical replay, adds an exception, opens compliance', async () => {
    // Sign-in: the console sends the browser to the provider and back (code + PKCE).
    await page.goto(`${base}/`, { waitUntil: 'networkidle0' })
    await page.waitForSelector('h1')
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Findings')
    expect(await page.$eval('.who', (w) => w.textContent)).toContain('tenant default')
    const cookies = await browser.cookies()
    const session = cookies.find((c) => c.name === 'audtrail_console')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
    expect(await page.evaluate('Object.keys(localStorage).length')).toBe(0)
    expect(await page.$$eval('tbody tr', (rows) => rows.length)).toBeGreaterThan(1)
    expect(await page.content()).not.toContain('other-agent')
    await accessible('1-queue')

    // Filter to critical: htmx swaps the results and puts the filter in the URL.
    await page.click('input[name="severity"][value="critical"]')
    await Promise.all([
      page.waitForFunction("location.search.includes('severity=critical')"),
      page.click('form.filters button[type="submit"]'),
    ])
    await page.waitForFunction(
      "document.querySelectorAll('#results tbody tr').length > 0 && " +
        "[...document.querySelectorAll('#results tbody tr .sev')].every((s) => s.textContent === 'critical')",
    )
    await accessible('2-queue-critical')

    // The cross-audience replay: summary, evidence events, the timeline drawn.
    const link = await page.waitForSelector(
      'xpath///a[contains(., "replayed at a resource outside")]',
    )
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), link!.click()])
    expect(await page.$eval('#summary', (s) => s.textContent)).toContain('token replayed-token')
    expect(await page.$eval('#summary', (s) => s.textContent)).toContain(MCP_B)
    const marks = await page.$$eval('#timeline g.mark', (g) =>
      g.map((m) => m.getAttribute('class')),
    )
    expect(marks.length).toBe(3)
    expect(marks.every((m) => m === 'mark accepted')).toBe(true)
    expect(
      await page.$$eval('#timeline text', (t) => t.map((x) => x.textContent).join(' ')),
    ).toContain(MCP_B)
    const evidence = await page.$$eval('#evidence-events tbody tr', (rows) =>
      rows.map((r) => r.textContent ?? ''),
    )
    expect(evidence.length).toBeGreaterThanOrEqual(2)
    expect(evidence.some((r) => r.includes(MCP_B))).toBe(true)
    await accessible('3-finding')

    // Triage with a note: htmx posts the form (CSRF token, same origin) and swaps the section.
    await page.select('#t-status', 'acknowledged')
    await page.$eval('#t-note', (t) => ((t as unknown as { value: string }).value = ''))
    await page.type('#t-note', NOTE)
    await page.click('#triage-form button[type="submit"]')
    await page.waitForFunction(
      `document.querySelector('#note')?.textContent === ${JSON.stringify(NOTE)}`,
    )
    const history = await page.$('#history')
    if (history) {
      // The API reports triage history (contract: history [{ at, by, field, from, to }]).
      const rows = await page.$$eval('#history tbody tr', (r) => r.map((x) => x.textContent ?? ''))
      expect(rows.some((r) => r.includes('note') && r.includes(NOTE))).toBe(true)
      expect(rows.some((r) => r.includes('status') && r.includes('acknowledged'))).toBe(true)
    } else {
      // TODO(merger): once GET /v1/findings/{id} answers `history` (branch triage-export), this
      // branch is dead: the assertions above must hold. Until then the saved state is checked.
      await page.reload({ waitUntil: 'networkidle0' })
      expect(await page.$eval('#status', (s) => s.textContent)).toBe('acknowledged')
      expect(await page.$eval('#note', (s) => s.textContent)).toBe(NOTE)
    }
    await accessible('4-triaged')

    // An exception prefilled from the dedup keys.
    await page.type('#x-reason', 'MCP server B is being fixed to validate aud (change 4711)')
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'networkidle0' }),
      page.click('#exception-form button[type="submit"]'),
    ])
    expect(await page.$eval('.notice', (n) => n.textContent)).toContain('Exception added')
    await accessible('5-exception')

    // The token page, the rules, the resources, the clients.
    for (const [name, path] of [
      ['6-token', '/tokens/replayed-token'],
      ['7-client', '/clients/agent-7'],
      ['8-resources', '/resources'],
      ['9-rules', '/rules'],
      ['10-rule', '/rules/cross-audience-replay'],
    ]) {
      await page.goto(`${base}${path}`, { waitUntil: 'networkidle0' })
      expect(await page.$eval('h1', (h) => h.textContent?.length ?? 0), name).toBeGreaterThan(0)
      await accessible(name!)
    }

    // Compliance: pick a framework, the report inline, downloads offered.
    await page.goto(`${base}/compliance`, { waitUntil: 'networkidle0' })
    await page.select('#c-framework', 'all')
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'networkidle0' }),
      page.click('form.filters button[type="submit"]'),
    ])
    expect(await page.$$eval('section.framework', (s) => s.length)).toBeGreaterThan(1)
    const downloads = await page.$$eval('a[href^="/compliance/download"]', (a) =>
      a.map((x) => x.getAttribute('href')),
    )
    expect(downloads.map((d) => new URLSearchParams(d!.split('?')[1]).get('format'))).toEqual([
      'json',
      'csv',
      'html',
    ])
    await accessible('11-compliance')

    // Swagger UI from local assets.
    await page.goto(`${base}/docs`, { waitUntil: 'networkidle0' })
    await page.waitForSelector('.swagger-ui .info')
    await page.screenshot({ path: join(shots, '12-docs.png') })

    expect(cspViolations).toEqual([])
  }, 240_000)
})
