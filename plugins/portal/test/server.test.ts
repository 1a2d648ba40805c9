import t from 'tap'
import { CONTENT_SECURITY_POLICY } from '@parley/core'
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
  for (const path of ['/', '/chat', '/login', '/register', '/account', '/tokens']) {
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

t.test('the ink theme: its own layout and colours around the portal pages it does not have', async t => {
  const gateway = await createTestGateway({ plugins: [identity, portal], config: { theme: 'ink' } })
  t.teardown(gateway.close)
  const chat = await gateway.inject({ method: 'GET', url: '/chat' })
  t.equal(chat.statusCode, 200)
  t.match(chat.body, '<header class="ink-rail">', "ink's own header partial")
  t.match(chat.body, /<link rel="stylesheet" href="\/assets\/ink\/css\/theme\.css\?v=[0-9a-f]{12}">/, "ink's own stylesheet")
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
  const again = await gateway.inject({ method: 'GET', url: '/portal/assets/app.js', headers: { 'if-none-match': String(hashed.headers.etag) } })
  t.equal(again.statusCode, 304)
  for (const path of ['/portal/assets/assets.hbs', '/portal/assets/..%2Fpackage.json', '/portal/assets/nope.js']) {
    t.equal((await gateway.inject({ method: 'GET', url: path })).statusCode, 404, path)
  }
  t.ok((js?.body.length ?? 0) < 150_000, 'the chat bundle stays small')
})

t.test('GET /api/portal/config: the public settings the pages need', async t => {
  const gateway = await createTestGateway({ plugins: [identity, portal], config: { settings: { allow_guest: true, chat_history_mode: 'memory' } } })
  t.teardown(gateway.close)
  const config = await gateway.inject({ method: 'GET', url: '/api/portal/config' })
  t.same(config.json(), { site_name: 'Parley', allow_guest: true, allow_registration: true, chat_history_mode: 'memory' })
})

t.test('a missing bundle stops the start with a message that says how to build it', async t => {
  t.throws(() => readClientBundle(t.testdir({}), 'portal'), { code: 'PARLEY_ERR_UI_BUNDLE_MISSING', message: /portal.*npm run build/ })
})
