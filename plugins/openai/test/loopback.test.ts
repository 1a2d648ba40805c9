import OpenAI from 'openai'
import t from 'tap'
import { captureLogs, createTestGateway, type TestGateway } from '@parley/core/testing'
import openai from '@parley/openai'
import { bootGateway, bootUpstream, createChannel, fixtureAuth, ROOT, sdk } from './helpers.js'

// A model server on the gateway's own host (Ollama, vLLM, LM Studio): loopback upstreams are
// admitted only by the operator's `upstream.allow_loopback` key or UPSTREAM_ALLOW_LOOPBACK=1,
// never by a setting. The mock upstream listens on 127.0.0.1, exactly such a server.

const KEY = 'sk-local-0123456789abcdef'
const ASK = { model: 'llama3.2', messages: [{ role: 'user' as const, content: 'hi' }] }
const OFF = { upstream: { allow_loopback: false } }
const ON = { upstream: { allow_loopback: true } }

const saveChannel = (gateway: TestGateway, name: string, baseUrl: string) =>
  gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { name, provider: 'openai', base_url: baseUrl, keys: [KEY], models: ['llama3.2'] },
  })

const loadedWarning = (lines: readonly string[]) =>
  lines
    .map(line => JSON.parse(line) as Record<string, unknown>)
    .filter(line => typeof line.msg === 'string' && line.msg.startsWith('loopback upstreams are admitted'))

t.test('switch off (the default): a loopback channel is refused when saved, and a stored one at connect', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const port = new URL(upstream.url).port
  const off = await bootGateway(t, { config: OFF })
  t.equal(off.config.upstream.allow_loopback, false)
  for (const baseUrl of [
    upstream.url,
    `http://localhost:${port}/v1`,
    `http://[::1]:${port}/v1`,
    `http://[::ffff:127.0.0.1]:${port}/v1`,
    `http://127.1:${port}/v1`,
  ]) {
    const saved = await saveChannel(off, 'local', baseUrl)
    t.equal(saved.statusCode, 400, `${baseUrl} is refused`)
    t.match(saved.json(), {
      error: {
        type: 'invalid_request',
        message:
          /loopback address\); a model server on the gateway's own host needs the operator's upstream\.allow_loopback config key \(UPSTREAM_ALLOW_LOOPBACK=1\)/,
      },
    })
  }
  // Turning allow_private_upstreams on (an admin's setting) does not open loopback.
  const setting = await off.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { allow_private_upstreams: true },
  })
  t.equal(setting.statusCode, 200, setting.body)
  t.equal((await saveChannel(off, 'local', upstream.url)).statusCode, 400, 'the LAN setting leaves loopback refused')

  // A channel saved while the switch was on, then the operator turned it off and restarted:
  // the guard refuses the connection, and the upstream never hears of the call.
  const on = await createTestGateway({ plugins: [fixtureAuth, openai], listen: true, config: ON })
  let stale: TestGateway | undefined
  t.teardown(async () => {
    await stale?.close()
    await on.close()
  })
  await createChannel(on, { name: 'local', base_url: upstream.url, keys: [KEY], models: ['llama3.2'] })
  const staleLogs = captureLogs('warn')
  stale = await createTestGateway({
    plugins: [fixtureAuth, openai],
    listen: true,
    sharedWith: on,
    config: OFF,
    logger: staleLogs.logger,
  })
  t.ok(
    stale.catalog.current().channels.some(channel => channel.name === 'local'),
    'the stored channel is routable on the restarted instance',
  )
  const refused = await sdk(stale, 'token-default')
    .chat.completions.create(ASK)
    .then(
      () => undefined,
      (error: unknown) => error,
    )
  t.type(refused, OpenAI.APIError)
  t.equal((refused as InstanceType<typeof OpenAI.APIError>).status, 502, 'refused at connect time')
  t.ok(
    staleLogs.containing('PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN').some(line => line.includes('"channel":"local"')),
    'the log names the guard',
  )
  t.equal(upstream.requests.length, 0, 'the upstream saw nothing')
  t.equal(upstream.connections, 0, 'not even a connection')
})

t.test('switch on: a channel on 127.0.0.1 serves a real chat completion, and the start log says so', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const port = new URL(upstream.url).port
  const logs = captureLogs('warn')
  const gateway = await bootGateway(t, { config: ON, logger: logs.logger })
  t.match(
    loadedWarning(logs.lines),
    [{ level: 40, key: 'upstream.allow_loopback', source: 'overrides' }],
    'one warn line at start',
  )

  await createChannel(gateway, { name: 'ollama', base_url: upstream.url, keys: [KEY], models: ['llama3.2'] })
  upstream.reply({ text: 'Hello from this host.' })
  const answer = await sdk(gateway, 'token-default').chat.completions.create(ASK)
  t.equal(answer.choices[0]?.message.content, 'Hello from this host.')
  t.equal(upstream.requests.length, 1)
  t.equal(upstream.requests[0]?.path, '/v1/chat/completions')
  t.equal(upstream.requests[0]?.apiKey, KEY)

  const spellings = [
    `http://[::ffff:127.0.0.1]:${port}/v1`,
    `http://[::1]:${port}/v1`,
    `http://127.0.0.2:${port}/v1`,
    `http://localhost:${port}/v1`,
  ]
  for (const [index, baseUrl] of spellings.entries()) {
    t.equal((await saveChannel(gateway, `also-${index}`, baseUrl)).statusCode, 201, `${baseUrl} is admitted`)
  }
})

t.test(
  'switch on: link-local, metadata and unspecified addresses stay refused; private stays with its setting',
  async t => {
    const gateway = await bootGateway(t, { config: ON })
    const refused = [
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:169.254.169.254]/',
      'http://169.254.170.2/v2/credentials',
      'http://100.100.100.200/',
      'http://[fd00:ec2::254]/',
      'http://169.254.1.1:11434/v1',
      'http://[fe80::1]:11434/v1',
      'http://0.0.0.0:11434/v1',
      'http://[::]:11434/v1',
      'http://[64:ff9b::127.0.0.1]:11434/v1',
      // Not resolvable here and refused for that; on GCP it resolves to 169.254.169.254, refused as metadata.
      'http://metadata.google.internal/computeMetadata/v1',
    ]
    for (const allowPrivate of [false, true]) {
      const setting = await gateway.inject({
        method: 'PUT',
        url: '/api/admin/config',
        headers: { authorization: `Bearer ${ROOT}` },
        payload: { allow_private_upstreams: allowPrivate },
      })
      t.equal(setting.statusCode, 200, setting.body)
      for (const baseUrl of refused) {
        const saved = await saveChannel(gateway, 'bad', baseUrl)
        t.equal(saved.statusCode, 400, `${baseUrl} is refused (allow_private_upstreams ${allowPrivate})`)
        t.notMatch(saved.body, /allow_loopback/, 'no hint at a switch that would not help')
      }
    }
    await gateway.inject({
      method: 'PUT',
      url: '/api/admin/config',
      headers: { authorization: `Bearer ${ROOT}` },
      payload: { allow_private_upstreams: false },
    })
    const lan = await saveChannel(gateway, 'lan', 'http://10.0.0.5:11434/v1')
    t.equal(lan.statusCode, 400, 'a LAN address still needs allow_private_upstreams')
    t.match(lan.body, /allow_private_upstreams/)
  },
)

t.test('UPSTREAM_ALLOW_LOOPBACK sets the switch', async t => {
  const upstream = await bootUpstream(t, { keys: [KEY] })
  const logs = captureLogs('warn')
  const on = await bootGateway(t, { env: { UPSTREAM_ALLOW_LOOPBACK: '1' }, logger: logs.logger })
  t.equal(on.config.upstream.allow_loopback, true)
  t.match(loadedWarning(logs.lines), [{ source: 'environment variable UPSTREAM_ALLOW_LOOPBACK' }])
  await createChannel(on, { name: 'local', base_url: upstream.url, keys: [KEY], models: ['llama3.2'] })
  t.equal((await sdk(on, 'token-default').chat.completions.create(ASK)).choices[0]?.message.content, 'ok')

  const quiet = captureLogs('warn')
  const off = await bootGateway(t, { env: { UPSTREAM_ALLOW_LOOPBACK: '0' }, logger: quiet.logger })
  t.equal(off.config.upstream.allow_loopback, false)
  t.same(loadedWarning(quiet.lines), [], 'nothing to warn about')
  t.equal((await saveChannel(off, 'local', upstream.url)).statusCode, 400)
})
