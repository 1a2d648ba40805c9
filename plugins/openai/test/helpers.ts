/**
 * Shared by the openai plugin's functional tests: a fixture auth plugin, a gateway with the
 * openai provider, channels made through the admin API, usage rows, and SSE reading.
 */
import OpenAI from 'openai'
import type { Test } from 'tap'
import { definePlugin, type AnyPluginDefinition, type Principal } from '@parley/core'
import { createTestGateway, startMockUpstream, type MockUpstream, type MockUpstreamOptions, type TestGateway, type TestGatewayOptions } from '@parley/core/testing'
import openai from '@parley/openai'

/** The admin token of the fixture auth plugin. */
export const ROOT = 'root'

/**
 * Bearer tokens of the fixture auth plugin, each naming the caller's group:
 * `root` (root user 1), `user-<group>` (session of user 2 "ada"), `token-<group>` (API token 7
 * of user 2), `portal-<group>` (user 2's portal `chat` token 8); `x-guest: <group>` without a
 * token is a guest. Anything else is anonymous.
 */
export const fixtureAuth = definePlugin({
  id: 'openai-test-auth',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
        if (token === ROOT) return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
        const [, kind, group] = /^(user|token|portal)-(.+)$/.exec(token ?? '') ?? []
        if (kind === 'user' && group) return { kind: 'user', userId: '2', role: 'user', group, name: 'ada' }
        if (kind === 'token' && group) return { kind: 'api_token', tokenId: '7', userId: '2', role: 'user', group, name: 'ada' }
        if (kind === 'portal' && group) return { kind: 'api_token', tokenId: '8', userId: '2', role: 'user', group, name: 'ada', portal: true }
        const guest = request.headers['x-guest']
        if (token === undefined && typeof guest === 'string' && guest !== '') return { kind: 'guest', ip: request.ip, group: guest }
        return undefined
      },
    })
  },
})

/** A listening gateway with the fixture auth and the openai provider (plus `extra`), closed at teardown. */
export async function bootGateway(t: Test, options: TestGatewayOptions & { extra?: AnyPluginDefinition[] } = {}): Promise<TestGateway> {
  const { extra = [], ...rest } = options
  const gateway = await createTestGateway({ plugins: [fixtureAuth, openai, ...extra], listen: true, ...rest })
  t.teardown(gateway.close)
  return gateway
}

/** A mock OpenAI upstream, closed at teardown. */
export async function bootUpstream(t: Test, options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const upstream = await startMockUpstream(options)
  t.teardown(upstream.close)
  return upstream
}

export interface ChannelFields {
  readonly name: string
  readonly base_url: string
  readonly keys?: readonly string[]
  readonly models?: ReadonlyArray<string | { model: string; upstream_model?: string }>
  readonly groups?: readonly string[]
  readonly priority?: number
  readonly weight?: number
  readonly settings?: Record<string, unknown>
  readonly provider?: string
  readonly enabled?: boolean
}

/** Creates a channel through the admin API and waits until the routing snapshot has it. */
export async function createChannel(gateway: TestGateway, fields: ChannelFields, adminToken = ROOT): Promise<number> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/admin/channels',
    headers: { authorization: `Bearer ${adminToken}` },
    payload: { provider: 'openai', ...fields },
  })
  if (response.statusCode !== 201) throw new Error(`channel ${fields.name}: HTTP ${response.statusCode} ${response.body}`)
  const id = (response.json() as { id: number }).id
  if (fields.enabled !== false) await until(() => gateway.catalog.current().channels.some(channel => channel.id === id), `channel ${fields.name} in the snapshot`)
  return id
}

/** Pins a group's portal traffic to a channel and waits until the snapshot has the route. */
export async function createChatRoute(gateway: TestGateway, group: string, channelId: number, adminToken = ROOT): Promise<void> {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/admin/chat-routes',
    headers: { authorization: `Bearer ${adminToken}` },
    payload: { group_name: group, channel_id: channelId },
  })
  if (response.statusCode >= 300) throw new Error(`chat route ${group}: HTTP ${response.statusCode} ${response.body}`)
  await until(() => gateway.catalog.current().chatRoutes.get(group) === channelId, `chat route of ${group} in the snapshot`)
}

/** Polls `check` until it holds; the catalog snapshot and the usage writer catch up asynchronously. */
export async function until(check: () => boolean, what = 'condition', withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** An official SDK client on the gateway; `path` is `/v1` for the API, `/api` for the portal (the SDK appends /chat/completions). */
export function sdk(gateway: TestGateway, apiKey: string, options: { path?: string; headers?: Record<string, string> } = {}): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gateway.url}${options.path ?? '/v1'}`, maxRetries: 0, timeout: 10_000, defaultHeaders: options.headers ?? {} })
}

/** One `usage_logs` row as the database returns it (snake_case columns). */
export interface UsageRow {
  readonly id: number
  readonly request_id: string
  readonly principal_kind: string
  readonly user_id: number | null
  readonly username: string | null
  readonly token_id: number | null
  readonly model: string
  readonly channel_id: number | null
  readonly channel_name: string | null
  readonly prompt_tokens: number
  readonly completion_tokens: number
  /** 0/1 on SQLite, booleans elsewhere: compare with `Boolean(...)`. */
  readonly estimated: number | boolean
  readonly status: string
  readonly error_type: string | null
  readonly latency_ms: number
  readonly ttfb_ms: number | null
  readonly endpoint: string
  readonly stream: number | boolean
}

/** Flushes the usage writer and returns every row, oldest first. */
export async function usageRows(gateway: TestGateway): Promise<UsageRow[]> {
  await gateway.usage.flush()
  return (await gateway.db.em().getConnection().execute('select * from usage_logs order by id')) as UsageRow[]
}

/** Waits until `count` rows were recorded (a streamed call records once the stream ends) and returns them. */
export async function waitForRows(gateway: TestGateway, count: number, withinMs = 3000): Promise<UsageRow[]> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const rows = await usageRows(gateway)
    if (rows.length >= count) return rows
    if (Date.now() > deadline) throw new Error(`expected ${count} usage rows, found ${rows.length}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** One server-sent event with the time it was read. */
export interface TimedEvent {
  readonly event: string | undefined
  readonly data: string
  readonly at: number
}

/** Reads a fetch response's SSE body to its end, splitting on blank lines. */
export async function readSse(response: Response): Promise<TimedEvent[]> {
  const events: TimedEvent[] = []
  const decoder = new TextDecoder()
  let buffer = ''
  const take = () => {
    for (let end = buffer.search(/\r?\n\r?\n/); end >= 0; end = buffer.search(/\r?\n\r?\n/)) {
      const raw = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      let event: string | undefined
      const data: string[] = []
      for (const line of raw.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5))
      }
      if (event !== undefined || data.length > 0) events.push({ event, data: data.join('\n'), at: Date.now() })
    }
  }
  if (!response.body) return events
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true })
    take()
  }
  buffer += `${decoder.decode()}\n\n`
  take()
  return events
}

/** POSTs JSON to the gateway over its real socket (for streams and raw status checks). */
export function post(gateway: TestGateway, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** The HTTP status a promise of an SDK call ends with: 200, or the APIError's status. */
export function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  return promise.then(
    () => 200,
    (error: { status?: number }) => error.status,
  )
}

/** Whitespace-separated words, as the mock streams them. */
export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length
}
