/**
 * Shared by the rate-limit tests: a fixture auth plugin that makes any caller from its token,
 * a gateway with the scripted provider and the rate-limit plugin, channels, and chat calls.
 */
import type { Test } from 'tap'
import { definePlugin, type AnyPluginDefinition, type Principal } from '@parley/core'
import {
  createChannel,
  createTestGateway,
  providerPlugin,
  ROOT,
  scriptedProvider,
  until,
  type ChannelFields,
  type ScriptedProvider,
  type TestGateway,
  type TestGatewayOptions,
} from '@parley/core/testing'
import rateLimit from '@parley/rate-limit'

export { ROOT, until }

export const MODEL = 'bot'

/**
 * Bearer tokens of the fixture auth, each naming the caller:
 * `root` (root user 1, for the admin API), `user-<id>` (a session), `user-<id>-rpm<n>` (a
 * session in a group with RPM n), `token-<id>-of-<user>` (API token), `portal-<id>-of-<user>`
 * (the user's portal token), `widget-<client>-<external id>`; `x-guest: 1` without a token is a
 * guest at the request's address.
 */
export const fixtureAuth = definePlugin({
  id: 'rate-limit-test-auth',
  version: '1.0.0',
  setup(ctx) {
    ctx.auth.register('fixture', {
      async authenticate(request): Promise<Principal | undefined> {
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
        if (token === ROOT) return { kind: 'user', userId: '1', role: 'root', group: 'default', name: 'root' }
        const user = /^user-(\d+)(?:-rpm(\d+))?$/.exec(token ?? '')
        if (user?.[1])
          return {
            kind: 'user',
            userId: user[1],
            role: 'user',
            group: 'default',
            name: `user ${user[1]}`,
            ...(user[2] ? { groupRpm: Number(user[2]) } : {}),
          }
        const apiToken = /^(token|portal)-(\d+)-of-(\d+)$/.exec(token ?? '')
        if (apiToken?.[2] && apiToken[3]) {
          return {
            kind: 'api_token',
            tokenId: apiToken[2],
            userId: apiToken[3],
            role: 'user',
            group: 'default',
            name: `user ${apiToken[3]}`,
            portal: apiToken[1] === 'portal',
          }
        }
        const widget = /^widget-([a-z0-9]+)-(.+)$/.exec(token ?? '')
        if (widget?.[1] && widget[2])
          return { kind: 'widget_user', clientId: widget[1], externalId: widget[2], group: 'default' }
        if (token === undefined && request.headers['x-guest'] === '1')
          return { kind: 'guest', ip: request.ip, group: 'default' }
        return undefined
      },
    })
  },
})

export interface LimitedGateway {
  readonly gateway: TestGateway
  readonly provider: ScriptedProvider
}

/** A gateway with the fixture auth, the scripted provider and the rate-limit plugin; closed at teardown unless `shared`. */
export async function bootGateway(
  t: Test,
  options: TestGatewayOptions & { extra?: AnyPluginDefinition[]; keepOpen?: boolean } = {},
): Promise<LimitedGateway> {
  const { extra = [], keepOpen = false, ...rest } = options
  const provider = scriptedProvider()
  const gateway = await createTestGateway({
    plugins: [fixtureAuth, providerPlugin('scripted', provider), rateLimit, ...extra],
    ...rest,
  })
  if (!keepOpen) t.teardown(gateway.close)
  return { gateway, provider }
}

/** A channel of the scripted provider serving MODEL; rpm_limit 0 (unlimited) unless given. */
export function channel(
  gateway: TestGateway,
  name: string,
  fields: { rpm_limit?: number; priority?: number } = {},
): Promise<number> {
  return createChannel(gateway, {
    name,
    provider: 'scripted',
    base_url: 'https://1.1.1.1/v1',
    keys: [`sk-${name}-0000000000000000`],
    models: [MODEL],
    ...fields,
  } as ChannelFields)
}

export interface CallOptions {
  /** Bearer token of the fixture auth; none for a guest. */
  readonly token?: string
  /** The client's address (guests are counted by it). */
  readonly ip?: string
  readonly language?: string
}

/** One chat call: `/v1/chat/completions` with a token, the portal's `/api/chat/completions` for a guest. */
export function call(gateway: TestGateway, options: CallOptions = {}) {
  const headers: Record<string, string> = options.token
    ? { authorization: `Bearer ${options.token}` }
    : { 'x-guest': '1' }
  if (options.language) headers['accept-language'] = options.language
  return gateway.inject({
    method: 'POST',
    url: options.token ? '/v1/chat/completions' : '/api/chat/completions',
    headers,
    payload: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
    ...(options.ip ? { remoteAddress: options.ip } : {}),
  })
}

/** The status codes of `count` calls made one after another. */
export async function statuses(gateway: TestGateway, count: number, options: CallOptions = {}): Promise<number[]> {
  const codes: number[] = []
  for (let i = 0; i < count; i++) codes.push((await call(gateway, options)).statusCode)
  return codes
}

/** Changes settings through the admin API, as an operator would. */
export async function configure(gateway: TestGateway, values: Record<string, unknown>): Promise<void> {
  const response = await gateway.inject({
    method: 'PUT',
    url: '/api/admin/config',
    headers: { authorization: `Bearer ${ROOT}` },
    payload: values,
  })
  if (response.statusCode !== 200)
    throw new Error(`PUT /api/admin/config: HTTP ${response.statusCode} ${response.body}`)
}

/** `n` times the same value. */
export function times<T>(n: number, value: T): T[] {
  return Array.from({ length: n }, () => value)
}
