/**
 * The error catalogue in two languages: every kernel code has its Simplified Chinese message
 * with the placeholders of the English one, plugins may add `zh` or not, and the envelope
 * answers in the caller's language (Accept-Language) from a route, a hook, the 404 handler and
 * the router's own refusals. English stays the default.
 */
import t, { type Test } from 'tap'
import { defineErrors, definePlugin, errors, ParleyError, Type, type Principal } from '@parley/core'
import { createTestGateway, type TestGateway } from '@parley/core/testing'
import { KERNEL_ERROR_SPECS } from '../src/errors.js'

/** The placeholder names of a template, sorted, repeated ones included. */
const placeholders = (template: string): string[] =>
  Array.from(template.matchAll(/\{(\w+)\}/g), match => match[1] ?? '').sort()

const HAN = /\p{Script=Han}/u

const pluginErrors = defineErrors({
  PARLEY_ERR_ERRTEST_TAKEN: {
    status: 409,
    type: 'conflict',
    message: 'The name {name} is taken',
    zh: '名称 {name} 已被占用',
  },
  PARLEY_ERR_ERRTEST_ENGLISH_ONLY: { status: 400, type: 'invalid_request', message: 'Only {what} in English' },
})

const fixture = definePlugin({
  id: 'errors-fixture',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('errors-fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        if (request.headers.authorization !== 'Bearer root') return undefined
        return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
      },
    })
    ctx.http.get('/errtest/kernel', async () => {
      throw errors.PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND({ id: 7 })
    })
    ctx.http.get('/errtest/plugin', async () => {
      throw pluginErrors.PARLEY_ERR_ERRTEST_TAKEN({ name: 'bob' }, { details: { name: 'bob' } })
    })
    ctx.http.get('/errtest/english-only', async () => {
      throw pluginErrors.PARLEY_ERR_ERRTEST_ENGLISH_ONLY({ what: 'this' })
    })
    ctx.http.get('/errtest/hand-made', async () => {
      throw new ParleyError('PARLEY_ERR_ERRTEST_HAND_MADE', 418, 'teapot', 'Short and stout', {
        details: { spout: true },
      })
    })
    ctx.http.get('/errtest/refused', async () => {
      throw errors.PARLEY_ERR_UPSTREAM_REFUSED(
        { message: 'max_tokens is too large' },
        { status: 422, type: 'invalid_request_error', details: { param: 'max_tokens' } },
      )
    })
    ctx.http.post('/errtest/typed', { schema: { body: Type.Object({ count: Type.Integer() }) } }, async request => ({
      count: request.body.count,
    }))
    ctx.http.get('/errtest/items/:id', async request => ({ id: (request.params as { id: string }).id }))
  },
})

async function boot(t: Test): Promise<TestGateway> {
  const gateway = await createTestGateway({ plugins: [fixture], config: { server: { trust_proxy: ['127.0.0.1'] } } })
  t.teardown(() => gateway.close())
  return gateway
}

type ErrorBody = { type: string; message: string; code: string; [field: string]: unknown }

async function errorOf(
  gateway: TestGateway,
  url: string,
  language?: string,
  method: 'GET' | 'POST' = 'GET',
  payload?: object,
): Promise<{ status: number; error: ErrorBody }> {
  const response = await gateway.inject({
    method,
    url,
    headers: language === undefined ? {} : { 'accept-language': language },
    ...(payload ? { payload } : {}),
  })
  if (!String(response.headers['content-type']).startsWith('application/json')) throw new Error(`${url}: not JSON`)
  return { status: response.statusCode, error: (response.json() as { error: ErrorBody }).error }
}

t.test('the kernel catalogue: every code has a zh message with the placeholders of the English one', async t => {
  const specs = Object.entries(KERNEL_ERROR_SPECS)
  t.same(Object.keys(errors).sort(), specs.map(([code]) => code).sort(), 'one factory per spec')
  t.equal(specs.length, 111, 'the kernel codes, PARLEY_ERR_CHAT_MODEL_CONFIG_NOT_FOUND included')
  for (const [code, spec] of specs) {
    t.type(spec.zh, 'string', `${code} has a zh message`)
    t.ok(HAN.test(spec.zh), `${code}: the zh message is Chinese`)
    t.not(spec.zh.trim(), '', `${code}: not empty`)
    t.same(placeholders(spec.zh), placeholders(spec.message), `${code}: the same placeholders as "${spec.message}"`)
  }
})

t.test('factories fill both messages; ParleyError.localized picks one', async t => {
  const error = errors.PARLEY_ERR_ROUTE_MODEL_FORBIDDEN({ model: 'gpt-4o' })
  t.equal(error.message, 'Your group may not use model gpt-4o', 'message stays English (logs, CLI)')
  t.equal(error.messageZh, '你所在的分组无权使用模型 gpt-4o')
  t.equal(error.localized('zh-CN'), error.messageZh)
  t.equal(error.localized('en'), error.message)
  t.equal(
    errors.PARLEY_ERR_LIMIT_CHANNELS_BUSY().localized('zh-CN'),
    '此模型的所有渠道都已达到速率限制，请稍后重试',
    'the wording callers already read',
  )

  const handMade = new ParleyError('PARLEY_ERR_X_Y', 409, 'conflict', 'Plain', { details: { a: 1 } })
  t.equal(handMade.messageZh, undefined, 'the five-argument constructor still works, without a Chinese message')
  t.equal(handMade.localized('zh-CN'), 'Plain', 'and answers English to everyone')
  t.equal(new ParleyError('PARLEY_ERR_X_Y', 409, 'conflict', 'Plain', { messageZh: '中文' }).localized('zh-CN'), '中文')

  const englishOnly = pluginErrors.PARLEY_ERR_ERRTEST_ENGLISH_ONLY({ what: 'x' })
  t.equal(englishOnly.messageZh, undefined, 'a plugin code without zh has no Chinese message')
  t.equal(englishOnly.localized('zh-CN'), 'Only x in English')
})

t.test('PARLEY_ERR_UPSTREAM_REFUSED: status and type per instance', async t => {
  const plain = errors.PARLEY_ERR_UPSTREAM_REFUSED({ message: 'bad' })
  t.match(plain, { statusCode: 400, type: 'invalid_request_error', message: 'bad', messageZh: '上游拒绝了请求：bad' })
  const passed = errors.PARLEY_ERR_UPSTREAM_REFUSED(
    { message: 'bad' },
    { status: 422, type: 'upstream_error', details: { param: null } },
  )
  t.match(passed, {
    code: 'PARLEY_ERR_UPSTREAM_REFUSED',
    statusCode: 422,
    type: 'upstream_error',
    details: { param: null },
  })
  for (const status of [200, 302, 600, 42.5, Number.NaN]) {
    t.equal(
      errors.PARLEY_ERR_UPSTREAM_REFUSED({ message: 'bad' }, { status }).statusCode,
      400,
      `status ${status} is not taken`,
    )
  }
  const cause = new Error('root')
  t.equal(errors.PARLEY_ERR_HTTP_INTERNAL({ requestId: 'r' }, { cause }).cause, cause, 'the cause still passes through')
})

t.test('defineErrors refuses a zh message whose placeholders differ', async t => {
  t.throws(
    () =>
      defineErrors({
        PARLEY_ERR_ERRTEST_BAD: { status: 400, type: 'x', message: 'Note {id} of {owner}', zh: '笔记 {id}' },
      }),
    {
      name: 'TypeError',
      message: /PARLEY_ERR_ERRTEST_BAD: the zh message has the placeholders \[id\], the message \[id,owner\]/,
    },
  )
  t.throws(
    () => defineErrors({ PARLEY_ERR_ERRTEST_BAD: { status: 400, type: 'x', message: 'Note {id}', zh: '笔记 {ID}' } }),
    TypeError,
    'names are compared exactly',
  )
  t.doesNotThrow(
    () => defineErrors({ PARLEY_ERR_ERRTEST_OK: { status: 400, type: 'x', message: '{a} and {b}', zh: '{b} 和 {a}' } }),
    'order may differ',
  )
})

t.test('the envelope speaks the caller’s language', async t => {
  const gateway = await boot(t)

  t.test('a kernel error thrown in a route', async t => {
    const english = {
      status: 404,
      error: { type: 'not_found', message: 'Channel 7 does not exist', code: 'PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND' },
    }
    t.same(await errorOf(gateway, '/errtest/kernel'), english, 'English without Accept-Language')
    t.same(await errorOf(gateway, '/errtest/kernel', 'en'), english, 'English for en')
    t.same(
      await errorOf(gateway, '/errtest/kernel', 'fr-FR, de;q=0.8'),
      english,
      'English for a language we do not speak',
    )
    const chinese = {
      status: 404,
      error: { type: 'not_found', message: '渠道 7 不存在', code: 'PARLEY_ERR_CATALOG_CHANNEL_NOT_FOUND' },
    }
    t.same(await errorOf(gateway, '/errtest/kernel', 'zh-CN'), chinese, 'Chinese for zh-CN; type and code unchanged')
    t.same(await errorOf(gateway, '/errtest/kernel', 'zh-CN,zh;q=0.9,en;q=0.8'), chinese, 'a browser’s usual header')
    t.same(await errorOf(gateway, '/errtest/kernel', 'en;q=0.5, zh-TW;q=0.9'), chinese, 'by q-value')
    t.same(await errorOf(gateway, '/errtest/kernel', 'en, zh'), english, 'English first wins')
  })

  t.test('a plugin error: with zh in Chinese, details kept; without zh in English', async t => {
    t.same(await errorOf(gateway, '/errtest/plugin', 'zh-CN'), {
      status: 409,
      error: { type: 'conflict', message: '名称 bob 已被占用', code: 'PARLEY_ERR_ERRTEST_TAKEN', name: 'bob' },
    })
    t.same(await errorOf(gateway, '/errtest/plugin'), {
      status: 409,
      error: { type: 'conflict', message: 'The name bob is taken', code: 'PARLEY_ERR_ERRTEST_TAKEN', name: 'bob' },
    })
    t.equal((await errorOf(gateway, '/errtest/english-only', 'zh-CN')).error.message, 'Only this in English')
    t.same(
      await errorOf(gateway, '/errtest/hand-made', 'zh-CN'),
      {
        status: 418,
        error: { type: 'teapot', message: 'Short and stout', code: 'PARLEY_ERR_ERRTEST_HAND_MADE', spout: true },
      },
      'a hand-made ParleyError as before',
    )
  })

  t.test('PARLEY_ERR_UPSTREAM_REFUSED with its own status', async t => {
    t.same(await errorOf(gateway, '/errtest/refused', 'zh-CN'), {
      status: 422,
      error: {
        type: 'invalid_request_error',
        message: '上游拒绝了请求：max_tokens is too large',
        code: 'PARLEY_ERR_UPSTREAM_REFUSED',
        param: 'max_tokens',
      },
    })
    t.equal((await errorOf(gateway, '/errtest/refused')).error.message, 'max_tokens is too large')
  })

  t.test('the 404 envelope', async t => {
    t.same(await errorOf(gateway, '/no/such/route?x=1'), {
      status: 404,
      error: { type: 'not_found', message: 'Route GET /no/such/route not found', code: 'PARLEY_ERR_HTTP_NOT_FOUND' },
    })
    t.same(await errorOf(gateway, '/api/no/such/route', 'zh-CN'), {
      status: 404,
      error: { type: 'not_found', message: '路由 GET /api/no/such/route 不存在', code: 'PARLEY_ERR_HTTP_NOT_FOUND' },
    })
  })

  t.test('framework errors the kernel translates', async t => {
    const invalid = await errorOf(gateway, '/errtest/typed', 'zh-CN', 'POST', { count: 'many' })
    t.match(
      invalid,
      {
        status: 400,
        error: { type: 'invalid_request', code: 'PARLEY_ERR_HTTP_VALIDATION', message: /^请求参数无效：.*count/ },
      },
      'schema validation',
    )
    t.match(
      await errorOf(gateway, '/errtest/typed', undefined, 'POST', { count: 'many' }),
      { error: { message: /^body\/count must be integer/ } },
      'in English as before',
    )
    const undecodable = await errorOf(gateway, '/errtest/items/%E0%A4%A', 'zh-CN')
    t.match(
      undecodable,
      { status: 400, error: { type: 'invalid_request', code: 'PARLEY_ERR_HTTP_CLIENT', message: /^请求无效：/ } },
      'the router’s own refusals (frameworkErrors)',
    )
  })

  t.test('a refusal from an onRequest hook: a blocked address', async t => {
    const created = await gateway.inject({
      method: 'POST',
      url: '/api/admin/blocked-ips',
      headers: { authorization: 'Bearer root' },
      payload: { ip_address: '203.0.113.0/24' },
    })
    t.equal(created.statusCode, 201)
    const blocked = (language?: string) =>
      gateway.inject({
        method: 'GET',
        url: '/errtest/kernel',
        headers: { 'x-forwarded-for': '203.0.113.9', ...(language ? { 'accept-language': language } : {}) },
      })
    t.same((await blocked('zh-CN')).json(), {
      error: { type: 'ip_blocked', message: '来自您所在地址的请求已被封禁', code: 'PARLEY_ERR_BLOCKED_IP' },
    })
    t.same((await blocked()).json(), {
      error: { type: 'ip_blocked', message: 'Requests from your address are blocked', code: 'PARLEY_ERR_BLOCKED_IP' },
    })
  })
})
