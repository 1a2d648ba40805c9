import { gzipSync } from 'node:zlib'
import t from 'tap'
import { CONTENT_SECURITY_POLICY, definePlugin } from '@parley/core'
import { createTestGateway } from '@parley/core/testing'
import identity from '@parley/identity'
import portal from '@parley/portal'
import { readClientBundle } from '@parley/core'
import { CLIENT_DIR } from '../src/bundle.js'
import { ensureBundle } from './browser.js'

t.before(ensureBundle)

t.test('pages are server-rendered shells with the CSP and one hashed bundle; no inline script', async t => {
  const gateway = await createTestGateway({ plugins: [identity, portal] })
  t.teardown(gateway.close)
  for (const path of ['/', '/chat', '/login', '/register', '/account', '/tokens', '/models', '/usage']) {
    const page = await gateway.inject({ method: 'GET', url: path })
    t.equal(page.statusCode, 200, path)
    t.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    t.equal(scripts.length, 1, `${path}: one script`)
    t.match(scripts[0]?.[1], /src="\/portal\/assets\/app\.js\?v=[0-9a-f]{12}"/)
    t.equal(scripts[0]?.[2], '', 'with no inline code')
    t.notMatch(page.body, /\son[a-z]+=|style="/i, 'no inline handlers or styles')
  }
  const zh = await gateway.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'zh-CN' } })
  t.match(zh.body, '<h1>登录</h1>')
})

t.test("the portal's menu lists the links plugins add, signed-in ones hidden until sign-in", async t => {
  const links = definePlugin({
    id: 'nav-fixture',
    version: '1.0.0',
    setup(ctx) {
      ctx.ui.nav.register('help', { label: 'Help desk', href: '/help', area: 'portal', access: 'public', order: 1 })
      ctx.ui.nav.register('mine', { label: 'My tickets', href: '/mine', area: 'portal', access: 'user', order: 2 })
      ctx.ui.nav.register('ops', { label: 'Operations', href: '/ops', area: 'portal', access: 'admin', order: 3 })
      ctx.ui.nav.register('console', { label: 'Console page', href: '/admin/x', area: 'admin', access: 'admin' })
    },
  })
  const gateway = await createTestGateway({ plugins: [identity, portal, links] })
  t.teardown(gateway.close)
  const nav = (await gateway.inject({ method: 'GET', url: '/models' })).body.match(
    /<nav class="portal-nav"[\s\S]*?<\/nav>/,
  )?.[0]
  t.match(nav, /<a href="\/help">Help desk<\/a>/, 'a public link, shown')
  t.match(nav, /<a href="\/mine" data-when="user" hidden>My tickets<\/a>/, 'a signed-in link, shown after sign-in')
  t.notMatch(nav, /\/ops|\/admin\/x/, "admin-only and the console's links are not in the portal")
})

t.test('the ink theme: its own layout and colours around the portal pages it does not have', async t => {
  const gateway = await createTestGateway({ plugins: [identity, portal], config: { theme: 'ink' } })
  t.teardown(gateway.close)
  const chat = await gateway.inject({ method: 'GET', url: '/chat' })
  t.equal(chat.statusCode, 200)
  t.match(chat.body, '<header class="ink-rail">', "ink's own header partial")
  t.match(
    chat.body,
    /<link rel="stylesheet" href="\/assets\/ink\/css\/theme\.css\?v=[0-9a-f]{12}">/,
    "ink's own stylesheet",
  )
  t.match(chat.body, 'data-role="prompt"', "the page itself is the portal's: ink has no pages")
  t.notMatch(chat.body, 'site-header', "nothing of the default theme's layout")
  const zh = await gateway.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'zh-CN' } })
  t.match(zh.body, '回答由语言模型生成', "ink's own locale")
  t.match(zh.body, '<h1>登录</h1>', "the portal's locale for the portal's page")
  const plain = await createTestGateway({ plugins: [identity, portal] })
  t.teardown(plain.close)
  t.notMatch((await plain.inject({ method: 'GET', url: '/chat' })).body, 'ink-rail', 'the default theme is not ink')
})

t.test('the bundle: immutable with its hash, revalidated without, 304 on its ETag, 404 otherwise', async t => {
  const gateway = await createTestGateway({ plugins: [identity, portal] })
  t.teardown(gateway.close)
  const js = readClientBundle(CLIENT_DIR, 'portal').get('app.js')
  const hashed = await gateway.inject({ method: 'GET', url: `/portal/assets/app.js?v=${js?.hash}` })
  t.equal(hashed.statusCode, 200)
  t.equal(hashed.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(hashed.headers['content-type'], 'text/javascript; charset=utf-8')
  t.equal(hashed.headers['x-content-type-options'], 'nosniff')
  const bare = await gateway.inject({ method: 'GET', url: '/portal/assets/app.js' })
  t.equal(bare.headers['cache-control'], 'public, max-age=0, must-revalidate')
  const again = await gateway.inject({
    method: 'GET',
    url: '/portal/assets/app.js',
    headers: { 'if-none-match': String(hashed.headers.etag) },
  })
  t.equal(again.statusCode, 304)
  for (const path of ['/portal/assets/assets.hbs', '/portal/assets/..%2Fpackage.json', '/portal/assets/nope.js']) {
    t.equal((await gateway.inject({ method: 'GET', url: path })).statusCode, 404, path)
  }
  t.ok((js?.body.length ?? 0) < 150_000, 'the chat bundle stays small')
})

t.test(
  'the lazy parts: chunks, KaTeX stylesheet and fonts are served immutable; the first paint needs little',
  async t => {
    const built = await ensureBundle()
    const gateway = await createTestGateway({ plugins: [identity, portal] })
    t.teardown(gateway.close)
    const files = readClientBundle(CLIENT_DIR, 'portal')
    const names = [...files.keys()]
    t.same(
      names.filter(
        name =>
          !/^(?:app\.(?:js|css)|chunk-[A-Z0-9]+\.js|katex-[A-Z0-9]+\.css|KaTeX_[\w-]+-[A-Z0-9]+\.woff2)$/.test(name),
      ),
      [],
      'only the entry files, hashed chunks, the KaTeX stylesheet and woff2 fonts',
    )
    const katex = names.find(name => name.startsWith('katex-')) ?? ''
    const font = names.find(name => name.endsWith('.woff2')) ?? ''
    const chunk = names.find(name => name.startsWith('chunk-')) ?? ''
    for (const [name, type] of [
      [katex, 'text/css; charset=utf-8'],
      [font, 'font/woff2'],
      [chunk, 'text/javascript; charset=utf-8'],
    ] as const) {
      const response = await gateway.inject({ method: 'GET', url: `/portal/assets/${name}` })
      t.equal(response.statusCode, 200, name)
      t.equal(response.headers['content-type'], type)
      t.equal(response.headers['cache-control'], 'public, max-age=31536000, immutable', 'its name carries its hash')
    }
    const css = files.get(katex)?.body.toString('utf8') ?? ''
    t.notMatch(css, /url\(\)|\.woff\)|\.ttf\)/, 'woff2 only, no empty font sources left')
    t.match(css, /url\("?\.\/KaTeX_Main-Regular-[A-Z0-9]+\.woff2"?\)/, 'fonts from the bundle folder')

    // The first paint: app.js and the chunks it imports statically (preloaded by the partial).
    const partial = await gateway.inject({ method: 'GET', url: '/chat' })
    for (const name of built.initial.slice(1))
      t.match(partial.body, `<link rel="modulepreload" href="/portal/assets/${name}">`)
    const gzipped = built.initial.reduce(
      (sum, name) => sum + gzipSync(files.get(name)?.body ?? Buffer.alloc(0), { level: 9 }).length,
      0,
    )
    t.ok(
      gzipped < 10_000,
      `the first paint's script is ${gzipped} B gzipped (markdown-it, DOMPurify, highlight.js and KaTeX load later)`,
    )
    const initial = built.initial.map(name => files.get(name)?.body.toString('utf8') ?? '').join('')
    t.notMatch(initial, /markdown-it|DOMPurify|KaTeX|hljs/i, 'none of the libraries is in it')
  },
)

t.test('GET /api/portal/config: the public settings the pages need', async t => {
  const gateway = await createTestGateway({
    plugins: [identity, portal],
    config: { settings: { allow_guest: true, chat_history_mode: 'memory' } },
  })
  t.teardown(gateway.close)
  const config = await gateway.inject({ method: 'GET', url: '/api/portal/config' })
  t.same(config.json(), {
    site_name: 'Parley',
    allow_guest: true,
    allow_registration: true,
    chat_history_mode: 'memory',
    // The uploads plugin is not loaded here (plugins/portal/test/chat-attach.test.ts has it).
    uploads: null,
  })
})

t.test('a missing bundle stops the start with a message that says how to build it', async t => {
  t.throws(() => readClientBundle(t.testdir({}), 'portal'), {
    code: 'PARLEY_ERR_UI_BUNDLE_MISSING',
    message: /portal.*npm run build/,
  })
})
