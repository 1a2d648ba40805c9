import { Writable } from 'node:stream'
import path from 'node:path'
import { writeFileSync } from 'node:fs'
import pino from 'pino'
import t from 'tap'
import {
  createGateway,
  definePlugin,
  loadConfig,
  TOKENS,
  Type,
  type AnyPluginDefinition,
  type PluginContext,
} from '@parley/core'
import { createTestGateway } from '@parley/core/testing'

const plugin = (id: string, extra: Partial<AnyPluginDefinition> = {}): AnyPluginDefinition =>
  definePlugin({ id, version: '1.0.0', setup() {}, ...extra })

t.test('plugins load in dependency order, config order otherwise', async t => {
  const order: string[] = []
  const track = (id: string, requires: string[] = []) => plugin(id, { requires, setup: () => void order.push(id) })
  const gateway = await createTestGateway({
    plugins: [
      track('portal', ['identity', 'openai']),
      track('openai', ['identity']),
      track('identity'),
      track('extra'),
    ],
  })
  t.teardown(gateway.close)
  t.same(order, ['identity', 'openai', 'portal', 'extra'])
  t.same(
    gateway.plugins.map(p => p.definition.id),
    order,
  )
})

t.test('a bad plugin set stops the start with a coded error naming the plugin', async t => {
  const cases: Array<[string, AnyPluginDefinition[], { code: string; message: RegExp }]> = [
    [
      'missing dependency',
      [plugin('portal', { requires: ['identity'] })],
      { code: 'PARLEY_ERR_PLUGIN_MISSING_DEPENDENCY', message: /portal requires plugin identity/ },
    ],
    [
      'cycle',
      [
        plugin('a-one', { requires: ['b-two'] }),
        plugin('b-two', { requires: ['c-three'] }),
        plugin('c-three', { requires: ['a-one'] }),
      ],
      { code: 'PARLEY_ERR_PLUGIN_CYCLE', message: /a-one -> b-two -> c-three -> a-one/ },
    ],
    ['bad id', [plugin('Bad_Id')], { code: 'PARLEY_ERR_PLUGIN_ID', message: /"Bad_Id"/ }],
    ['reserved id', [plugin('core')], { code: 'PARLEY_ERR_PLUGIN_INVALID', message: /reserved/ }],
    ['duplicate', [plugin('twice'), plugin('twice')], { code: 'PARLEY_ERR_PLUGIN_DUPLICATE', message: /twice/ }],
    [
      'bad version',
      [plugin('versioned', { version: 'one' })],
      { code: 'PARLEY_ERR_PLUGIN_INVALID', message: /versioned: version "one" is not semver/ },
    ],
    [
      'core range',
      [plugin('future', { core: '>=99.0.0' })],
      { code: 'PARLEY_ERR_PLUGIN_CORE_VERSION', message: /future needs @parley\/core >=99\.0\.0/ },
    ],
    [
      'invalid options',
      [
        plugin('opts', {
          options: Type.Object({ size: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        }),
      ],
      {
        code: 'PARLEY_ERR_PLUGIN_OPTIONS',
        message: /opts has invalid options:\n.*size = \(missing\): expected an integer of at least 1/,
      },
    ],
    [
      'setup failure',
      [
        plugin('explodes', {
          setup: () => {
            throw new Error('no upstream configured')
          },
        }),
      ],
      { code: 'PARLEY_ERR_PLUGIN_SETUP', message: /explodes failed during setup: no upstream configured/ },
    ],
  ]
  for (const [name, plugins, expected] of cases) {
    await t.rejects(createTestGateway({ plugins }), expected, name)
  }
})

t.test('options are validated, defaulted and frozen; unknown options refused', async t => {
  let seen: unknown
  const withOptions = plugin('sized', {
    options: Type.Object({ size: Type.Integer({ default: 3 }), name: Type.String() }, { additionalProperties: false }),
    setup: (ctx: PluginContext) => void (seen = ctx.options),
  })
  const gateway = await createTestGateway({ plugins: [{ plugin: withOptions, options: { name: 'x' } }] })
  t.teardown(gateway.close)
  t.same(seen, { size: 3, name: 'x' })
  t.ok(Object.isFrozen(seen))
  await t.rejects(createTestGateway({ plugins: [{ plugin: withOptions, options: { name: 'x', colour: 'red' } }] }), {
    code: 'PARLEY_ERR_PLUGIN_OPTIONS',
    message: /colour = "red": expected no such key/,
  })
  const lenient = plugin('lenient', { options: Type.Object({ size: Type.Integer({ default: 1 }) }) })
  await t.rejects(
    createTestGateway({ plugins: [{ plugin: lenient, options: { szie: 2 } }] }),
    {
      code: 'PARLEY_ERR_PLUGIN_OPTIONS',
      message: /szie = 2: expected no such key/,
    },
    'object schemas refuse unknown keys unless they say otherwise',
  )
  await t.rejects(createTestGateway({ plugins: [{ plugin: plugin('plain'), options: { a: 1 } }] }), {
    code: 'PARLEY_ERR_PLUGIN_OPTIONS',
    message: /takes no options, got: a/,
  })
})

t.test('plugins named in the config file are imported by path, with their options', async t => {
  const dir = t.testdir()
  const file = path.join(dir, 'parley.yaml')
  const fixture = path.relative(dir, path.resolve(import.meta.dirname, 'fixtures/notes-plugin/index.ts'))
  writeFileSync(file, `plugins:\n  - use: ${JSON.stringify(fixture)}\n    options: { archive_after_ms: 5 }\n`)
  const config = loadConfig({ file, env: {}, overrides: { env: 'test', data_dir: dir, log: { level: 'silent' } } })
  const gateway = await createGateway({ config })
  t.teardown(gateway.stop)
  t.same(
    gateway.plugins.map(p => [p.definition.id, p.options]),
    [['notes', { archive_after_ms: 5 }]],
  )
  writeFileSync(file, 'plugins:\n  - ./does-not-exist.js\n')
  const broken = loadConfig({ file, env: {}, overrides: { env: 'test', data_dir: dir, log: { level: 'silent' } } })
  await t.rejects(createGateway({ config: broken }), {
    code: 'PARLEY_ERR_PLUGIN_LOAD',
    message: /does-not-exist\.js could not be loaded/,
  })
})

t.test('each plugin has its own encapsulated Fastify scope', async t => {
  const a = plugin('scope-a', {
    setup(ctx: PluginContext) {
      ctx.http.decorateRequest('onlyA', 'a')
      ctx.http.addHook('onRequest', async (_request, reply) => void reply.header('x-scope-a', '1'))
      ctx.http.get('/a', async request => ({ onlyA: (request as unknown as { onlyA?: string }).onlyA ?? null }))
    },
  })
  const b = plugin('scope-b', {
    setup(ctx: PluginContext) {
      ctx.http.get('/b', async request => ({ onlyA: (request as unknown as { onlyA?: string }).onlyA ?? null }))
    },
  })
  const gateway = await createTestGateway({ plugins: [a, b] })
  t.teardown(gateway.close)
  const ra = await gateway.inject({ url: '/a' })
  const rb = await gateway.inject({ url: '/b' })
  t.same(ra.json(), { onlyA: 'a' })
  t.equal(ra.headers['x-scope-a'], '1')
  t.same(rb.json(), { onlyA: null }, "A's decorator does not leak into B")
  t.equal(rb.headers['x-scope-a'], undefined, "A's hook does not run for B's routes")
})

t.test('child containers: kernel services everywhere, plugin services only for dependents', async t => {
  const GREETER = Symbol.for('parley.test.greeter')
  const resolved: Record<string, unknown> = {}
  const provider = plugin('provider', { setup: (ctx: PluginContext) => ctx.provide(GREETER, { hello: () => 'hi' }) })
  const dependent = plugin('dependent', {
    requires: ['provider'],
    setup(ctx: PluginContext) {
      resolved.dependent = ctx.container.resolve<{ hello(): string }>(GREETER).hello()
      resolved.config = ctx.container.resolve(TOKENS.config) === ctx.config
    },
  })
  const stranger = plugin('stranger', {
    setup(ctx: PluginContext) {
      resolved.stranger = ctx.container.isRegistered(GREETER, true)
      resolved.settings = ctx.container.isRegistered(TOKENS.settings, true)
    },
  })
  const gateway = await createTestGateway({ plugins: [provider, dependent, stranger] })
  t.teardown(gateway.close)
  t.same(resolved, { dependent: 'hi', config: true, stranger: false, settings: true })
  t.ok(gateway.container.isRegistered(TOKENS.database, true), 'the database is in the root container once open')
})

t.test('optional plugins: set up first and bridged when loaded, no error when absent', async t => {
  const GREETER = Symbol.for('parley.test.optional-greeter')
  const seen: string[] = []
  const user = plugin('user', {
    optional: ['provider', 'absent'],
    setup(ctx: PluginContext) {
      seen.push(ctx.container.isRegistered(GREETER, true) ? ctx.container.resolve<() => string>(GREETER)() : 'none')
    },
  })
  const provider = plugin('provider', { setup: (ctx: PluginContext) => ctx.provide(GREETER, () => 'hi') })
  const both = await createTestGateway({ plugins: [user, provider] })
  t.teardown(both.close)
  t.same(
    both.plugins.map(p => p.definition.id),
    ['provider', 'user'],
    'the optional plugin is set up first',
  )
  const alone = await createTestGateway({ plugins: [user] })
  t.teardown(alone.close)
  t.same(seen, ['hi', 'none'], 'its service when loaded, nothing otherwise')
})

t.test('registries: duplicates refused, closed after setup, attributed to their plugin', async t => {
  let late: PluginContext | undefined
  const echo = {
    async *chat() {
      yield { type: 'done' as const, finishReason: 'stop' as const }
    },
  }
  const first = plugin('first', {
    setup: (ctx: PluginContext) => {
      ctx.providers.register('echo', echo)
      late = ctx
    },
  })
  const gateway = await createTestGateway({ plugins: [first] })
  t.teardown(gateway.close)
  t.same(
    gateway.registries.providers.list().map(r => [r.id, r.owner]),
    [['echo', 'first']],
  )
  t.throws(() => late?.providers.register('other', echo), { code: 'PARLEY_ERR_REGISTRY_CLOSED' })
  t.throws(() => late?.db.entities([]), { code: 'PARLEY_ERR_REGISTRY_CLOSED' })
  const second = plugin('second', { setup: (ctx: PluginContext) => ctx.providers.register('echo', echo) })
  await t.rejects(createTestGateway({ plugins: [first, second] }), {
    code: 'PARLEY_ERR_PLUGIN_SETUP',
    message: /Chat provider "echo" of second is already registered by first/,
  })
})

t.test('jobs of a plugin carry its id as prefix', async t => {
  const wrong = plugin('tickets', {
    setup: (ctx: PluginContext) => ctx.jobs.define({ name: 'cleanup.run', handler: async () => {} }),
  })
  await t.rejects(createTestGateway({ plugins: [wrong] }), {
    code: 'PARLEY_ERR_PLUGIN_SETUP',
    message: /start with "tickets\."/,
  })
})

t.test('plugin loggers carry the plugin id; start hooks run in plugin order', async t => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const events: string[] = []
  const loud = (id: string, requires: string[] = []) =>
    plugin(id, {
      requires,
      setup(ctx: PluginContext) {
        ctx.log.info('set up')
        ctx.onStart(() => void events.push(`start ${id}`))
      },
    })
  const gateway = await createTestGateway({
    plugins: [loud('later', ['early']), loud('early')],
    logger: pino({ level: 'info' }, sink),
  })
  t.teardown(gateway.close)
  t.same(
    lines.filter(l => l.msg === 'set up').map(l => l.plugin),
    ['early', 'later'],
  )
  t.same(events, ['start early', 'start later'])
  t.equal(gateway.state, 'running')
})

t.test('a failing start hook stops the start and releases everything it opened', async t => {
  const failing = plugin('late-failure', {
    setup: (ctx: PluginContext) =>
      ctx.onStart(() => {
        throw new Error('upstream catalogue unreadable')
      }),
  })
  await t.rejects(createTestGateway({ plugins: [failing] }), {
    code: 'PARLEY_ERR_PLUGIN_SETUP',
    message: /late-failure failed during setup: start hook failed: upstream catalogue unreadable/,
  })
})

t.test('auth strategies resolve a principal once per request; guards refuse the wrong caller', async t => {
  const { requireRole, requireUser } = await import('@parley/core')
  let lookups = 0
  const auth = plugin('fake-auth', {
    setup(ctx: PluginContext) {
      ctx.auth.register('header', {
        async authenticate(request) {
          lookups++
          const who = request.headers['x-who']
          if (who === 'admin') return { kind: 'user', userId: '1', role: 'admin', group: 'default', name: 'ada' }
          if (who === 'user') return { kind: 'user', userId: '2', role: 'user', group: 'default', name: 'bob' }
          if (who === 'token')
            return { kind: 'api_token', tokenId: 't', userId: '1', role: 'admin', group: 'default', name: 'ada' }
          return undefined
        },
      })
      ctx.http.get('/whoami', async request => {
        const first = await request.principal()
        const second = await request.principal()
        return { same: first === second, principal: first ?? null }
      })
      ctx.http.get('/me', async request => ({ id: (await requireUser(request)).userId }))
      ctx.http.get('/data', async request => ({ id: (await requireUser(request, { apiTokens: true })).userId }))
      ctx.http.get('/admin-only', async request => ({ id: (await requireRole(request, 'admin', 'root')).userId }))
    },
  })
  const gateway = await createTestGateway({ plugins: [auth] })
  t.teardown(gateway.close)
  const call = (url: string, who?: string) => gateway.inject({ url, headers: who ? { 'x-who': who } : {} })

  const whoami = await call('/whoami', 'user')
  t.same(whoami.json(), {
    same: true,
    principal: { kind: 'user', userId: '2', role: 'user', group: 'default', name: 'bob' },
  })
  t.equal(lookups, 1, 'the strategy ran once for two reads')
  await call('/healthz', 'user')
  t.equal(lookups, 1, 'routes that never ask cost no lookup')

  t.equal((await call('/me')).statusCode, 401)
  t.equal((await call('/me')).json().error.code, 'PARLEY_ERR_AUTH_REQUIRED')
  t.equal(
    (await call('/me', 'token')).json().error.code,
    'PARLEY_ERR_AUTH_SESSION_REQUIRED',
    'API tokens cannot manage the account',
  )
  t.same((await call('/data', 'token')).json(), { id: '1' }, 'but may call data routes that allow them')
  t.equal((await call('/admin-only', 'user')).statusCode, 403)
  t.equal((await call('/admin-only', 'token')).statusCode, 401, "admin routes refuse API tokens, even an admin's")
  t.same((await call('/admin-only', 'admin')).json(), { id: '1' })
})
