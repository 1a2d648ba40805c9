import t from 'tap'
import { createGateway, definePlugin, loadConfig, Type, type Setting } from '@parley/core'
import {
  createTempMysqlDatabase,
  createTestGateway,
  headerAuth,
  missingService,
  testServices,
} from '@parley/core/testing'

t.test('defaults come from config and environment', async t => {
  const gateway = await createTestGateway({
    env: { GUEST_RPM: '25' },
    config: { settings: { site_name: 'Acme Chat' } },
  })
  t.teardown(gateway.close)
  t.equal(gateway.settings.get('guest_rpm'), 25)
  t.equal(gateway.settings.get('site_name'), 'Acme Chat')
  t.equal(gateway.settings.get('user_rpm'), 60)
})

t.test('a change is validated, stored, survives a restart and is announced', async t => {
  const dataDir = t.testdir()
  const config = loadConfig({
    file: false,
    env: {},
    overrides: { env: 'test', data_dir: dataDir, log: { level: 'silent' } },
  })
  const first = await createGateway({ config })
  await first.start()
  const changed: string[] = []
  first.events.on('settings.changed', ({ key }) => void changed.push(key))

  await first.settings.setMany({ guest_rpm: 3, chat_history_mode: 'server' })
  t.equal(first.settings.get('guest_rpm'), 3)
  t.same(changed.sort(), ['chat_history_mode', 'guest_rpm'])

  await t.rejects(first.settings.setMany({ user_rpm: 5, guest_rpm: -1 }), {
    code: 'PARLEY_ERR_SETTING_INVALID',
    message: /guest_rpm.*-1.*integer from 0/,
  })
  t.equal(first.settings.get('user_rpm'), 60, 'a batch with one bad value changes nothing')
  await t.rejects(first.settings.set('no_such_setting', 1), { code: 'PARLEY_ERR_SETTING_UNKNOWN' })
  await first.stop()

  const second = await createGateway({ config })
  await second.start()
  t.teardown(second.stop)
  t.equal(second.settings.get('guest_rpm'), 3, 'stored value wins over the default after restart')
  t.equal(second.settings.get('chat_history_mode'), 'server')
})

t.test('plugins declare namespaced settings with a schema', async t => {
  let limit: Setting<number> | undefined
  const plugin = definePlugin({
    id: 'tickets',
    version: '1.0.0',
    setup(ctx) {
      limit = ctx.settings.define({
        key: 'max_open',
        schema: Type.Integer({ minimum: 1 }),
        default: 5,
        description: 'Open tickets per user',
      })
    },
  })
  const gateway = await createTestGateway({ plugins: [plugin] })
  t.teardown(gateway.close)
  t.equal(limit?.key, 'tickets.max_open')
  t.equal(limit?.get(), 5)
  await limit?.set(9)
  t.equal(gateway.settings.get('tickets.max_open'), 9)
  t.match(
    gateway.settings.list().find(s => s.key === 'tickets.max_open'),
    { owner: 'tickets', default: 5, value: 9 },
  )
  await t.rejects(gateway.settings.set('tickets.max_open', 0), { code: 'PARLEY_ERR_SETTING_INVALID' })

  const bad = definePlugin({
    id: 'bad',
    version: '1.0.0',
    setup: ctx => void ctx.settings.define({ key: 'Bad-Key', schema: Type.String(), default: '' }),
  })
  await t.rejects(createTestGateway({ plugins: [bad] }), { code: 'PARLEY_ERR_PLUGIN_SETUP', message: /snake_case/ })
})

t.test(
  "labels and help in the caller's language: the schema's English, the definition's locales, never a raw key",
  async t => {
    const plugin = definePlugin({
      id: 'tickets',
      version: '1.0.0',
      setup(ctx) {
        ctx.settings.define({
          key: 'max_open',
          schema: Type.Integer({
            minimum: 1,
            title: 'Open tickets per user',
            description: 'Beyond it, new tickets wait',
          }),
          default: 5,
          locales: { 'zh-CN': { title: '每位用户的未结工单数' } },
        })
        ctx.settings.define({
          key: 'priority',
          schema: Type.Union([Type.Literal('low', { title: 'Low' }), Type.Literal('high')]),
          default: 'low',
          description: 'Default priority',
          locales: { 'zh-CN': { options: { high: '高' } } },
        })
      },
    })
    const admin = headerAuth({ root: { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' } })
    const gateway = await createTestGateway({ plugins: [admin, plugin] })
    t.teardown(gateway.close)
    const texts = async (query: string, headers: Record<string, string> = {}) => {
      const response = await gateway.inject({
        method: 'GET',
        url: `/api/admin/config/schema${query}`,
        headers: { 'x-who': 'root', ...headers },
      })
      t.equal(response.statusCode, 200)
      const body = response.json() as {
        language: string
        items: Array<{ key: string; title: string; description: string | null; options: Record<string, string> }>
      }
      return {
        language: body.language,
        items: new Map(
          body.items.map(item => [
            item.key,
            { title: item.title, description: item.description, options: item.options },
          ]),
        ),
      }
    }
    const en = await texts('')
    t.equal(en.language, 'en')
    t.same(en.items.get('tickets.max_open'), {
      title: 'Open tickets per user',
      description: 'Beyond it, new tickets wait',
      options: {},
    })
    t.same(
      en.items.get('tickets.priority'),
      { title: 'Priority', description: 'Default priority', options: { low: 'Low' } },
      'no title: the key made readable',
    )
    t.same(en.items.get('chat_history_mode'), {
      title: 'Chat history',
      description: 'Where the portal keeps conversations',
      options: { browser: 'In the browser', memory: 'Not kept', server: 'On the server' },
    })
    t.same(
      en.items.get('theme.accent_color'),
      { title: 'Accent colour', description: 'Buttons, links and focus rings', options: {} },
      "a theme setting's texts from the theme's locale files",
    )
    for (const [key, item] of en.items) t.notMatch(item.title, /^[a-z0-9_.-]+$/, `${key} has a title in words`)

    const zh = await texts('', { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' })
    t.equal(zh.language, 'zh-CN')
    t.same(
      zh.items.get('tickets.max_open'),
      { title: '每位用户的未结工单数', description: 'Beyond it, new tickets wait', options: {} },
      'a missing translation falls back to English',
    )
    t.same(zh.items.get('tickets.priority')?.options, { low: 'Low', high: '高' })
    t.match(zh.items.get('guest_rpm'), { title: '访客每分钟请求数', description: '按 IP 地址计；0 表示不限' })
    t.match(zh.items.get('theme.color_scheme'), {
      title: '配色方案',
      options: { auto: '自动（跟随系统）', light: '浅色', dark: '深色' },
    })
    for (const key of en.items.keys()) {
      if (key.startsWith('tickets.')) continue
      t.not(zh.items.get(key)?.title, en.items.get(key)?.title, `${key} has a Chinese title`)
    }
    t.equal(
      (await texts('?lang=zh-CN')).items.get('user_rpm')?.title,
      '用户每分钟请求数',
      '?lang= wins over the header',
    )
  },
)

t.test(
  'a change on one instance reaches the others within a second (shared MySQL + Redis)',
  { skip: missingService('mysql') || missingService('redis') },
  async t => {
    const database = await createTempMysqlDatabase(testServices.mysqlUrl as string)
    t.teardown(database.drop)
    const shared = {
      env: 'test',
      log: { level: 'silent' },
      database: { url: database.url },
      redis: { url: testServices.redisUrl, prefix: `parley-test-${Date.now()}:` },
      secrets: { secret_key: 'k'.repeat(40), encryption_key: 'a'.repeat(64) },
    }
    // Both start at once: migrations must be applied exactly once between them.
    const opened: Array<Awaited<ReturnType<typeof createGateway>>> = []
    t.teardown(() => Promise.all(opened.map(g => g.stop())))
    const dir = t.testdir({ a: {}, b: {} })
    const instances = await Promise.all(
      ['a', 'b'].map(async name => {
        const gateway = await createGateway({
          config: loadConfig({ file: false, env: {}, overrides: { ...shared, data_dir: `${dir}/${name}` } }),
        })
        opened.push(gateway)
        await gateway.start()
        return gateway
      }),
    )
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]]
    t.equal(b.settings.get('guest_rpm'), 10)
    const started = Date.now()
    await a.settings.set('guest_rpm', 42)
    while (b.settings.get('guest_rpm') !== 42 && Date.now() - started < 1000) await new Promise(r => setTimeout(r, 10))
    t.equal(b.settings.get('guest_rpm'), 42, `instance B saw the change after ${Date.now() - started} ms`)
  },
)
