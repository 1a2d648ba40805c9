import type { Test } from 'tap'
import {
  createChannel,
  createTestGateway,
  fixtureAuth,
  providerPlugin,
  scriptedProvider,
  type ScriptedProvider,
  type TestGateway,
  type TestGatewayOptions,
} from '@parley/core/testing'
import { definePlugin } from '@parley/core'
import conversations, { CONVERSATIONS, type ConversationsService } from '../src/index.js'

/**
 * A plugin that resolves the conversations service the way other plugins do (it requires
 * `conversations`); `found.service` is set once the gateway has set it up.
 */
export function serviceConsumer(id = 'service-consumer') {
  const found: { service?: ConversationsService } = {}
  const plugin = definePlugin({
    id,
    version: '1.0.0',
    requires: ['conversations'],
    setup(ctx) {
      found.service = ctx.container.resolve<ConversationsService>(CONVERSATIONS)
    },
  })
  return { plugin, found }
}

/** ada (user 2) through the fixture auth plugin; root is user 1. */
export const ADA = { authorization: 'Bearer user-default' }
export const ROOT_USER = { authorization: 'Bearer root' }

export interface Booted {
  readonly gateway: TestGateway
  readonly provider: ScriptedProvider
}

/** A gateway with conversations, a scripted provider on model `bot` and the fixture callers. */
export async function boot(t: Test, options: TestGatewayOptions = {}): Promise<Booted> {
  const provider = scriptedProvider()
  const gateway = await createTestGateway({
    listen: true,
    ...options,
    plugins: [fixtureAuth, providerPlugin('scripted', provider), conversations, ...(options.plugins ?? [])],
  })
  t.teardown(gateway.close)
  await createChannel(gateway, {
    name: 'main',
    provider: 'scripted',
    base_url: 'https://1.1.1.1/v1',
    keys: ['sk-main-0000000000000000'],
    models: ['bot'],
  })
  return { gateway, provider }
}

export async function json<T = Record<string, unknown>>(
  gateway: TestGateway,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = ADA,
): Promise<{ status: number; body: T }> {
  const response = await gateway.inject({
    method,
    url,
    headers,
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  })
  return { status: response.statusCode, body: (response.body ? response.json() : undefined) as T }
}

/** Creates a conversation of ada's on `bot`; returns its id. */
export async function newConversation(gateway: TestGateway, headers = ADA): Promise<number> {
  const created = await json<{ id: number }>(gateway, 'POST', '/api/conversations', { model: 'bot' }, headers)
  if (created.status !== 201) throw new Error(JSON.stringify(created.body))
  return created.body.id
}

export interface Message {
  id: number
  role: string
  content: unknown
  status: string
  usage: { prompt_tokens: number; completion_tokens: number } | null
  error_type: string | null
}

export async function messagesOf(gateway: TestGateway, id: number, headers = ADA): Promise<Message[]> {
  const page = await json<{ items: Message[] }>(
    gateway,
    'GET',
    `/api/conversations/${id}/messages?page_size=100`,
    undefined,
    headers,
  )
  return page.body.items
}
