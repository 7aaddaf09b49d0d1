/**
 * Static files under /assets/: the console's stylesheet and Swagger UI's initializer (kept here as
 * text, so `dist/` needs no copy step), htmx and Swagger UI from their installed packages. Nothing
 * is loaded from a CDN. Each file is read once and served with a content hash as its ETag.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const require = createRequire(import.meta.url)

export const CONSOLE_CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--link:#0550ae;
--critical:#a40e26;--high:#bc4c00;--medium:#7d4e00;--low:#0a3069;--info:#57606a}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:2}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:16px;padding:8px 20px;border-bottom:1px solid var(--line);background:var(--soft)}
.brand{font-weight:700;text-decoration:none;color:var(--fg)}
.top ul{display:flex;gap:14px;list-style:none;margin:0;padding:0}
.top a[aria-current=page]{font-weight:700;text-decoration:none;color:var(--fg)}
.who{margin-left:auto;display:flex;gap:10px;align-items:center;color:var(--muted);font-size:13px}
main{padding:16px 20px;max-width:1400px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:22px 0 8px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:var(--soft);padding:8px;overflow:auto;max-height:420px;border:1px solid var(--line)}
.muted{color:var(--muted)}
.sev{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:700;color:#fff;background:var(--info)}
.sev-critical{background:var(--critical)}.sev-high{background:var(--high)}.sev-medium{background:var(--medium)}.sev-low{background:var(--low)}
.filters{display:flex;flex-wrap:wrap;gap:10px 16px;align-items:flex-end;padding:10px;border:1px solid var(--line);background:var(--soft);margin-bottom:12px}
.filters fieldset{border:0;margin:0;padding:0;display:flex;gap:8px;flex-wrap:wrap}
.filters legend,.field label{display:block;font-size:12px;font-weight:600;color:var(--muted)}
.field{display:flex;flex-direction:column}
input,select,textarea,button{font:inherit}
input[type=text],input[type=date],input[type=search],select,textarea{padding:4px 6px;border:1px solid #8c959f;border-radius:4px;background:#fff}
button{padding:4px 12px;border:1px solid #1f6feb;border-radius:4px;background:#0969da;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--link)}
form.inline{display:inline}
.problem{padding:8px 12px;border-left:4px solid var(--critical);background:#fff5f5}
.notice{padding:8px 12px;border-left:4px solid #1f6feb;background:#f0f6ff}
.summary{font-size:16px;padding:10px 12px;background:var(--soft);border:1px solid var(--line)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:16px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dl.kv dt{font-weight:600;color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}
.pager{display:flex;gap:16px;margin:12px 0}
.timeline svg{width:100%;height:auto;border:1px solid var(--line);background:#fff}
.timeline .accepted{fill:#1a7f37}.timeline .rejected{fill:var(--critical)}.timeline .issued{fill:#0969da}
.timeline text{font:12px system-ui,sans-serif;fill:var(--fg)}
.timeline line{stroke:#8c959f}
.legend{display:flex;gap:16px;font-size:13px;color:var(--muted);margin:6px 0}
.pass{color:#1a7f37;font-weight:700}.fail{color:var(--critical);font-weight:700}
.triage textarea{width:100%;min-height:70px}
.stack{display:flex;flex-direction:column;gap:8px;max-width:560px}
.htmx-request{opacity:.6}
`

/** Swagger UI on the document at /openapi.json (an asset: the CSP allows no inline script). */
export const SWAGGER_INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true })
})
`

interface Asset {
  type: string
  read: () => Buffer
}

const packageFile = (specifier: string) => () => readFileSync(require.resolve(specifier))
const swaggerFile = (name: string) => () =>
  readFileSync(
    join((require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath(), name),
  )

const ASSETS: Record<string, Asset> = {
  'console.css': { type: 'text/css; charset=utf-8', read: () => Buffer.from(CONSOLE_CSS) },
  // The package's own entry point (its `main`), never a path inside it.
  'htmx.js': { type: 'text/javascript; charset=utf-8', read: packageFile('htmx.org') },
  'swagger-ui.css': { type: 'text/css; charset=utf-8', read: swaggerFile('swagger-ui.css') },
  'swagger-ui-bundle.js': {
    type: 'text/javascript; charset=utf-8',
    read: swaggerFile('swagger-ui-bundle.js'),
  },
  'swagger-init.js': {
    type: 'text/javascript; charset=utf-8',
    read: () => Buffer.from(SWAGGER_INIT),
  },
}

const loaded = new Map<string, { type: string; body: Buffer; etag: string }>()

/** An asset by file name, or undefined (unknown, or its package is not installed). */
export function asset(name: string): { type: string; body: Buffer; etag: string } | undefined {
  const known = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
  if (!known) return undefined
  let file = loaded.get(name)
  if (!file) {
    let body: Buffer
    try {
      body = known.read()
    } catch {
      return undefined
    }
    file = {
      type: known.type,
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    }
    loaded.set(name, file)
  }
  return file
}
