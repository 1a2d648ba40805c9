import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import openai from '@parley/openai'
import {
  createChannel,
  createTestGateway,
  fixtureAuth,
  ROOT,
  startMockUpstream,
  type MockUpstream,
  type TestGateway,
} from '@parley/core/testing'
import widget, { buildWidget, sign, signatureBase } from '../src/index.js'

let built: Promise<unknown> | undefined
/** The front ends the widget serves, built once per test process (the plugin reads them at setup). */
export const ensureBuilt = (): Promise<unknown> => (built ??= buildWidget())

export interface WidgetFixture {
  readonly gateway: TestGateway
  readonly upstream: MockUpstream
}

export interface CreatedClient {
  readonly id: number
  readonly client_id: string
  readonly secret: string
  readonly [field: string]: unknown
}

/** A gateway with the widget, the openai provider and a mock upstream serving `gpt-4o-mini`. */
export async function widgetGateway(
  t: Test,
  options: {
    mysqlUrl?: string
    redisUrl?: string
    env?: Record<string, string>
    listen?: boolean
    upstream?: MockUpstream
    sharedWith?: TestGateway
    plugins?: unknown[]
    config?: Record<string, unknown>
    /** false: the database already has the mock channel (a restarted gateway). */
    channel?: boolean
  } = {},
): Promise<WidgetFixture> {
  await ensureBuilt()
  const upstream = options.upstream ?? (await startMockUpstream())
  if (!options.upstream) t.teardown(upstream.close)
  const gateway = await createTestGateway({
    plugins: [fixtureAuth, openai, widget, ...((options.plugins ?? []) as [])],
    listen: options.listen ?? false,
    ...(options.mysqlUrl ? { mysqlUrl: options.mysqlUrl } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.sharedWith ? { sharedWith: options.sharedWith } : {}),
    ...(options.config ? { config: options.config } : {}),
  })
  t.teardown(gateway.close)
  if (!options.sharedWith && options.channel !== false)
    await createChannel(gateway, {
      name: 'mock',
      base_url: upstream.url,
      keys: ['sk-mock-000000000000'],
      models: ['gpt-4o-mini'],
    })
  return { gateway, upstream }
}

export async function createClient(gateway: TestGateway, fields: Record<string, unknown> = {}): Promise<CreatedClient> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/admin/widget-clients',
    headers: { authorization: `Bearer ${ROOT}` },
    payload: {
      name: 'Shop',
      allowed_ips: ['127.0.0.1', '::1'],
      allowed_origins: ['http://shop.test'],
      model: 'gpt-4o-mini',
      ...fields,
    },
  })
  if (response.statusCode !== 201) throw new Error(`client: HTTP ${response.statusCode} ${response.body}`)
  return response.json() as CreatedClient
}

/**
 * Lets a client be embedded by `origin` (a host site started after the client, which it needs),
 * with any other fields changed at the same time.
 */
export async function allowOrigin(
  gateway: TestGateway,
  client: CreatedClient,
  origin: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const response = await gateway.inject({
    method: 'PUT',
    url: `/api/admin/widget-clients/${client.id}`,
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { allowed_origins: [origin], ...fields },
  })
  if (response.statusCode !== 200) throw new Error(`allow ${origin}: HTTP ${response.statusCode} ${response.body}`)
}

/** Headers and body of a signed session request, as a business backend sends them. */
export function signedRequest(
  clientId: string,
  secret: string,
  body: Record<string, unknown> = { external_user_id: '+8613800000000' },
  overrides: { timestamp?: number; nonce?: string; path?: string } = {},
): { headers: Record<string, string>; payload: string } {
  const payload = JSON.stringify(body)
  const timestamp = String(overrides.timestamp ?? Math.floor(Date.now() / 1000))
  const nonce = overrides.nonce ?? randomUUID()
  const base = signatureBase(
    'POST',
    overrides.path ?? '/api/internal/session/create',
    timestamp,
    nonce,
    Buffer.from(payload),
  )
  return {
    payload,
    headers: {
      'content-type': 'application/json',
      'x-parley-client': clientId,
      'x-parley-timestamp': timestamp,
      'x-parley-nonce': nonce,
      'x-parley-signature': sign(secret, base),
    },
  }
}

export async function createSession(
  gateway: TestGateway,
  client: CreatedClient,
  externalUserId = 'user-1',
): Promise<string> {
  const signed = signedRequest(client.client_id, client.secret, { external_user_id: externalUserId })
  const response = await gateway.inject({ method: 'POST', url: '/api/internal/session/create', ...signed })
  if (response.statusCode !== 200) throw new Error(`session: HTTP ${response.statusCode} ${response.body}`)
  return (response.json() as { session_token: string }).session_token
}

export interface WidgetEvent {
  readonly id: string
  readonly data: string
}

/**
 * Reads a widget SSE response; with `stopAfter`, cuts the connection once that many events
 * arrived (the browser dropping mid-answer).
 */
export async function readEvents(
  response: Response,
  stopAfter?: { count: number; abort: AbortController },
): Promise<WidgetEvent[]> {
  const events: WidgetEvent[] = []
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const raw = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        let id = ''
        const data: string[] = []
        for (const line of raw.split('\n')) {
          if (line.startsWith('id: ')) id = line.slice(4)
          else if (line.startsWith('data: ')) data.push(line.slice(6))
        }
        events.push({ id, data: data.join('\n') })
        if (stopAfter && events.length >= stopAfter.count) {
          stopAfter.abort.abort()
          return events
        }
      }
    }
  } catch (error) {
    if (!stopAfter?.abort.signal.aborted) throw error
  }
  return events
}

/** The text of chat chunk events, in order. */
export function textOf(events: readonly WidgetEvent[]): string {
  let text = ''
  for (const event of events) {
    if (!event.data.startsWith('{')) continue
    const chunk = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: string } }> }
    text += chunk.choices?.[0]?.delta?.content ?? ''
  }
  return text
}
