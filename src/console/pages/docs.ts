/** /docs for browsers: Swagger UI (swagger-ui-dist, served from /assets/) on /openapi.json. */
import { html, type Html } from '../html.js'

export function docsPage(): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>API reference · audtrail</title>
        <link rel="stylesheet" href="/assets/swagger-ui.css" />
        <link rel="stylesheet" href="/assets/console.css" />
        <script src="/assets/swagger-ui-bundle.js" defer></script>
        <script src="/assets/swagger-init.js" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">audtrail</a>
          <nav aria-label="Console">
            <ul>
              <li><a href="/">Findings</a></li>
              <li><a href="/openapi.json">openapi.json</a></li>
            </ul>
          </nav>
        </header>
        <main id="main">
          <h1 class="skip">API reference</h1>
          <div id="swagger-ui"></div>
        </main>
      </body>
    </html> `
}
