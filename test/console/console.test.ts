/**
 * The console through `inject`: pages render from the API's answers, tenant isolation and roles
 * hold (a viewer sees no triage controls), forged form posts are refused before anything changes,
 * and every answer carries the security headers.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthenticator } from '../../src/api/auth.js'
import { escapeHtml, html, safeUrl } from '../../src/console/html.js'
import { safeNext } from '../../src/console/index.js'
import { MemorySessionStore } from '../../src/console/session.js'
import { migrate } from '../../src/storage/migrate.js'
import { testApp } from '../helpers/api-app.js'
import { API_AUDIENCE, API_ISSUER, apiKeys } from '../helpers/api-tokens.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { MCP_B, seedFindings } from './seed.js'

const storage = testStorage('console_inject')
const sessions = new MemorySessionStore()
let app: FastifyInstance
let open: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  await seedFindings(storage, 'acme', { replayKey: 'acme-token', client: 'acme-agent' })
  await seedFindings(storage, 'globex', { replayKey: 'globex-token', client: 'globex-agent' })
  keys = await apiKeys()
  app = await testApp(keys, {
    storage,
    console: {
      sessions,
      // Never contacted: the tests make sessions directly, as a finished sign-in does.
      oidc: {
        issuer: 'https://idp.invalid',
        clientId: 'audtrail-console',
        audience: API_AUDIENCE,
        baseUrl: 'http://console.test',
      },
    },
  })
  open = await testApp(keys, { storage, authenticate: createAuthenticator({}) })
})
afterAll(async () => {
  await app.close()
  await open.close()
  await closeTestStorages()
})

const authenticate = () =>
  createAuthenticator({ keys: keys.keys, issuer: API_ISSUER, audience: API_AUDIENCE })

/** A signed-in session of `roles` in `tenant`: its cookie and CSRF token. */
async function signIn(roles: string[], tenant = 'acme', sub = `${roles[0]}-1`) {
  const accessToken = await keys.token({ roles, tenant, sub })
  const caller = await authenticate()(`Bearer ${accessToken}`)
  const session = sessions.create({ accessToken, caller, expiresAt: Date.now() + 600_000 })
  return { cookie: `audtrail_console=${session.id}`, csrf: session.csrf }
}

async function get(url: string, cookie?: string, on = app) {
  return on.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} })
}

function post(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string>,
  on = app,
) {
  return on.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      host: 'console.test',
      ...headers,
    },
    payload: new URLSearchParams(form).toString(),
  })
}

/** The id of the tenant's critical cross-audience-replay finding, through the API. */
async function replayFinding(
  tenant: string,
): Promise<{ id: string; status: string; note: string }> {
  const token = await keys.token({ roles: ['viewer'], tenant })
  const res = await app.inject({
    url: '/v1/findings?rule=cross-audience-replay&severity=critical',
    headers: { authorization: `Bearer ${token}` },
  })
  const [finding] = res.json().items
  expect(finding).toBeDefined()
  return finding
}

describe('the queue', () => {
  it('lists the caller tenant findings, filtered by the URL query under the API names', async () => {
    const { cookie } = await signIn(['viewer'])
    const all = await get('/', cookie)
    expect(all.statusCode).toBe(200)
    expect(all.headers['content-type']).toMatch(/^text\/html/)
    expect(all.body).toContain('cross-audience-replay')
    expect(all.body).toContain('acme-agent')
    expect(all.body).not.toContain('globex')
    const critical = await get('/?severity=critical', cookie)
    expect(critical.body).toMatch(/name="severity"\s+value="critical"\s+checked/)
    const rows = critical.body.match(/<tr>\s*<td><span class="sev sev-[a-z]+">[a-z]+/g) ?? []
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.endsWith('critical'))).toBe(true)
    const none = await get('/?severity=info&client=nobody', cookie)
    expect(none.body).toContain('No finding matches these filters.')
  })

  it('shows the API refusal of a filter as a 400 page, not a failure', async () => {
    const { cookie } = await signIn(['viewer'])
    const res = await get('/?cursor=forged', cookie)
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('The API refused these filters')
  })

  it('sends a browser without a session to sign in, remembering the page', async () => {
    const res = await get('/?severity=critical')
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/auth/login?next=%2F%3Fseverity%3Dcritical')
  })

  it('opens directly when the API is open (loopback, no authentication), tenant by parameter', async () => {
    const res = await get('/?tenant=globex', undefined, open)
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('globex-agent')
    expect(res.body).not.toContain('acme-agent')
    expect(res.headers['set-cookie']).toMatch(
      /^audtrail_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict/,
    )
  })
})

describe('tenant isolation and roles', () => {
  it('a finding of another tenant is not found, even by its id', async () => {
    const theirs = await replayFinding('globex')
    const { cookie } = await signIn(['admin'])
    const res = await get(`/findings/${theirs.id}`, cookie)
    expect(res.statusCode).toBe(404)
    expect(res.body).not.toContain('globex')
    const token = await get('/tokens/globex-token', cookie)
    expect(token.statusCode).toBe(404)
  })

  it('a viewer sees the finding without triage or exception controls; an analyst triages; an admin adds exceptions', async () => {
    const mine = await replayFinding('acme')
    const viewer = await get(`/findings/${mine.id}`, (await signIn(['viewer'])).cookie)
    expect(viewer.statusCode).toBe(200)
    expect(viewer.body).toContain('id="timeline"')
    expect(viewer.body).toContain(MCP_B)
    expect(viewer.body).not.toContain('<form method="post" action="/findings/')
    expect(viewer.body).toContain('Triage needs the analyst role.')
    const analyst = await get(`/findings/${mine.id}`, (await signIn(['analyst'])).cookie)
    expect(analyst.body).toContain('id="triage-form"')
    expect(analyst.body).not.toContain('id="exception-form"')
    const admin = await get(`/findings/${mine.id}`, (await signIn(['admin'])).cookie)
    expect(admin.body).toContain('id="exception-form"')
    expect(admin.body).toMatch(/name="use_token_key"\s+value="1"\s+checked/)
  })

  it('a viewer who posts a triage form anyway is refused by the API (403), nothing changes', async () => {
    const mine = await replayFinding('acme')
    const { cookie, csrf } = await signIn(['viewer'])
    const res = await post(
      `/findings/${mine.id}/triage`,
      { _csrf: csrf, status: 'resolved', note: 'not mine to say' },
      { cookie, origin: 'http://console.test' },
    )
    expect(res.statusCode).toBe(403)
    expect((await replayFinding('acme')).status).toBe(mine.status)
  })

  it('admins see the parameters in force on a rule page, viewers do not', async () => {
    const admin = await get('/rules/token-usage-spike', (await signIn(['admin'])).cookie)
    expect(admin.body).toContain('id="parameters"')
    const viewer = await get('/rules/token-usage-spike', (await signIn(['viewer'])).cookie)
    expect(viewer.statusCode).toBe(200)
    expect(viewer.body).not.toContain('id="parameters"')
  })
})

describe('forged form posts', () => {
  it('are refused with 403 without a CSRF token, with another session token, or from a foreign origin', async () => {
    const mine = await replayFinding('acme')
    const { cookie, csrf } = await signIn(['analyst'])
    const other = await signIn(['analyst'])
    const url = `/findings/${mine.id}/triage`
    const form = { status: 'false_positive', note: 'forged' }
    const attempts = [
      post(url, form, { cookie }),
      post(url, { ...form, _csrf: 'x'.repeat(43) }, { cookie }),
      post(url, { ...form, _csrf: other.csrf }, { cookie }),
      post(url, { ...form, _csrf: csrf }, { cookie, origin: 'https://evil.example' }),
      post(url, { ...form, _csrf: csrf }, { cookie, 'sec-fetch-site': 'cross-site' }),
      post(url, { ...form, _csrf: csrf }, {}),
    ]
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode).toBe(403)
      expect(res.body).toContain('CSRF')
    }
    const after = await replayFinding('acme')
    expect(after.note).not.toBe('forged')
  })

  it('a genuine post (session, token, same origin) triages and returns to the finding', async () => {
    const mine = await replayFinding('acme')
    const { cookie, csrf } = await signIn(['analyst'], 'acme', 'ana')
    const res = await post(
      `/findings/${mine.id}/triage`,
      { _csrf: csrf, status: 'acknowledged', assignee: 'ana', note: 'looking <b>now</b>' },
      { cookie, origin: 'http://console.test', 'sec-fetch-site': 'same-origin' },
    )
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe(`/findings/${mine.id}?done=triaged`)
    const after = await replayFinding('acme')
    expect(after).toMatchObject({ status: 'acknowledged', note: 'looking <b>now</b>' })
    const page = await get(`/findings/${mine.id}?done=triaged`, cookie)
    expect(page.body).toContain('looking &lt;b&gt;now&lt;/b&gt;')
    expect(page.body).not.toContain('looking <b>now</b>')
  })

  it('bulk triage posts the queue filters to the API (or says the API has none), CSRF-checked', async () => {
    const { cookie, csrf } = await signIn(['analyst'])
    const queue = await get('/?severity=critical', cookie)
    expect(queue.body).toContain('action="/bulk-triage?severity=critical"')
    const viewer = await get('/?severity=critical', (await signIn(['viewer'])).cookie)
    expect(viewer.body).not.toContain('/bulk-triage')
    const url = '/bulk-triage?severity=critical'
    expect((await post(url, { status: 'resolved', dry_run: '0' }, { cookie })).statusCode).toBe(403)
    const before = await replayFinding('acme')
    const res = await post(url, { _csrf: csrf, status: 'resolved', dry_run: '1' }, { cookie })
    expect(res.statusCode).toBe(200)
    const notice = /id="bulk-result">([^<]*)</.exec(res.body)?.[1] ?? ''
    // TODO(merger): with POST /v1/findings/triage (branch triage-export) only the first holds.
    expect(notice).toMatch(
      /^\d+ findings match; nothing was changed\.$|^This API has no bulk triage/,
    )
    expect((await replayFinding('acme')).status).toBe(before.status)
  })

  it('the sign-out form is CSRF-checked too', async () => {
    const { cookie, csrf } = await signIn(['viewer'])
    expect((await post('/auth/logout', {}, { cookie })).statusCode).toBe(403)
    const res = await post('/auth/logout', { _csrf: csrf }, { cookie })
    expect(res.statusCode).toBe(200)
    expect((await get('/', cookie)).statusCode).toBe(303)
  })
})

describe('headers and assets', () => {
  it('every page carries a strict CSP and the other security headers', async () => {
    const { cookie } = await signIn(['admin'])
    const mine = await replayFinding('acme')
    for (const url of [
      '/',
      `/findings/${mine.id}`,
      '/tokens/acme-token',
      '/clients',
      '/clients/acme-agent',
      '/resources',
      '/rules',
      '/rules/cross-audience-replay',
      '/compliance',
      '/compliance?framework=all',
    ]) {
      const res = await get(url, cookie)
      expect(res.statusCode, url).toBe(200)
      const csp = String(res.headers['content-security-policy'])
      expect(csp, url).toContain("script-src 'self'")
      expect(csp, url).toContain("frame-ancestors 'none'")
      expect(csp, url).not.toMatch(/unsafe-(inline|eval)/)
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['referrer-policy']).toBe('same-origin')
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.body, url).not.toMatch(/<script(?![^>]*\bsrc="\/assets\/)/)
    }
  })

  it('serves htmx and Swagger UI locally; /docs is Swagger UI for browsers and JSON otherwise', async () => {
    const htmx = await get('/assets/htmx.js')
    expect(htmx.statusCode).toBe(200)
    expect(htmx.headers['content-type']).toMatch(/javascript/)
    expect(htmx.body.length).toBeGreaterThan(10_000)
    expect((await get('/assets/nope.js')).statusCode).toBe(404)
    const ui = await app.inject({ url: '/docs', headers: { accept: 'text/html' } })
    expect(ui.body).toContain('<script src="/assets/swagger-ui-bundle.js"')
    expect(ui.body).not.toMatch(/https?:\/\/(?!www\.w3)/)
    expect((await get('/docs')).json()).toMatchObject({ openapi: '3.1.0' })
    expect((await get('/openapi.json')).json()).toMatchObject({ openapi: '3.1.0' })
  })

  it('compliance downloads pass the API files through with the caller credentials', async () => {
    const { cookie } = await signIn(['viewer'])
    const csv = await get('/compliance/download?framework=all&format=csv', cookie)
    expect(csv.statusCode).toBe(200)
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename=".+\.csv"$/)
    const json = await get('/compliance/download?framework=all&format=json', cookie)
    expect(json.json()).toMatchObject({ kind: 'audtrail.compliance_report', tenant: 'acme' })
  })
})

describe('the HTML helper', () => {
  it('escapes every interpolated value and keeps only same-origin paths and http(s) URLs', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;',
    )
    expect(html`<p title="${'"><script>'}">${['<i>', 1, null, false]}</p>`.value).toBe(
      '<p title="&quot;&gt;&lt;script&gt;">&lt;i&gt;1</p>',
    )
    expect(safeUrl('javascript:alert(1)')).toBe('#')
    expect(safeUrl('//evil.example/x')).toBe('#')
    expect(safeNext('//evil.example')).toBe('/')
    expect(safeNext('/\\evil.example')).toBe('/')
    expect(safeNext('https://evil.example')).toBe('/')
    expect(safeNext('/findings/abc?x=1')).toBe('/findings/abc?x=1')
  })
})

describe('hostile requests', () => {
  it('answer 4xx pages or redirects, never a 5xx, and never echo markup', async () => {
    const { cookie, csrf } = await signIn(['admin'])
    const gets = [
      '/findings/%00',
      '/findings/not-an-id',
      `/findings/${'a'.repeat(32)}`,
      `/tokens/${'x'.repeat(300)}`,
      '/tokens/%E2%82%AC',
      '/clients/%3Cscript%3E',
      '/rules/%3Cscript%3E',
      '/?severity=%3Cscript%3Ealert(1)%3C/script%3E',
      '/?sort=%22%3E%3Cimg',
      '/?since=yesterday',
      '/compliance?framework=nope&since=2026-13-45',
      '/compliance/download?framework=nope',
      '/assets/..%2Fpackage.json',
      '/auth/callback?code=x&state=y',
    ]
    for (const url of gets) {
      const res = await get(url, cookie)
      expect(res.statusCode, url).toBeLessThan(500)
      expect(res.body, url).not.toMatch(/<script>|<img/)
    }
    // The identity provider of this app does not exist: sign-in is unavailable, said as a page.
    const login = await get('/auth/login?next=https://evil.example')
    expect(login.statusCode).toBe(503)
    expect(login.body).toContain('Sign-in unavailable')
    const posts = [
      post(`/findings/${'b'.repeat(32)}/triage`, { _csrf: csrf, note: 'x' }, { cookie }),
      post('/findings/zzz/exception', { _csrf: csrf }, { cookie }),
      app.inject({
        method: 'POST',
        url: '/findings/zzz/triage',
        headers: { cookie, 'content-type': 'application/json' },
        payload: JSON.stringify({ _csrf: csrf }),
      }),
      app.inject({
        method: 'POST',
        url: '/findings/zzz/triage',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${csrf}&note=${'n'.repeat(70_000)}`,
      }),
    ]
    for (const res of await Promise.all(posts)) expect(res.statusCode).toBeLessThan(500)
  })

  it('an exception post with no key checked is refused by the API and shown, not stored', async () => {
    const mine = await replayFinding('acme')
    const { cookie, csrf } = await signIn(['admin'])
    const res = await post(
      `/findings/${mine.id}/exception`,
      { _csrf: csrf, owner: 'admin-1', reason: 'nothing scoped', expires: '2099-01-01' },
      { cookie, origin: 'http://console.test' },
    )
    expect(res.statusCode).toBe(400)
    expect(res.body).toContain('role="alert"')
    const token = await keys.token({ roles: ['admin'], tenant: 'acme' })
    const list = await app.inject({
      url: '/v1/exceptions',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(list.json().items).toEqual([])
  })
})
