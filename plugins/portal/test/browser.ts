/**
 * Browser tests of the portal: Debian's chromium driven by playwright-core (never a downloaded
 * browser), against a real test gateway listening on a port, with the identity, rate-limit and
 * portal plugins and a scripted provider. Every page fails its test on a console error, an
 * uncaught exception or a CSP violation, unless the test names the message it expects.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import tap, { type Test } from 'tap'
import { createTestGateway, providerPlugin, scriptedProvider, type ScriptedProvider, type TestGateway } from '@parley/core/testing'
import identity from '@parley/identity'
import portal, { buildClient } from '@parley/portal'
import rateLimit from '@parley/rate-limit'

export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
export const ADMIN_PASSWORD = 'portal-admin-password'
export const MODELS = ['slow-bot', 'thinker'] as const
export const DESKTOP = { width: 1280, height: 800 } as const
export const PHONE = { width: 390, height: 844 } as const

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

let built: Promise<unknown> | undefined
/** The front-end bundle is built fresh once per test process, so tests never run a stale one. */
export function ensureBundle(): Promise<unknown> {
  return (built ??= buildClient())
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

export interface Portal {
  readonly gateway: TestGateway
  readonly provider: ScriptedProvider
  readonly url: string
  readonly adminToken: string
}

/** A listening gateway with identity, rate limits, the portal and a scripted channel serving MODELS. */
export async function bootPortal(t: Test, settings: Record<string, unknown> = {}, options: { readonly theme?: string } = {}): Promise<Portal> {
  await ensureBundle()
  const provider = scriptedProvider()
  const gateway = await createTestGateway({
    plugins: [identity, providerPlugin('scripted', provider), rateLimit, portal],
    listen: true,
    config: { admin: { username: 'admin', password: ADMIN_PASSWORD }, settings, ...(options.theme ? { theme: options.theme } : {}) },
  })
  t.teardown(gateway.close)
  const login = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: { username: 'admin', password: ADMIN_PASSWORD } })
  const adminToken = (login.json() as { access_token: string }).access_token
  const channel = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: `Bearer ${adminToken}` },
    payload: { name: 'scripted', provider: 'scripted', base_url: 'https://1.1.1.1/v1', keys: ['sk-portal-test-0000000000'], models: [...MODELS] },
  })
  if (channel.statusCode !== 201) throw new Error(`channel: HTTP ${channel.statusCode} ${channel.body}`)
  const id = (channel.json() as { id: number }).id
  await until(() => gateway.catalog.current().channels.some(c => c.id === id), 'the channel in the routing snapshot')
  return { gateway, provider, url: gateway.url ?? '', adminToken }
}

export interface Session {
  readonly access_token: string
  readonly refresh_token: string
  readonly user: { readonly id: number; readonly username: string; readonly email: string }
}

/** Registers a user through the API (the UI flow has its own test). */
export async function registerUser(portalGateway: Portal, name = 'ada'): Promise<Session> {
  const response = await portalGateway.gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: `${name}@example.com`, username: name, password: 'correct horse battery', password_confirm: 'correct horse battery' },
  })
  if (response.statusCode !== 201) throw new Error(`register: HTTP ${response.statusCode} ${response.body}`)
  return response.json() as Session
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
    for (const page of watched.get(t) ?? []) t.same(page.problems, [], 'no console errors, page errors or CSP violations')
  })
}

/**
 * A fresh browser context and page, closed at teardown; `browserTest` checks its problems.
 * `expected` lists console messages the test provokes on purpose (e.g. a 429 answer).
 */
export async function openPage(t: Test, options: { viewport?: { width: number; height: number }; expected?: RegExp[]; session?: Session; baseUrl: string }): Promise<WatchedPage> {
  const context = await (await sharedBrowser()).newContext({ viewport: options.viewport ?? DESKTOP, baseURL: options.baseUrl })
  const problems: string[] = []
  const expected = options.expected ?? []
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', event => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`)
    })
  })
  if (options.session) {
    const session = JSON.stringify(options.session)
    await context.addInitScript(value => {
      if (!localStorage.getItem('parley.session')) localStorage.setItem('parley.session', value)
    }, session)
  }
  const page = await context.newPage()
  page.on('console', message => {
    if (message.type() !== 'error') return
    const text = message.text()
    // Browsers ask for /favicon.ico by themselves; a theme without one is not the portal's problem.
    if (message.location().url.endsWith('/favicon.ico')) return
    if (!expected.some(pattern => pattern.test(text))) problems.push(`console: ${text}`)
  })
  page.on('pageerror', error => problems.push(`page error: ${error.message}`))
  t.teardown(() => context.close())
  const result = { page, context, problems }
  watched.set(t, [...(watched.get(t) ?? []), result])
  return result
}

/** Waits until the page's script has started (`data-ready` on its root). */
export async function ready(page: Page, name: string): Promise<void> {
  await page.waitForSelector(`[data-portal-page="${name}"][data-ready="true"]`, { timeout: 10_000 })
}

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
