/**
 * Browser tests of the portal: Debian's chromium driven by playwright-core (never a downloaded
 * browser), against a real test gateway listening on a port, with the identity, rate-limit and
 * portal plugins and a scripted provider. Every page fails its test on a console error, an
 * uncaught exception or a CSP violation, unless the test names the message it expects.
 */
import type { Page } from 'playwright-core'
import type { AnyPluginDefinition } from '@parley/core'
import type { Test } from 'tap'
import { openPage as openBrowserPage, until, type WatchedPage } from '@parley/core/testing/browser'
import {
  createTestGateway,
  providerPlugin,
  scriptedProvider,
  type ScriptedProvider,
  type TestGateway,
} from '@parley/core/testing'
import identity from '@parley/identity'
import portal, { buildClient, type BuiltClient } from '@parley/portal'
import rateLimit from '@parley/rate-limit'

export { browserTest, DESKTOP, PHONE, until, type WatchedPage } from '@parley/core/testing/browser'
export const ADMIN_PASSWORD = 'portal-admin-password'
export const MODELS = ['slow-bot', 'thinker'] as const

let built: Promise<BuiltClient> | undefined
/** The front-end bundle is built fresh once per test process, so tests never run a stale one. */
export function ensureBundle(): Promise<BuiltClient> {
  return (built ??= buildClient())
}

export interface Portal {
  readonly gateway: TestGateway
  readonly provider: ScriptedProvider
  readonly url: string
  readonly adminToken: string
}

/** A listening gateway with identity, rate limits, the portal and a scripted channel serving MODELS. */
export async function bootPortal(
  t: Test,
  settings: Record<string, unknown> = {},
  options: { readonly theme?: string; readonly plugins?: readonly AnyPluginDefinition[] } = {},
): Promise<Portal> {
  await ensureBundle()
  const provider = scriptedProvider()
  const gateway = await createTestGateway({
    plugins: [identity, providerPlugin('scripted', provider), rateLimit, portal, ...(options.plugins ?? [])],
    listen: true,
    config: {
      admin: { username: 'admin', password: ADMIN_PASSWORD },
      settings,
      ...(options.theme ? { theme: options.theme } : {}),
    },
  })
  t.teardown(gateway.close)
  const login = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: { username: 'admin', password: ADMIN_PASSWORD },
  })
  const adminToken = (login.json() as { access_token: string }).access_token
  const channel = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: `Bearer ${adminToken}` },
    payload: {
      name: 'scripted',
      provider: 'scripted',
      base_url: 'https://1.1.1.1/v1',
      keys: ['sk-portal-test-0000000000'],
      models: [...MODELS],
    },
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
    payload: {
      email: `${name}@example.com`,
      username: name,
      password: 'correct horse battery',
      password_confirm: 'correct horse battery',
    },
  })
  if (response.statusCode !== 201) throw new Error(`register: HTTP ${response.statusCode} ${response.body}`)
  return response.json() as Session
}

/**
 * A fresh browser context and page (see core's browser kit); with `session`, the portal's
 * localStorage holds that signed-in session before the first page loads.
 */
export async function openPage(
  t: Test,
  options: { viewport?: { width: number; height: number }; expected?: RegExp[]; session?: Session; baseUrl: string },
): Promise<WatchedPage> {
  const { session, ...rest } = options
  return openBrowserPage(t, {
    ...rest,
    ...(session
      ? {
          prepare: context =>
            context.addInitScript(value => {
              if (!localStorage.getItem('parley.session')) localStorage.setItem('parley.session', value)
            }, JSON.stringify(session)),
        }
      : {}),
  })
}

/** A newly registered user (`name`) on the chat page, its script started. */
export async function openChat(
  t: Test,
  portalGateway: Portal,
  options: { name?: string; expected?: RegExp[] } = {},
): Promise<WatchedPage & { session: Session }> {
  const session = await registerUser(portalGateway, options.name)
  const watched = await openPage(t, {
    baseUrl: portalGateway.url,
    session,
    ...(options.expected ? { expected: options.expected } : {}),
  })
  await watched.page.goto('/chat')
  await ready(watched.page, 'chat')
  return { ...watched, session }
}

/** Waits until the page's script has started (`data-ready` on its root). */
export async function ready(page: Page, name: string): Promise<void> {
  await page.waitForSelector(`[data-portal-page="${name}"][data-ready="true"]`, { timeout: 10_000 })
}
