/**
 * Browser tests for UI plugins: Debian's chromium driven by playwright-core (never a downloaded
 * browser). A test fails on any console error, uncaught page error or CSP violation of a page it
 * opened, unless it names the message it expects. Import from `@parley/core/testing/browser`
 * (kept apart from `@parley/core/testing`, so only browser suites load playwright).
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import tap, { type Test } from 'tap'
export { until } from './wait.js'

export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
export const DESKTOP = { width: 1280, height: 800 } as const
export const PHONE = { width: 390, height: 844 } as const

/** Reports CSP violations as console errors, so the problem list catches them. */
const REPORT_CSP = `document.addEventListener('securitypolicyviolation', event => {
  console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline'))
})`

let warned = false

/**
 * tap's `skip` for the browser suites: a reason when chromium is missing, unless
 * PARLEY_REQUIRE_SERVICES=1 (CI), where a missing browser must fail instead of skip.
 */
export function missingChromium(): string | false {
  if (existsSync(CHROMIUM) || process.env.PARLEY_REQUIRE_SERVICES === '1') return false
  const reason = `chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set PARLEY_CHROMIUM); browser tests SKIPPED`
  if (!warned) console.error(`\n${'#'.repeat(78)}\n# ${reason}\n${'#'.repeat(78)}\n`)
  warned = true
  return reason
}

let browser: Promise<Browser> | undefined
/** One chromium per test file (process), closed when the file's tests are done. */
export function sharedBrowser(): Promise<Browser> {
  if (!browser) {
    const launched = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    browser = launched
    tap.teardown(async () => (await launched).close())
  }
  return browser
}

export interface WatchedPage {
  readonly page: Page
  readonly context: BrowserContext
  /** Console errors, page errors and CSP violations seen so far (expected ones excluded). */
  readonly problems: string[]
}

const watched = new WeakMap<Test, WatchedPage[]>()

/**
 * A browser test: skipped with a loud reason without chromium (failed under
 * PARLEY_REQUIRE_SERVICES=1); after `body`, every page it opened must be free of console
 * errors, page errors and CSP violations.
 */
export function browserTest(name: string, body: (t: Test) => Promise<void>): void {
  tap.test(name, { skip: missingChromium() }, async t => {
    await body(t)
    for (const page of watched.get(t) ?? [])
      t.same(page.problems, [], 'no console errors, page errors or CSP violations')
  })
}

export interface OpenPageOptions {
  readonly baseUrl: string
  readonly viewport?: { width: number; height: number }
  /** Console messages the test provokes on purpose (e.g. a 429 answer). */
  readonly expected?: readonly RegExp[]
  /** Runs on the new context before the page opens (cookies, init scripts). */
  readonly prepare?: (context: BrowserContext) => Promise<unknown>
}

/** A fresh browser context and page, closed at teardown; `browserTest` checks its problems. */
export async function openPage(t: Test, options: OpenPageOptions): Promise<WatchedPage> {
  const context = await (
    await sharedBrowser()
  ).newContext({ viewport: options.viewport ?? DESKTOP, baseURL: options.baseUrl, acceptDownloads: true })
  const problems: string[] = []
  const expected = options.expected ?? []
  await context.addInitScript({ content: REPORT_CSP })
  await options.prepare?.(context)
  const page = await context.newPage()
  page.on('console', message => {
    if (message.type() !== 'error') return
    const text = message.text()
    // Browsers ask for /favicon.ico by themselves; a theme without one is not the page's problem.
    if (message.location().url.endsWith('/favicon.ico')) return
    if (!expected.some(pattern => pattern.test(text))) problems.push(`console: ${text}`)
  })
  page.on('pageerror', error => problems.push(`page error: ${error.message}`))
  t.teardown(() => context.close())
  const result = { page, context, problems }
  watched.set(t, [...(watched.get(t) ?? []), result])
  return result
}
