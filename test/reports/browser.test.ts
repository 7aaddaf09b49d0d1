/**
 * The HTML report in a real browser: Debian's Chromium, headless, driven by puppeteer-core
 * (`node scripts/chromium.mjs ensure` installs the apt package once when no Chromium is found;
 * CHROMIUM_PATH names another binary). A report of the real catalog with 10 000 findings is
 * laid out on screen and in print: no control id is broken over two lines, the page is a summary
 * (not hundreds of screens), and the PDF has no blank page.
 */
import { execFileSync } from 'node:child_process'
import { inflateSync } from 'node:zlib'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderReport } from '../../src/reports/index.js'
import { syntheticReport } from './synthetic.js'

let browser: Browser
let page: Page

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
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--font-render-hinting=none',
    ],
  })
  page = await browser.newPage()
}, 600_000)

afterAll(async () => {
  await browser?.close()
})

const html = renderReport(syntheticReport({ findings: 10_000 }), 'html')
const smaller = renderReport(syntheticReport({ findings: 1_000 }), 'html')
const pageHeight = () => page.$eval('html', (el) => el.scrollHeight)

/** Every `.cid` element: its text and how many line boxes it takes. */
async function controlIdBoxes(): Promise<{ text: string; lines: number; height: number }[]> {
  return page.$$eval('.cid', (elements) =>
    elements.map((el) => {
      const rects = [...el.getClientRects()].filter((r) => r.width > 0)
      const lineHeight =
        parseFloat(el.ownerDocument.defaultView!.getComputedStyle(el).lineHeight) || 20
      return {
        text: el.textContent ?? '',
        lines: rects.length,
        height: Math.max(...rects.map((r) => r.height)) / lineHeight,
      }
    }),
  )
}

/** The pages of a PDF (Chromium's: uncompressed object table, Flate content streams) with their drawing operators. */
function pdfPages(pdf: Buffer): { text: boolean; images: boolean; ops: number }[] {
  const raw = pdf.toString('latin1')
  const objects = new Map<number, { dict: string; stream?: Buffer }>()
  for (const m of raw.matchAll(/(\d+) 0 obj\s*([\s\S]*?)endobj/g)) {
    const body = m[2]!
    const streamAt = body.indexOf('stream')
    if (streamAt < 0) {
      objects.set(Number(m[1]), { dict: body })
      continue
    }
    const dict = body.slice(0, streamAt)
    let start = m.index + m[0].indexOf(body) + streamAt + 'stream'.length
    if (raw[start] === '\r') start++
    if (raw[start] === '\n') start++
    const length = Number(/\/Length (\d+)/.exec(dict)?.[1])
    const bytes = pdf.subarray(start, start + length)
    objects.set(Number(m[1]), {
      dict,
      stream: /\/FlateDecode/.test(dict) ? inflateSync(bytes) : bytes,
    })
  }
  expect([...objects.values()].some((o) => /\/Type\s*\/ObjStm/.test(o.dict))).toBe(false)
  const pages = [...objects.values()].filter((o) => /\/Type\s*\/Page(?![a-z])/.test(o.dict))
  return pages.map((p) => {
    const refs = /\/Contents\s*(\[[^\]]*\]|\d+ 0 R)/.exec(p.dict)?.[1] ?? ''
    const content = [...refs.matchAll(/(\d+) 0 R/g)]
      .map((r) => objects.get(Number(r[1]))?.stream?.toString('latin1') ?? '')
      .join('\n')
    return {
      text: /\bBT\b[\s\S]*?\bT[Jj]\b/.test(content),
      images: /\/[A-Za-z0-9]+ Do\b/.test(content),
      ops: content.split(/\s+/).length,
    }
  })
}

/** A PNG's width and height (IHDR). */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

describe('the HTML report in Chromium', () => {
  it('lays out a 10 000-finding report as a summary with every control id on one line', async () => {
    for (const width of [1280, 760]) {
      await page.setViewport({ width, height: 900 })
      const started = performance.now()
      await page.setContent(html, { waitUntil: 'load' })
      const ms = performance.now() - started
      const boxes = await controlIdBoxes()
      expect(boxes.length).toBeGreaterThan(100)
      const broken = boxes.filter((b) => b.lines !== 1 || b.height > 1.5)
      expect(broken, `broken control ids at ${width}px`).toEqual([])
      const height = await pageHeight()
      // A summary: ten times the findings make the page no taller (the lists are capped).
      await page.setContent(smaller, { waitUntil: 'load' })
      expect(height).toBeLessThanOrEqual((await pageHeight()) + 200)
      await page.setContent(html, { waitUntil: 'load' })
      // The whole page as PNG (once: a 50 000 px screenshot takes seconds).
      const png =
        width === 1280
          ? Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }))
          : Buffer.from(await page.screenshot({ type: 'png' }))
      expect(pngSize(png)).toEqual({ width, height: width === 1280 ? height : 900 })
      console.log(
        `browser: ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB HTML laid out in ${ms.toFixed(0)} ms at ${width}px, ${height}px tall, PNG ${(png.length / 1024).toFixed(0)} KiB`,
      )
    }
  })

  it('prints to PDF with no blank page and no control id broken in print layout', async () => {
    await page.setContent(html, { waitUntil: 'load' })
    await page.emulateMediaType('print')
    await page.setViewport({ width: 794, height: 1123 }) // A4 at 96 dpi
    const boxes = await controlIdBoxes()
    expect(boxes.filter((b) => b.lines !== 1 || b.height > 1.5)).toEqual([])
    const pdf = Buffer.from(await page.pdf({ format: 'A4', printBackground: true }))
    await page.emulateMediaType('screen')
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-')
    const pages = pdfPages(pdf)
    expect(pages.length).toBeGreaterThan(5)
    expect(pages.length).toBeLessThan(400)
    const blank = pages.flatMap((p, i) => (p.text || p.images ? [] : [i + 1]))
    expect(blank, 'blank PDF pages').toEqual([])
    console.log(`browser: PDF of ${pages.length} A4 pages, ${(pdf.length / 1024).toFixed(0)} KiB`)
  })

  it('sees a blank page as blank (the check can fail)', async () => {
    await page.setContent(
      '<!doctype html><p>one</p><div style="break-before:page"></div><div style="break-before:page">three</div>',
    )
    const pages = pdfPages(Buffer.from(await page.pdf({ format: 'A4' })))
    expect(pages.map((p) => p.text)).toEqual([true, false, true])
  })

  it('sees a broken id as broken (the check can fail)', async () => {
    await page.setViewport({ width: 300, height: 600 })
    await page.setContent(
      '<!doctype html><p style="width:60px"><span class="cid" style="font-family:monospace">mcp-authz/canonical server uri</span></p>',
    )
    const [box] = await controlIdBoxes()
    expect(box!.lines).toBeGreaterThan(1)
  })
})
