import { getEventListeners } from 'node:events'
import t, { type Test } from 'tap'
import {
  definePlugin,
  ParleyError,
  TOKENS,
  Type,
  type ChatProvider,
  type ChatService,
  type DetachedOutcome,
  type LimitDecision,
  type Principal,
} from '@parley/core'
import {
  createChannel,
  createTestGateway,
  fixtureAuth,
  providerPlugin,
  scriptedProvider,
  startMockUpstream,
  until,
  usageRows,
  type ScriptedProvider,
  type TestGateway,
} from '@parley/core/testing'

/**
 * `ChatService.detached`: the data plane's call with its answer going to a sink the caller
 * gives, stopped only by the caller's signal, not by the request's connection.
 */

const ADA: Principal = { kind: 'widget_user', clientId: 'c1', externalId: 'ext-1', group: 'default' } as Principal

interface Run {
  events: string[]
  opened: { contentType: string; headers: Readonly<Record<string, string>> } | undefined
  ended: number
  outcome: Promise<DetachedOutcome>
  stop: AbortController
}

/** A plugin whose route starts a detached call and answers 202 at once: the HTTP exchange ends first. */
function detachedRoute(runs: Run[], refuse: { caller?: LimitDecision }) {
  return definePlugin({
    id: 'detached-route',
    version: '1.0.0',
    setup(ctx) {
      const chat = ctx.container.resolve<ChatService>(TOKENS.chat)
      ctx.limits.register('fixture', {
        check: subject => (subject.kind === 'caller' && refuse.caller) || { allowed: true },
      })
      ctx.http.post(
        '/api/detached',
        { schema: { body: Type.Object({ model: Type.String(), stream: Type.Boolean(), text: Type.String() }) } },
        async (request, reply) => {
          const stop = new AbortController()
          const run: Run = { events: [], opened: undefined, ended: 0, outcome: undefined as never, stop }
          let begun!: () => void
          const beginning = new Promise<void>(resolve => (begun = resolve))
          run.outcome = chat.detached(request, {
            body: {
              model: request.body.model,
              stream: request.body.stream,
              messages: [{ role: 'user', content: request.body.text }],
            },
            principal: ADA,
            endpoint: 'widget',
            signal: stop.signal,
            requestId: `detached-${runs.length}`,
            sink: {
              open: head => {
                run.opened = head
                begun()
              },
              write: piece => void run.events.push(piece),
              end: () => {
                run.ended++
                begun()
              },
            },
          })
          runs.push(run)
          // The route waits only for the answer to begin (or be refused), never for its end.
          await Promise.race([run.outcome, beginning])
          return reply.code(202).send({ started: true })
        },
      )
    },
  })
}

async function setup(
  t: Test,
  provider: ChatProvider,
  refuse: { caller?: LimitDecision } = {},
): Promise<{ gateway: TestGateway; runs: Run[] }> {
  const runs: Run[] = []
  const gateway = await createTestGateway({
    plugins: [fixtureAuth, providerPlugin('scripted', provider), detachedRoute(runs, refuse)],
  })
  t.teardown(gateway.close)
  return { gateway, runs }
}

function post(gateway: TestGateway, body: Record<string, unknown>) {
  return gateway.inject({ method: 'POST', url: '/api/detached', payload: body })
}

t.test('a streamed answer reaches the sink whole after the HTTP exchange ended, with its usage row', async t => {
  const provider: ScriptedProvider = scriptedProvider()
  const { gateway, runs } = await setup(t, provider)
  await createChannel(gateway, { name: 'main', provider: 'scripted', base_url: 'https://1.1.1.1/v1', models: ['bot'] })
  provider.reply({
    events: [
      { type: 'text', delta: 'Hello' },
      { type: 'text', delta: ' there' },
      { type: 'usage', promptTokens: 3, completionTokens: 2 },
      { type: 'done', finishReason: 'stop' },
    ],
    delayMs: 60,
  })
  const response = await post(gateway, { model: 'bot', stream: true, text: 'hi' })
  t.equal(response.statusCode, 202, 'the route answered before the answer ended')
  const run = runs[0] as Run
  t.equal(run.ended, 0, 'the answer was still going when the HTTP exchange ended')
  t.same(await run.outcome, { status: 'answered' })
  t.equal(run.ended, 1, 'the sink was ended once')
  t.match(run.opened, { contentType: 'text/event-stream; charset=utf-8' })
  const text = run.events.join('')
  t.ok(text.endsWith('data: [DONE]\n\n'), 'the stream ends as OpenAI streams do')
  const deltas = text
    .split('\n\n')
    .filter(event => event.startsWith('data: {'))
    .map(
      event =>
        (JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ??
        '',
    )
  t.equal(deltas.join(''), 'Hello there')
  for (const piece of run.events) t.ok(piece.endsWith('\n\n'), 'every piece holds whole events')
  const rows = await usageRows(gateway)
  t.match(rows, [
    { status: 'success', request_id: 'detached-0', endpoint: 'widget', prompt_tokens: 3, completion_tokens: 2 },
  ])
})

t.test('the signal stops the call: the upstream is aborted, the sink ended, the row says aborted', async t => {
  const provider = scriptedProvider()
  const { gateway, runs } = await setup(t, provider)
  await createChannel(gateway, { name: 'main', provider: 'scripted', base_url: 'https://1.1.1.1/v1', models: ['bot'] })
  provider.reply({ events: Array.from({ length: 50 }, () => ({ type: 'text', delta: 'x' }) as const), delayMs: 40 })
  await post(gateway, { model: 'bot', stream: true, text: 'hi' })
  const run = runs[0] as Run
  await until(() => run.events.length >= 2, 'two pieces')
  run.stop.abort()
  t.same(await run.outcome, { status: 'aborted' })
  t.equal(run.ended, 1)
  await until(() => provider.calls[0]?.aborted === true, 'the provider call aborted')
  const settled = run.events.length
  await new Promise(resolve => setTimeout(resolve, 120))
  t.equal(run.events.length, settled, 'nothing is written after the stop')
  t.match(await usageRows(gateway), [{ status: 'aborted', error_type: 'client_closed' }])
})

t.test('a whole answer is one JSON piece; a refusal rejects and never opens the sink', async t => {
  const refuse: { caller?: LimitDecision } = {}
  const provider = scriptedProvider()
  const { gateway, runs } = await setup(t, provider, refuse)
  await createChannel(gateway, { name: 'main', provider: 'scripted', base_url: 'https://1.1.1.1/v1', models: ['bot'] })
  provider.reply({
    events: [
      { type: 'text', delta: 'whole' },
      { type: 'done', finishReason: 'stop' },
    ],
  })
  await post(gateway, { model: 'bot', stream: false, text: 'hi' })
  const whole = runs[0] as Run
  t.same(await whole.outcome, { status: 'answered' })
  t.match(whole.opened, { contentType: 'application/json' })
  t.equal(whole.events.length, 1)
  t.match(JSON.parse(whole.events[0] as string), {
    object: 'chat.completion',
    choices: [{ message: { content: 'whole' } }],
  })

  refuse.caller = { allowed: false, reason: 'caller', limit: 2, retryAfterMs: 30_000 }
  const refused = await post(gateway, { model: 'bot', stream: true, text: 'hi' })
  t.equal(refused.statusCode, 429, 'the route passed the refusal on')
  const run = runs[1] as Run
  const error = await run.outcome.catch((caught: unknown) => caught)
  t.ok(error instanceof ParleyError && error.type === 'rate_limit_exceeded', 'the refusal is the catalogue error')
  t.equal(run.opened, undefined)
  t.equal(run.ended, 0)
  t.equal(getEventListeners(run.stop.signal, 'abort').length, 0, 'nothing is left on the caller signal')

  refuse.caller = undefined
  const unknown = await post(gateway, { model: 'nobody-serves-this', stream: true, text: 'hi' })
  const routeError = (await runs[2]?.outcome.catch((caught: ParleyError) => caught)) as ParleyError | undefined
  t.equal(routeError?.statusCode, 404)
  t.equal(unknown.statusCode, 404, 'a model nobody serves is refused before any answer')
  t.equal(runs[2]?.opened, undefined)
})

t.test(
  'a passthrough upstream: its bytes reach the sink as whole events, and a signal aborted at once costs nothing',
  async t => {
    const upstream = await startMockUpstream()
    t.teardown(upstream.close)
    const openaiLike: ChatProvider = {
      passthrough: {
        supports: path => path === '/chat/completions',
        prepare: (request, target) => ({
          url: `${target.baseUrl}${request.path}`,
          headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' },
        }),
      },
      // eslint-disable-next-line require-yield
      async *chat() {
        throw new Error('passthrough only')
      },
    }
    const { gateway, runs } = await setup(t, openaiLike)
    await createChannel(gateway, {
      name: 'pass',
      provider: 'scripted',
      base_url: upstream.url,
      keys: ['sk-pass-00000000'],
      models: ['gpt-4o-mini'],
    })
    upstream.reply({ text: 'one two three four', usage: { prompt: 4, completion: 4 }, chunkDelayMs: 20 })
    await post(gateway, { model: 'gpt-4o-mini', stream: true, text: 'hi' })
    const run = runs[0] as Run
    t.same(await run.outcome, { status: 'answered' })
    const text = run.events.join('')
    t.match(text, /one/)
    t.ok(text.endsWith('data: [DONE]\n\n'))
    t.match(await usageRows(gateway), [{ status: 'success', prompt_tokens: 4, completion_tokens: 4 }])

    const chat = gateway.container.resolve<ChatService>(TOKENS.chat)
    const stop = new AbortController()
    stop.abort()
    const before = upstream.requests.length
    const fakeRequest = {} as never
    t.same(
      await chat.detached(fakeRequest, {
        body: { model: 'gpt-4o-mini' },
        principal: ADA,
        endpoint: 'widget',
        signal: stop.signal,
        sink: { write() {}, end() {} },
      }),
      { status: 'aborted' },
    )
    t.equal(upstream.requests.length, before, 'no upstream request')
  },
)
