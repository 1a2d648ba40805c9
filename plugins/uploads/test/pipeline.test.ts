/**
 * Stored images in the data plane: `parley-object://` parts reach an OpenAI-compatible upstream
 * (passthrough: the re-serialised body) as a presigned URL or a `data:` URL, as each channel's
 * `image_delivery` says; only the caller's own keys, a missing object is a clear 400 before any
 * upstream, and the keys a call used are marked attached.
 */
import t, { type Test } from 'tap'
import OpenAI from 'openai'
import openai from '@parley/openai'
import {
  createChannel,
  createTestGateway,
  fixtureAuth,
  sdk,
  startMockUpstream,
  until,
  waitForRows,
  type MockUpstream,
} from '@parley/core/testing'
import { boot, png, storedPng, uploadRows, type Booted } from './helpers.js'

async function withChannel(
  t: Test,
  delivery: 'auto' | 'url' | 'inline' | undefined,
): Promise<{ booted: Booted; upstream: MockUpstream; client: OpenAI }> {
  const booted = await boot(t, { plugins: [openai] })
  const upstream = await startMockUpstream()
  t.teardown(upstream.close)
  await createChannel(booted.gateway, {
    name: 'vision',
    base_url: upstream.url,
    keys: ['sk-test'],
    models: ['gpt-4o'],
    ...(delivery ? { image_delivery: delivery } : {}),
  })
  return { booted, upstream, client: sdk(booted.gateway, 'token-default') }
}

function ask(client: OpenAI, key: string, stream = false) {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture?' },
        { type: 'image_url', image_url: { url: `parley-object://${key}`, detail: 'low' } },
      ],
    },
  ]
  return stream
    ? client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }).then(async s => {
        let text = ''
        for await (const chunk of s) text += chunk.choices[0]?.delta.content ?? ''
        return text
      })
    : client.chat.completions.create({ model: 'gpt-4o', messages }).then(c => c.choices[0]?.message.content)
}

const DATA_URL = `data:image/png;base64,${png().toString('base64')}`

t.test('auto with relative storage URLs (no site_base_url): the image goes inline', async t => {
  const { booted, upstream, client } = await withChannel(t, undefined)
  const key = await storedPng(booted, 'ada')
  t.equal(await ask(client, key), 'ok')
  t.same(upstream.requests[0]?.images, [DATA_URL], 'the upstream got the bytes as a data: URL')
  const part = (upstream.requests[0]?.body?.messages as Array<{ content: Array<Record<string, unknown>> }>)[0]
    ?.content[1]
  t.same(part, { type: 'image_url', image_url: { url: DATA_URL, detail: 'low' } }, 'detail kept')
  await until(async () => (await uploadRows(booted.gateway))[0]?.attached_at != null, 'the upload marked attached')
  t.equal(await ask(client, key, true), 'ok', 'streamed too')
  t.same(upstream.requests[1]?.images, [DATA_URL])
})

t.test('url with an absolute site_base_url: a presigned URL the upstream can fetch', async t => {
  const { booted, upstream, client } = await withChannel(t, 'url')
  await booted.gateway.settings.set('site_base_url', booted.base)
  const key = await storedPng(booted, 'ada')
  t.equal(await ask(client, key), 'ok')
  const url = upstream.requests[0]?.images[0] ?? ''
  t.match(url, new RegExp(`^${booted.base}/storage/local/${key}\\?expires=\\d+&sig=`), 'a presigned GET')
  const fetched = await fetch(url)
  t.same(Buffer.from(await fetched.arrayBuffer()), png(), 'which serves the image')
})

t.test('inline even where URLs are absolute, when the channel says so', async t => {
  const { booted, upstream, client } = await withChannel(t, 'inline')
  await booted.gateway.settings.set('site_base_url', booted.base)
  const key = await storedPng(booted, 'ada')
  t.equal(await ask(client, key), 'ok')
  t.same(upstream.requests[0]?.images, [DATA_URL])
})

t.test('refusals: a clear 400 before any upstream, nothing marked', async t => {
  const { booted, upstream, client } = await withChannel(t, 'url')
  const key = await storedPng(booted, 'ada')
  const refusals: Array<[string, string, RegExp]> = [
    ['url, but storage URLs are relative', key, /storage URLs here are relative; set site_base_url/],
    [
      'a key never uploaded',
      '2/c1/images/00000000-0000-4000-8000-000000000000.png',
      /no such image among your uploads/,
    ],
    ["another user's key", key.replace(/^2\//, '1/'), /not one of your uploads/],
    ['a key climbing out', '2/../1/c1/images/x.png', /not one of your uploads/],
  ]
  for (const [what, ref, message] of refusals) {
    const error = await ask(client, ref).then(
      () => undefined,
      (error: unknown) => error,
    )
    t.ok(error instanceof OpenAI.BadRequestError, `${what}: 400`)
    t.match((error as InstanceType<typeof OpenAI.BadRequestError>).message, message, what)
  }
  t.equal(upstream.requests.length, 0, 'the upstream got nothing')
  t.equal((await uploadRows(booted.gateway))[0]?.attached_at, null, 'nothing marked attached')
  const rows = await waitForRows(booted.gateway, refusals.length)
  t.same(
    rows.map(row => [row.status, row.error_type]),
    refusals.map(() => ['error', 'invalid_request']),
    'each refusal is logged',
  )
})

t.test('text-only calls and plain image URLs pass as they were', async t => {
  const { upstream, client } = await withChannel(t, 'inline')
  await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
      { role: 'user', content: 'hi' },
    ],
  })
  t.same(upstream.requests[0]?.images, ['https://example.com/cat.png'])
})

t.test('with no storage driver loaded nothing is scanned: a reference goes up as it came', async t => {
  const gateway = await createTestGateway({ plugins: [fixtureAuth, openai], listen: true })
  t.teardown(gateway.close)
  const upstream = await startMockUpstream()
  t.teardown(upstream.close)
  await createChannel(gateway, { name: 'plain', base_url: upstream.url, keys: ['sk-test'], models: ['gpt-4o'] })
  t.equal(await ask(sdk(gateway, 'token-default'), '1/c1/images/someone-elses.png'), 'ok')
  t.same(upstream.requests[0]?.images, ['parley-object://1/c1/images/someone-elses.png'])
})
