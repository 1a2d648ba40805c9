import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors, ParleyError } from '../errors.js'
import { principalOf } from '../auth/authenticate.js'
import { pathOf } from '../http/context.js'
import { setNotFoundPage } from '../http/errors.js'
import type { HttpScope } from '../http/server.js'
import { languageOf, parseLanguage, type Language } from '../i18n.js'
import type { Registered } from '../kernel/registry.js'
import type { SettingsRegistry } from '../settings/registry.js'
import { IMMUTABLE, REVALIDATE, type Asset } from './assets.js'
import type { UiNavItem, UiPage } from './contributions.js'
import type { PageContext, ThemeEngine } from './engine.js'

/** No inline script or style anywhere: themes ship their code and styles as assets. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

/** The policy with `origin` (an object storage's, which browsers upload to and read images from) allowed for both. */
export function contentSecurityPolicy(origin: string | undefined): string {
  if (origin === undefined) return CONTENT_SECURITY_POLICY
  return CONTENT_SECURITY_POLICY.replace("img-src 'self'", `img-src 'self' ${origin}`).replace(
    "connect-src 'self'",
    `connect-src 'self' ${origin}`,
  )
}
export const LANGUAGE_COOKIE = 'lang'
const LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
/** The visitor's light/dark choice: `?color_mode=` sets it, the portal's script too (and keeps a copy in localStorage). */
export const COLOR_MODE_COOKIE = 'color_mode'
export type ColorMode = 'system' | 'light' | 'dark'
const COLOR_MODES: readonly ColorMode[] = ['system', 'light', 'dark']

export interface ThemeRoutesOptions {
  readonly pages: readonly Registered<UiPage>[]
  /** Navigation links; a page sees those of its own area that its visitor may open. */
  readonly nav?: readonly Registered<UiNavItem>[]
  readonly settings: SettingsRegistry
  /** The object storage's origin when browsers reach it directly (`ActiveStorage.browserOrigin`). */
  readonly storageOrigin?: () => string | undefined
}

/**
 * What a page's template gets as `nav`: its area's links, in order, the current one marked.
 * `signed_in`: a portal link for signed-in users on a page whose visitor the server does not
 * know (the portal keeps its session in the browser); the page's script shows it after sign-in.
 */
export interface NavLink {
  readonly label: string
  readonly href: string
  readonly current: boolean
  readonly signed_in: boolean
}

/**
 * Mounts the UI: one GET route per registered page, rendered by the engine, the active theme's
 * assets under `/assets/<theme>/`, its icon at `/favicon.ico`, and its 404 page for browsers. `?lang=zh-CN|en` on any page switches the language
 * and remembers it in the `lang` cookie.
 */
export function installThemeRoutes(app: HttpScope, engine: ThemeEngine, options: ThemeRoutesOptions): void {
  const nav = [...(options.nav ?? [])].map(entry => entry.item).sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
  for (const { item: page } of options.pages) {
    const area = areaOf(page.path)
    app.get(page.path, { schema: { hide: true } }, async (request, reply) => {
      const user = await signedIn(request)
      if (page.access !== 'public' && !user)
        return reply.redirect(`${page.signIn ?? '/login'}?next=${encodeURIComponent(request.url)}`, 302)
      const admin = user?.role === 'admin' || user?.role === 'root'
      if (page.access === 'admin' && !admin) throw errors.PARLEY_ERR_AUTH_FORBIDDEN()
      const lang = languageFor(request, reply)
      const visible = (access: UiNavItem['access']) =>
        access === 'public' || (access === 'user' && user !== undefined) || (access === 'admin' && admin)
      // The portal's session lives in the browser, so its `user` links go out marked, not dropped.
      const browserSession = (access: UiNavItem['access']) => area === 'portal' && access === 'user' && !user
      const links: NavLink[] = nav
        .filter(item => item.area === area && (visible(item.access) || browserSession(item.access)))
        .map(item => ({
          label: item.label,
          href: item.href,
          current: item.href === page.path,
          signed_in: browserSession(item.access),
        }))
      const context: PageContext = {
        site: { title: options.settings.get('site_name'), lang, color_mode: colorModeFor(request, reply, engine) },
        ...(user ? { user } : {}),
        page: { path: page.path, ...(page.title === undefined ? {} : { title: page.title }) },
        nav: links,
      }
      return sendPage(reply, engine.render(page, context), options.storageOrigin?.())
    })
  }

  // A browser asking for a path nothing answers gets the theme's 404 page; API clients (and
  // every /api and /v1 path) keep the JSON envelope.
  setNotFoundPage(app, (request, reply) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || !wantsHtml(request.headers.accept)) return false
    const lang = languageFor(request, reply)
    const context: PageContext = {
      site: { title: options.settings.get('site_name'), lang, color_mode: colorModeFor(request, reply, engine) },
      page: { path: readablePath(pathOf(request.url)), title: NOT_FOUND_TITLE[lang] },
      nav: [],
    }
    void sendPage(reply.code(404), engine.renderNotFound(context), options.storageOrigin?.())
    return true
  })

  app.get(`/assets/:theme/*`, { schema: { hide: true } }, async (request, reply) => {
    const params = request.params as { theme: string; '*': string }
    const asset = params.theme === engine.name ? engine.assets.get(params['*']) : undefined
    if (!asset) throw errors.PARLEY_ERR_HTTP_NOT_FOUND({ method: 'GET', path: request.url.split('?')[0] })
    const version = (request.query as { v?: unknown }).v
    return sendAsset(request, reply, asset, version === asset.hash ? IMMUTABLE : REVALIDATE)
  })

  // Browsers ask for /favicon.ico on their own (and log its 404): answer the theme's icon, an
  // `assets/favicon.ico` or else its `assets/favicon.svg` (the one layouts link).
  app.get('/favicon.ico', { schema: { hide: true } }, async (request, reply) => {
    const asset = engine.assets.get('favicon.ico') ?? engine.assets.get('favicon.svg')
    if (!asset) throw errors.PARLEY_ERR_HTTP_NOT_FOUND({ method: 'GET', path: '/favicon.ico' })
    return sendAsset(request, reply, asset, REVALIDATE)
  })
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string): FastifyReply {
  const etag = `"${asset.hash}"`
  void reply
    .header('content-type', asset.contentType)
    .header('cache-control', cacheControl)
    .header('etag', etag)
    .header('x-content-type-options', 'nosniff')
  if (request.headers['if-none-match'] === etag) return reply.code(304).send()
  return reply.send(asset.body)
}

const NOT_FOUND_TITLE: Readonly<Record<Language, string>> = { en: 'Page not found', 'zh-CN': '页面不存在' }

/** `/%E6%96%87%E6%A1%A3` as `/文档`, for people to read (templates escape it); kept encoded when it does not decode. */
function readablePath(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

function sendPage(reply: FastifyReply, html: string, storageOrigin: string | undefined): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', contentSecurityPolicy(storageOrigin))
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'private, no-cache')
    .header('vary', 'Cookie, Accept-Language')
    .send(html)
}

/** A browser's navigation: `text/html` accepted, and preferred to JSON (not `*\/*` alone, as fetch() sends). */
function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false
  const quality = (type: string) => {
    for (const part of accept.split(',')) {
      const [name = '', ...params] = part.trim().toLowerCase().split(';')
      if (name.trim() !== type) continue
      const q = params.map(param => /^\s*q=([0-9.]+)\s*$/.exec(param)?.[1]).find(value => value !== undefined)
      return q === undefined ? 1 : Number(q)
    }
    return 0
  }
  const html = quality('text/html')
  return html > 0 && html >= quality('application/json')
}

/**
 * The signed-in user. A stale or broken credential on a page load (a 401) counts as signed out,
 * so the visitor is sent to sign in; anything else (the database down) stays an error.
 */
async function signedIn(request: FastifyRequest): Promise<{ name: string; role: string } | undefined> {
  const principal = await principalOf(request).catch((error: unknown) => {
    if (error instanceof ParleyError && error.statusCode === 401) return undefined
    throw error
  })
  return principal?.kind === 'user' ? { name: principal.name, role: principal.role } : undefined
}

function areaOf(path: string): UiNavItem['area'] {
  return path === '/admin' || path.startsWith('/admin/') ? 'admin' : 'portal'
}

/** `?lang=` (remembered in a cookie), else the cookie, else `Accept-Language`, else English. */
function languageFor(request: FastifyRequest, reply: FastifyReply): Language {
  const asked = parseLanguage((request.query as { lang?: unknown } | undefined)?.lang)
  if (asked) {
    void reply.header(
      'set-cookie',
      `${LANGUAGE_COOKIE}=${asked}; Path=/; Max-Age=${LANGUAGE_COOKIE_MAX_AGE}; SameSite=Lax`,
    )
    return asked
  }
  return (
    parseLanguage(cookie(request.headers.cookie, LANGUAGE_COOKIE)) ?? languageOf(request.headers['accept-language'])
  )
}

/**
 * Light, dark or the system's: `?color_mode=` (remembered in a cookie), else the cookie, else
 * the site's default, the theme's `color_scheme` setting when it has one (`auto` is the
 * system's). Layouts print it as `<html data-theme>`, so the first paint has the right colours.
 */
function colorModeFor(request: FastifyRequest, reply: FastifyReply, engine: ThemeEngine): ColorMode {
  const asked = parseColorMode((request.query as { color_mode?: unknown } | undefined)?.color_mode)
  if (asked) {
    void reply.header(
      'set-cookie',
      `${COLOR_MODE_COOKIE}=${asked}; Path=/; Max-Age=${LANGUAGE_COOKIE_MAX_AGE}; SameSite=Lax`,
    )
    return asked
  }
  const scheme = engine.custom.color_scheme
  return (
    parseColorMode(cookie(request.headers.cookie, COLOR_MODE_COOKIE)) ??
    (scheme === 'light' || scheme === 'dark' ? scheme : 'system')
  )
}

function parseColorMode(value: unknown): ColorMode | undefined {
  return COLOR_MODES.find(mode => mode === value)
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.split('=')
    if (key?.trim() !== name) continue
    try {
      return decodeURIComponent(value.join('=').trim())
    } catch {
      return undefined // a malformed cookie is ignored, never a 500
    }
  }
  return undefined
}
