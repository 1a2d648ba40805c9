/**
 * Each upstream failure class reaches the caller as the catalogue's own message, in English or
 * Chinese as the caller asks, and the usage row says which class it was (docs/usage.md "Error
 * types"): auth, rate limit, server error, timeout, connect, bad request; mid-stream errors too.
 */
import t from 'tap'
import { captureLogs, freePort } from '@parley/core/testing'
import { bootGateway, bootUpstream, createChannel, post, readSse, usageRows, waitForRows } from './helpers.js'

const MODEL = 'gpt-4o-mini'
const ask = { model: MODEL, messages: [{ role: 'user', content: 'Hello?' }] }
const CALLER = { authorization: 'Bearer token-default' }
const ZH = { ...CALLER, 'accept-language': 'zh-CN,zh;q=0.9' }

interface Case {
  readonly name: string
  /** The mock's behaviour for both calls (en, zh). */
  readonly behaviour?: Record<string, unknown>
  /** A channel at an address nobody listens on. */
  readonly unreachable?: boolean
  readonly status: number
  readonly en: RegExp
  readonly zh: RegExp
  readonly rowType: string
}

const cases: Case[] = [
  {
    name: 'auth',
    behaviour: { status: 401 },
    status: 502,
    en: /^The upstream refused this channel's credentials$/,
    zh: /^上游拒绝了此渠道的凭据$/,
    rowType: 'upstream_auth',
  },
  {
    name: 'rate limit',
    behaviour: { status: 429 },
    status: 503,
    en: /rate limit/,
    zh: /速率限制/,
    rowType: 'upstream_rate_limit',
  },
  {
    name: 'server error',
    behaviour: { status: 500 },
    status: 502,
    en: /^The upstream answered with a server error \(HTTP 500\); retry later$/,
    zh: /^上游服务器出错（HTTP 500），请稍后重试$/,
    rowType: 'upstream_server_error',
  },
  {
    name: 'timeout',
    behaviour: { text: 'late', slowHeadersMs: 1500 },
    status: 504,
    en: /^The upstream did not start answering in time$/,
    zh: /^上游未能按时开始回答$/,
    rowType: 'timeout',
  },
  {
    name: 'connect',
    unreachable: true,
    status: 502,
    en: /^The upstream could not be reached$/,
    zh: /^无法连接上游服务$/,
    rowType: 'upstream_connect',
  },
  {
    name: 'bad request',
    behaviour: { status: 400, message: 'messages: too short', code: 'bad_messages' },
    status: 400,
    en: /^messages: too short$/,
    zh: /^上游拒绝了请求：messages: too short$/,
    rowType: 'upstream_bad_request',
  },
]

for (const c of cases) {
  t.test(`${c.name}: status, message in en and zh-CN, the row's class`, async t => {
    const upstream = await bootUpstream(t)
    const logs = captureLogs('warn')
    const gateway = await bootGateway(t, {
      logger: logs.logger,
      config: { upstream: { first_byte_timeout_ms: 400, max_attempts: 1 } },
    })
    const baseUrl = c.unreachable ? `http://127.0.0.1:${await freePort()}/v1` : upstream.url
    await createChannel(gateway, {
      name: 'only',
      base_url: baseUrl,
      keys: ['sk-class-test-0123456789'],
      models: [MODEL],
    })
    if (c.behaviour) upstream.script([c.behaviour, c.behaviour] as never)

    const en = await post(gateway, '/v1/chat/completions', ask, CALLER)
    t.equal(en.status, c.status)
    const enBody = (await en.json()) as { error: { message: string } }
    t.match(enBody.error.message, c.en)
    const zh = await post(gateway, '/v1/chat/completions', ask, ZH)
    t.equal(zh.status, c.status)
    t.match(((await zh.json()) as { error: { message: string } }).error.message, c.zh)

    const rows = await waitForRows(gateway, 2)
    t.same(
      rows.map(row => [row.status, row.error_type]),
      [
        ['error', c.rowType],
        ['error', c.rowType],
      ],
    )
    const attempts = logs.containing('upstream attempt failed').map(line => JSON.parse(line) as { type?: string })
    t.same(
      attempts.map(line => line.type),
      [c.rowType, c.rowType],
      'the log line of each attempt names the class too',
    )
  })
}

t.test('a stream broken off mid-answer tells the caller in their language', async t => {
  const upstream = await bootUpstream(t)
  const gateway = await bootGateway(t)
  await createChannel(gateway, {
    name: 'drops',
    base_url: upstream.url,
    keys: ['sk-drop-test-0123456789'],
    models: [MODEL],
  })
  const body = { ...ask, stream: true }
  const last = async (headers: Record<string, string>) => {
    upstream.reply({ text: 'one two three four five six', dropAfterChunks: 2 })
    const events = await readSse(await post(gateway, '/v1/chat/completions', body, headers))
    const frame = events.map(event => event.data).find(data => data.includes('"error"'))
    return (JSON.parse(frame ?? '{}') as { error?: { message?: string } }).error?.message
  }
  t.equal(await last(CALLER), 'The upstream broke off mid-answer')
  t.equal(await last(ZH), '上游在回答途中断开了连接')
  const rows = await usageRows(gateway)
  t.same(
    rows.map(row => row.error_type),
    ['upstream_error', 'upstream_error'],
  )
})
