import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { definePlugin } from '@parley/core'
import { ThemeEngine } from '../src/ui/engine.js'
import { createTestGateway, headerAuth } from '@parley/core/testing'

const fixtures = path.resolve(import.meta.dirname, 'fixtures')
const themesDir = path.join(fixtures, 'themes')
const pluginTemplates = path.join(fixtures, 'ui-plugin/templates')
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
const EVIL = '<script>alert(1)</script>'

// A stand-in auth (x-who header), and a UI plugin with its own templates.
const auth = headerAuth({
  evil: { kind: 'user', userId: '1', role: 'user', group: 'default', name: EVIL },
  user: { kind: 'user', userId: '2', role: 'user', group: 'default', name: 'bob' },
})
const uiPlugin = definePlugin({
  id: 'ui-fixture',
  version: '1.0.0',
  setup(ctx) {
    ctx.ui.pages.register('hello', {
      path: '/hello',
      template: 'hello',
      templatesDir: pluginTemplates,
      access: 'public',
    })
    ctx.ui.pages.register('greeting', {
      path: '/greeting',
      template: 'greeting',
      templatesDir: pluginTemplates,
      access: 'public',
    })
    ctx.ui.pages.register('private', {
      path: '/private',
      template: 'private',
      templatesDir: pluginTemplates,
      access: 'user',
    })
    ctx.ui.pages.register('admin-only', {
      path: '/admin-only',
      template: 'private',
      templatesDir: pluginTemplates,
      access: 'admin',
    })
    ctx.ui.partials.register('card', { name: 'card', file: path.join(pluginTemplates, 'partials/card.hbs') })
    ctx.ui.partials.register('note', { name: 'note', file: path.join(pluginTemplates, 'partials/note.hbs') })
  },
})

const themed = () =>
  createTestGateway({ plugins: [auth, uiPlugin], config: { theme: 'override', themes_dir: themesDir } })

t.test('resolution chain: the theme overrides what it has, the plugin fills in the rest', async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  const greeting = await gateway.inject({ method: 'GET', url: '/greeting', headers: { 'x-who': 'user' } })
  t.equal(greeting.statusCode, 200)
  t.match(greeting.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(greeting.body, /data-layout="override"/, "the theme's layout wraps the page")
  t.match(
    greeting.body,
    /<h1 data-source="theme">Hello from the theme at bob<\/h1>/,
    "the theme's page wins over the plugin's",
  )
  t.notMatch(greeting.body, /plugin greeting/)
  t.match(greeting.body, /data-source="theme-card">bob</, "the theme's partial wins over the plugin's")

  const hello = await gateway.inject({ method: 'GET', url: '/hello' })
  t.equal(hello.statusCode, 200)
  t.match(hello.body, /data-layout="override"/)
  t.match(
    hello.body,
    /<h1 data-source="plugin">Hello from the plugin<\/h1>/,
    "the plugin's page and text, the theme lacking both",
  )
  t.match(hello.body, /data-source="theme-card">from hello</)
  t.match(hello.body, /data-source="plugin-note"/, "the plugin's partial, the theme lacking it")
})

t.test('two plugins may use the same template name; each renders its own', async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-ui-second-'))
  mkdirSync(path.join(dir, 'pages'))
  writeFileSync(path.join(dir, 'pages/hello.hbs'), '{{!-- second --}}\n<p data-source="second">second hello</p>\n')
  const second = definePlugin({
    id: 'second-ui',
    version: '1.0.0',
    setup(ctx) {
      ctx.ui.pages.register('second-hello', {
        path: '/second/hello',
        template: 'hello',
        templatesDir: dir,
        access: 'public',
      })
    },
  })
  const gateway = await createTestGateway({
    plugins: [auth, uiPlugin, second],
    config: { theme: 'override', themes_dir: themesDir },
  })
  t.teardown(gateway.close)
  t.match((await gateway.inject({ method: 'GET', url: '/hello' })).body, /data-source="plugin">Hello from the plugin/)
  t.match((await gateway.inject({ method: 'GET', url: '/second/hello' })).body, /data-source="second">second hello/)
})

t.test('user data and settings are escaped', async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  for (const url of ['/private', '/greeting']) {
    const response = await gateway.inject({ method: 'GET', url, headers: { 'x-who': 'evil' } })
    t.equal(response.statusCode, 200, url)
    t.notMatch(response.body, /<script>/, `${url}: no markup from user data`)
    t.match(response.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, `${url}: escaped`)
  }
  const page = await gateway.inject({ method: 'GET', url: '/hello' })
  t.match(page.body, /<p class="tagline">&lt;i&gt;calm&lt;\/i&gt;<\/p>/, 'a text setting is escaped too')
})

t.test('templates are compiled once, at start', async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  const compiled = gateway.theme.compileCount
  t.ok(compiled >= 6, `compiled ${compiled} templates at start`)
  for (let i = 0; i < 30; i++) {
    for (const url of ['/hello', '/greeting', '/private']) {
      const response = await gateway.inject({
        method: 'GET',
        url,
        headers: { 'x-who': 'user', 'accept-language': i % 2 ? 'zh-CN' : 'en' },
      })
      t.equal(response.statusCode, 200)
    }
  }
  t.equal(gateway.theme.compileCount, compiled, 'no compilation while serving')
})

t.test('pages for users redirect anonymous visitors to /login; admin pages refuse users', async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  const anonymous = await gateway.inject({ method: 'GET', url: '/private' })
  t.equal(anonymous.statusCode, 302)
  t.equal(anonymous.headers.location, '/login?next=%2Fprivate')
  const user = await gateway.inject({ method: 'GET', url: '/admin-only', headers: { 'x-who': 'user' } })
  t.equal(user.statusCode, 403)
  t.equal(user.json().error.type, 'forbidden')
})

t.test('rendered pages carry the Content-Security-Policy', async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  const response = await gateway.inject({ method: 'GET', url: '/hello' })
  t.equal(response.headers['content-security-policy'], CSP)
  t.equal(response.headers['x-content-type-options'], 'nosniff')
  t.notMatch(response.body, /<script[^>]*>[^<]/, 'no inline script')
  t.notMatch(response.body, /style="/, 'no inline style')
})

t.test('assets: hashed URLs, a year of cache, right types, no traversal', async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  const page = await gateway.inject({ method: 'GET', url: '/hello' })
  const css = /href="(\/assets\/override\/css\/app\.css\?v=([0-9a-f]{12}))"/.exec(page.body)
  t.ok(css, 'the asset helper printed a hashed URL')
  const asset = await gateway.inject({ method: 'GET', url: css?.[1] ?? '' })
  t.equal(asset.statusCode, 200)
  t.equal(asset.headers['content-type'], 'text/css; charset=utf-8')
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(asset.body, readFileSync(path.join(themesDir, 'override/assets/css/app.css'), 'utf8'))
  const again = await gateway.inject({
    method: 'GET',
    url: css?.[1] ?? '',
    headers: { 'if-none-match': String(asset.headers.etag) },
  })
  t.equal(again.statusCode, 304)
  const unversioned = await gateway.inject({ method: 'GET', url: '/assets/override/css/app.css' })
  t.equal(unversioned.statusCode, 200)
  t.equal(
    unversioned.headers['cache-control'],
    'public, max-age=0, must-revalidate',
    'a URL without the hash is not cached for long',
  )

  const custom = /href="(\/assets\/override\/\.custom\.css\?v=[0-9a-f]{12})"/.exec(page.body)
  const settings = await gateway.inject({ method: 'GET', url: custom?.[1] ?? '' })
  t.equal(settings.statusCode, 200)
  t.match(settings.body, /--custom-accent-color: #112233;/)

  for (const url of [
    '/assets/override/../package.json',
    '/assets/override/..%2Fpackage.json',
    '/assets/override/%2e%2e/%2e%2e/override/package.json',
    '/assets/override/css/../../package.json',
    '/assets/override/%2Fetc%2Fpasswd',
    '/assets/override/default.hbs',
    '/assets/broken/default.hbs',
    '/assets/override/css/missing.css',
  ]) {
    const response = await gateway.inject({ method: 'GET', url })
    t.equal(response.statusCode, 404, url)
    t.equal(response.json().error.type, 'not_found', url)
    t.notMatch(response.body, /"engines"|\n\s+at /, `${url}: no file content, no stack`)
  }
})

t.test('language: ?lang= (remembered in a cookie), then the cookie, then Accept-Language, then English', async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  const lang = (body: string) => /<html lang="([^"]+)"/.exec(body)?.[1]
  const plain = await gateway.inject({ method: 'GET', url: '/greeting', headers: { 'x-who': 'user' } })
  t.equal(lang(plain.body), 'en')
  const chinese = await gateway.inject({
    method: 'GET',
    url: '/greeting',
    headers: { 'x-who': 'user', 'accept-language': 'fr;q=1, zh-TW;q=0.8, en;q=0.5' },
  })
  t.equal(lang(chinese.body), 'zh-CN')
  t.match(chinese.body, /主题问候 bob/)
  const plugin = await gateway.inject({ method: 'GET', url: '/hello', headers: { 'accept-language': 'zh-CN' } })
  t.match(plugin.body, /插件你好/, "the plugin's own zh-CN text")
  const cookie = await gateway.inject({
    method: 'GET',
    url: '/greeting',
    headers: { 'x-who': 'user', 'accept-language': 'zh-CN', cookie: 'theme=x; lang=en' },
  })
  t.equal(lang(cookie.body), 'en', 'the cookie wins over Accept-Language')
  const switched = await gateway.inject({
    method: 'GET',
    url: '/greeting?lang=zh-CN',
    headers: { 'x-who': 'user', cookie: 'lang=en' },
  })
  t.equal(lang(switched.body), 'zh-CN', 'the query wins over the cookie')
  t.match(String(switched.headers['set-cookie']), /^lang=zh-CN; Path=\/; Max-Age=31536000; SameSite=Lax/)
  const bad = await gateway.inject({
    method: 'GET',
    url: '/greeting?lang=xx',
    headers: { 'x-who': 'user', cookie: 'lang=%E0%A4%A' },
  })
  t.equal(bad.statusCode, 200, 'an unknown language or a malformed cookie is ignored')
  t.equal(lang(bad.body), 'en')
  t.equal(bad.headers['set-cookie'], undefined)
})

t.test('the default theme renders a page in both languages and passes its own settings', async t => {
  const empty = mkdtempSync(path.join(tmpdir(), 'parley-ui-'))
  const home = definePlugin({
    id: 'home-fixture',
    version: '1.0.0',
    setup(ctx) {
      ctx.ui.pages.register('home', { path: '/', template: 'home', templatesDir: empty, access: 'public' })
    },
  })
  const gateway = await createTestGateway({ plugins: [home] })
  t.teardown(gateway.close)
  t.equal(gateway.theme.name, 'default')
  const en = await gateway.inject({ method: 'GET', url: '/' })
  t.equal(en.statusCode, 200)
  t.match(en.body, /<h1>Welcome to Parley<\/h1>/)
  t.match(en.body, /data-color-scheme="auto"/)
  t.match(en.body, /Powered by Parley/)
  t.match(en.body, /href="\/assets\/default\/css\/theme\.css\?v=[0-9a-f]{12}"/)
  const zh = await gateway.inject({ method: 'GET', url: '/?lang=zh-CN' })
  t.match(zh.body, /<h1>欢迎来到 Parley<\/h1>/)
})

t.test("the favicon: the shipped themes link an SVG icon, and /favicon.ico answers the theme's", async t => {
  for (const theme of ['default', 'ink']) {
    const empty = mkdtempSync(path.join(tmpdir(), 'parley-ui-'))
    writeFileSync(path.join(empty, 'blank.hbs'), '')
    mkdirSync(path.join(empty, 'pages'))
    writeFileSync(path.join(empty, 'pages/blank.hbs'), '{{!< default}}<p>blank</p>')
    const blank = definePlugin({
      id: 'blank-fixture',
      version: '1.0.0',
      setup: ctx =>
        ctx.ui.pages.register('blank', { path: '/blank', template: 'blank', templatesDir: empty, access: 'public' }),
    })
    const gateway = await createTestGateway({ plugins: [blank], config: { theme } })
    t.teardown(gateway.close)
    const page = await gateway.inject({ method: 'GET', url: '/blank' })
    const icon = new RegExp(
      `<link rel="icon" href="(/assets/${theme}/favicon\\.svg\\?v=[0-9a-f]{12})" type="image/svg\\+xml">`,
    ).exec(page.body)
    t.ok(icon, `${theme}: the layout links its icon`)
    const linked = await gateway.inject({ method: 'GET', url: icon?.[1] ?? '' })
    t.equal(linked.statusCode, 200)
    t.equal(linked.headers['content-type'], 'image/svg+xml')
    t.match(linked.body, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    const ico = await gateway.inject({ method: 'GET', url: '/favicon.ico' })
    t.equal(ico.statusCode, 200, `${theme}: /favicon.ico is answered, not a 404 the browser logs`)
    t.equal(ico.headers['content-type'], 'image/svg+xml')
    t.equal(ico.body, linked.body)
    t.equal(ico.headers['cache-control'], 'public, max-age=0, must-revalidate')
    t.equal(
      (
        await gateway.inject({
          method: 'GET',
          url: '/favicon.ico',
          headers: { 'if-none-match': String(ico.headers.etag) },
        })
      ).statusCode,
      304,
    )
  }
  // A theme without an icon: a plain 404, as before.
  const gateway = await themed()
  t.teardown(gateway.close)
  t.equal((await gateway.inject({ method: 'GET', url: '/favicon.ico' })).statusCode, 404)
})

t.test(
  "an unknown path: the theme's 404 page for browsers, the JSON envelope for API clients and /api, /v1",
  async t => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
    for (const theme of ['default', 'ink']) {
      const gateway = await createTestGateway({ config: { theme } })
      t.teardown(gateway.close)
      const page = await gateway.inject({ method: 'GET', url: '/no/such/page?x=1', headers: browser })
      t.equal(page.statusCode, 404, `${theme}: still a 404`)
      t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
      t.equal(page.headers['content-security-policy'], CSP, "with the pages' CSP")
      t.match(page.body, '<h1>Page not found</h1>')
      t.match(page.body, 'There is no page at /no/such/page.', 'the path, without its query')
      t.match(page.body, /<title>Page not found · Parley<\/title>/)
      t.match(page.body, theme === 'ink' ? 'ink-rail' : 'site-header', "inside the theme's own layout")
      const zh = await gateway.inject({
        method: 'GET',
        url: '/nope',
        headers: { ...browser, 'accept-language': 'zh-CN' },
      })
      t.match(zh.body, '<h1>页面不存在</h1>')
      const evil = await gateway.inject({ method: 'GET', url: '/%3Cscript%3Ealert(1)%3C/script%3E', headers: browser })
      t.notMatch(evil.body, '<script>alert(1)', 'the path is escaped')
      t.match(evil.body, '&lt;script&gt;alert(1)&lt;/script&gt;', 'decoded for people, escaped')
      t.match(
        (await gateway.inject({ method: 'GET', url: '/%E6%96%87%E6%A1%A3', headers: browser })).body,
        'There is no page at /文档.',
      )
    }
    const gateway = await createTestGateway({})
    t.teardown(gateway.close)
    const json = async (method: 'GET' | 'POST' | 'HEAD', url: string, headers: Record<string, string>) => {
      const response = await gateway.inject({ method, url, headers })
      t.equal(response.statusCode, 404, `${method} ${url} ${JSON.stringify(headers)}`)
      t.match(response.headers['content-type'], /^application\/json/, 'JSON')
      if (method !== 'HEAD')
        t.match(response.json(), { error: { type: 'not_found', code: 'PARLEY_ERR_HTTP_NOT_FOUND' } })
    }
    await json('GET', '/nope', {})
    await json('GET', '/nope', { accept: '*/*' })
    await json('GET', '/nope', { accept: 'application/json' })
    await json('GET', '/nope', { accept: 'application/json, text/html;q=0.5' })
    await json('POST', '/nope', browser)
    for (const url of ['/api/nope', '/api', '/v1/nope', '/v1', '/v1/chat/nope']) await json('GET', url, browser)
    const head = await gateway.inject({ method: 'HEAD', url: '/nope', headers: browser })
    t.equal(head.statusCode, 404)
    t.equal(head.headers['content-type'], 'text/html; charset=utf-8', 'HEAD like GET')
  },
)

t.test("a theme without a 404 page gets core's own, in both languages", async t => {
  const gateway = await themed()
  t.teardown(gateway.close)
  const page = await gateway.inject({ method: 'GET', url: '/gone', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 404)
  t.match(page.body, '<h1>Page not found</h1>')
  t.match(page.body, 'There is no page at <code>/gone</code>.')
  const zh = await gateway.inject({ method: 'GET', url: '/gone?lang=zh-CN', headers: { accept: 'text/html' } })
  t.match(zh.body, '<h1>页面不存在</h1>')
})

t.test(
  "colour mode: ?color_mode= (remembered in a cookie), then the cookie, then the theme's color_scheme, printed as data-theme",
  async t => {
    const empty = mkdtempSync(path.join(tmpdir(), 'parley-ui-'))
    mkdirSync(path.join(empty, 'pages'))
    writeFileSync(path.join(empty, 'pages/blank.hbs'), '{{!< default}}<p>blank</p>')
    const blank = definePlugin({
      id: 'blank-fixture',
      version: '1.0.0',
      setup: ctx =>
        ctx.ui.pages.register('blank', { path: '/blank', template: 'blank', templatesDir: empty, access: 'public' }),
    })
    const mode = (body: string) => /<html [^>]*data-theme="([^"]*)"/.exec(body)?.[1]
    const gateway = await createTestGateway({ plugins: [blank] })
    t.teardown(gateway.close)
    const get = (url: string, cookie?: string) =>
      gateway.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} })
    const plain = await get('/blank')
    t.equal(mode(plain.body), 'system', "the default theme's color_scheme is auto: the system's")
    t.match(
      plain.body,
      /<a href="\?color_mode=system" data-color-mode="system" title="Like my system" aria-current="true">/,
      'the switch shows the mode in use',
    )
    const asked = await get('/blank?color_mode=dark&lang=zh-CN')
    t.equal(mode(asked.body), 'dark')
    t.same(
      [asked.headers['set-cookie']].flat().sort(),
      ['color_mode=dark; Path=/; Max-Age=31536000; SameSite=Lax', 'lang=zh-CN; Path=/; Max-Age=31536000; SameSite=Lax'],
      'both choices remembered',
    )
    t.match(asked.body, /<a href="\?color_mode=dark" data-color-mode="dark" title="深色" aria-current="true">/)
    t.equal(mode((await get('/blank', 'lang=en; color_mode=light')).body), 'light', 'the cookie')
    t.equal(
      mode((await get('/blank?color_mode=system', 'color_mode=light')).body),
      'system',
      'the query wins over the cookie',
    )
    const bad = await get('/blank?color_mode=purple', 'color_mode=%3Cx%3E')
    t.equal(mode(bad.body), 'system', 'an unknown mode is ignored')
    t.equal(bad.headers['set-cookie'], undefined)
    await gateway.settings.set('theme.color_scheme', 'dark')
    t.equal(mode((await get('/blank')).body), 'dark', "the site's default: the color_scheme setting")
    t.equal(mode((await get('/blank', 'color_mode=system')).body), 'system', "a visitor's choice wins over it")
    t.equal(
      mode(
        (
          await get('/nope', 'color_mode=light').then(() =>
            gateway.inject({
              method: 'GET',
              url: '/nope',
              headers: { accept: 'text/html', cookie: 'color_mode=light' },
            }),
          )
        ).body,
      ),
      'light',
      'the 404 page too',
    )

    const ink = await createTestGateway({ plugins: [blank], config: { theme: 'ink' } })
    t.teardown(ink.close)
    const inked = await ink.inject({ method: 'GET', url: '/blank' })
    t.equal(mode(inked.body), 'dark', "ink's default is its dark paper")
    t.match(inked.body, 'data-color-mode="light"', 'and it has the switch')
    t.equal(mode((await ink.inject({ method: 'GET', url: '/blank?color_mode=light' })).body), 'light')
  },
)

t.test('bad themes and templates stop the start with a coded error', async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-ui-bad-'))
  mkdirSync(path.join(dir, 'pages'))
  writeFileSync(path.join(dir, 'pages/raw.hbs'), '{{!-- unsafe --}}\n<p>{{{user.name}}}</p>\n')
  const unsafe = definePlugin({
    id: 'unsafe-ui',
    version: '1.0.0',
    setup(ctx) {
      ctx.ui.pages.register('raw', { path: '/raw', template: 'raw', templatesDir: dir, access: 'public' })
    },
  })
  await t.rejects(createTestGateway({ plugins: [unsafe] }), {
    code: 'PARLEY_ERR_THEME_INVALID',
    message: /plugin unsafe-ui[\s\S]*raw\.hbs:2 PT005/,
  })
  const missing = definePlugin({
    id: 'missing-ui',
    version: '1.0.0',
    setup(ctx) {
      ctx.ui.pages.register('nowhere', { path: '/nowhere', template: 'nowhere', templatesDir: dir, access: 'public' })
    },
  })
  await t.rejects(createTestGateway({ plugins: [missing] }), {
    code: 'PARLEY_ERR_THEME_TEMPLATE_MISSING',
    message: /\/nowhere of plugin missing-ui uses template "nowhere"/,
  })
  await t.rejects(createTestGateway({ config: { theme: 'nope', themes_dir: themesDir } }), {
    code: 'PARLEY_ERR_THEME_NOT_FOUND',
  })
  await t.rejects(createTestGateway({ config: { theme: 'broken', themes_dir: themesDir } }), {
    code: 'PARLEY_ERR_THEME_INVALID',
    message: /PT002[\s\S]*PT005/,
  })
})

t.test('custom setting overrides are checked like the defaults', async t => {
  const engine = ThemeEngine.load({ theme: 'override', themesDir, custom: { accent_color: '#ABCDEF', tagline: 'hi' } })
  t.same(engine.custom, { tagline: 'hi', accent_color: '#abcdef' })
  t.match(engine.assets.get('.custom.css')?.body.toString(), /--custom-accent-color: #abcdef;/)
  t.throws(() => ThemeEngine.load({ theme: 'override', themesDir, custom: { accent_color: 'red' } }), {
    code: 'PARLEY_ERR_THEME_SETTING',
    message: /accent_color: expected a colour/,
  })
  t.throws(() => ThemeEngine.load({ theme: 'override', themesDir, custom: { nope: 1 } }), {
    code: 'PARLEY_ERR_THEME_SETTING',
    message: /declares no such setting/,
  })
  t.throws(() => ThemeEngine.load({ theme: '../override', themesDir }), { code: 'PARLEY_ERR_THEME_NOT_FOUND' })
})

t.test('theme: a folder name under themes_dir, a path, or an installed package', async t => {
  const byPath = ThemeEngine.load({ theme: path.join(themesDir, 'override'), themesDir: tmpdir() })
  t.equal(byPath.dir, path.join(themesDir, 'override'), 'an absolute path')
  t.equal(byPath.name, 'override', 'assets under /assets/<folder>/')
  const relative = `./${path.relative(process.cwd(), path.join(themesDir, 'override'))}`
  t.equal(ThemeEngine.load({ theme: relative, themesDir: tmpdir() }).dir, path.join(themesDir, 'override'))
  const byPackage = ThemeEngine.load({ theme: '@parley/theme-ink', themesDir: tmpdir() })
  t.equal(byPackage.manifest.name, '@parley/theme-ink', 'a package name, resolved from the working directory')
  t.equal(byPackage.name, 'parley-theme-ink', 'a URL-safe name for its assets')
  t.throws(() => ThemeEngine.load({ theme: '@parley/no-such-theme', themesDir }), {
    code: 'PARLEY_ERR_THEME_NOT_FOUND',
  })
  t.throws(() => ThemeEngine.load({ theme: './no/such/folder', themesDir }), {
    code: 'PARLEY_ERR_THEME_NOT_FOUND',
    message: /no\/such\/folder/,
  })
})
