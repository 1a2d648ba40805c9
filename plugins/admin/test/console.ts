/**
 * Browser tests of the admin console: a listening test gateway with identity, rate limits, the
 * console and two scripted providers (one with its own settings schema, as a third-party
 * provider would have), driven by Debian's chromium through core's browser kit.
 */
import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import { Type } from '@parley/core'
import {
  createTestGateway,
  providerPlugin,
  scriptedProvider,
  type ScriptedProvider,
  type TestGateway,
} from '@parley/core/testing'
import { openPage, type WatchedPage } from '@parley/core/testing/browser'
import admin, { buildConsole } from '@parley/admin'
import identity from '@parley/identity'
import rateLimit from '@parley/rate-limit'

export { browserTest, DESKTOP, PHONE, until } from '@parley/core/testing/browser'
export const ADMIN = { username: 'admin', password: 'console-admin-password' } as const

let built: Promise<unknown> | undefined
/** The bundle is built fresh once per test process, so tests never run a stale one. */
export function ensureConsoleBundle(): Promise<unknown> {
  return (built ??= buildConsole())
}

/** A provider plugin of the kind a third party writes: its own channel settings, one of them secret. */
export function acmeProvider(): ScriptedProvider {
  const provider = scriptedProvider()
  return Object.assign(provider, {
    settingsSchema: Type.Object(
      {
        region: Type.Union([Type.Literal('eu'), Type.Literal('us')], {
          default: 'eu',
          description: 'Where the Acme account lives',
        }),
        max_retries: Type.Integer({ minimum: 0, maximum: 5, default: 2 }),
        signing_secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    secretSettings: ['signing_secret'],
  })
}

export interface Console {
  readonly gateway: TestGateway
  readonly provider: ScriptedProvider
  readonly url: string
  /** The admin's bearer token, for arranging data through the API. */
  readonly token: string
}

export async function bootConsole(
  t: Test,
  options: { settings?: Record<string, unknown>; theme?: string; plugins?: unknown[] } = {},
): Promise<Console> {
  await ensureConsoleBundle()
  const provider = scriptedProvider()
  const gateway = await createTestGateway({
    plugins: [
      identity,
      providerPlugin('scripted', provider),
      providerPlugin('acme', acmeProvider()),
      rateLimit,
      admin,
      ...((options.plugins ?? []) as never[]),
    ],
    listen: true,
    config: { admin: ADMIN, settings: options.settings ?? {}, ...(options.theme ? { theme: options.theme } : {}) },
  })
  t.teardown(gateway.close)
  const login = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
  const token = (login.json() as { access_token: string }).access_token
  return { gateway, provider, url: gateway.url ?? '', token }
}

/** Signs in through the console's login page and lands on `path`. */
export async function signIn(
  t: Test,
  console: Console,
  path = '/admin',
  options: { viewport?: { width: number; height: number }; expected?: RegExp[]; lang?: string } = {},
): Promise<WatchedPage> {
  const watched = await openPage(t, {
    baseUrl: console.url,
    ...(options.viewport ? { viewport: options.viewport } : {}),
    ...(options.expected ? { expected: options.expected } : {}),
  })
  const { page } = watched
  await page.goto(`${path}${options.lang ? `${path.includes('?') ? '&' : '?'}lang=${options.lang}` : ''}`)
  await page.waitForSelector('[data-role=login-form]')
  await page.fill('input[name=username]', ADMIN.username)
  await page.fill('input[name=password]', ADMIN.password)
  await Promise.all([
    page.waitForURL(url => url.pathname === path.split('?')[0]),
    page.click('[data-role=login-form] button[type=submit]'),
  ])
  await page.waitForSelector('.admin-main:not(:has(.admin-muted:only-child))')
  return watched
}

/** An API call as the admin (arranging data the test is not about). */
export async function asAdmin(
  console: Console,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
) {
  const response = await console.gateway.inject({
    method,
    url,
    headers: { authorization: `Bearer ${console.token}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  })
  if (response.statusCode >= 400) throw new Error(`${method} ${url}: HTTP ${response.statusCode} ${response.body}`)
  return response.statusCode === 204 ? undefined : (response.json() as unknown)
}

/** Fills a labelled field of the open dialog or form by its field name. */
export async function fill(page: Page, scope: string, name: string, value: string): Promise<void> {
  await page.fill(`${scope} [data-field="${name}"] input, ${scope} [data-field="${name}"] textarea`, value)
}

/** The viewport from the top of the page, as a visitor first sees it. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({
    path: new URL(`../../../docs/screenshots/${name}.png`, import.meta.url).pathname,
    fullPage: false,
  })
}
