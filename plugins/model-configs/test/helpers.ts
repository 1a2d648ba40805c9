import type { Test } from 'tap'
import identity from '@parley/identity'
import modelConfigs from '@parley/model-configs'
import openai from '@parley/openai'
import rateLimit from '@parley/rate-limit'
import type { AnyPluginDefinition } from '@parley/core'
import type { Logger } from '@parley/core'
import { createTestGateway, missingService, testServices, type TestGateway } from '@parley/core/testing'

export const ADMIN = { username: 'admin', password: 'admin-password-for-tests' }

export const dialects = [
  { name: 'sqlite', skip: false as string | false, mysqlUrl: undefined as string | undefined },
  { name: 'mysql', skip: missingService('mysql'), mysqlUrl: testServices.mysqlUrl },
]

export interface Booted {
  readonly gateway: TestGateway
  /** The admin console token (root). */
  readonly admin: string
}

export async function boot(
  t: Test,
  options: {
    mysqlUrl?: string | undefined
    config?: Record<string, unknown>
    logger?: Logger
    extra?: AnyPluginDefinition[]
  } = {},
): Promise<Booted> {
  const gateway = await createTestGateway({
    plugins: [identity, openai, rateLimit, modelConfigs, ...(options.extra ?? [])],
    listen: true,
    config: { admin: ADMIN, ...options.config },
    mysqlUrl: options.mysqlUrl,
    ...(options.logger ? { logger: options.logger } : {}),
  })
  t.teardown(gateway.close)
  const login = await gateway.inject({ method: 'POST', url: '/api/auth/admin/login', payload: ADMIN })
  if (login.statusCode !== 200) throw new Error(`admin login: ${login.body}`)
  return { gateway, admin: (login.json() as { access_token: string }).access_token }
}

/** Sets the `default` group's quota of personal configs through the admin API. */
export async function setQuota(booted: Booted, limit: number, group = 'default'): Promise<void> {
  const response = await booted.gateway.inject({
    method: 'PUT',
    url: `/api/admin/groups/${group}`,
    headers: { authorization: `Bearer ${booted.admin}` },
    payload: { model_config_limit: limit },
  })
  if (response.statusCode !== 200) throw new Error(`quota: ${response.body}`)
}

/** A JSON answer as the tests read it: loosely, each test asserts the shape it cares about. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Answer = Record<string, any>

export interface Member {
  readonly id: number
  readonly session: string
  /** Sends a request as this user (their session). */
  call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<{ status: number; body: Answer }>
}

export async function member(gateway: TestGateway, name: string): Promise<Member> {
  const password = 'staple-battery-for-tests'
  const registered = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: `${name}@example.com`, username: name, password, password_confirm: password },
  })
  if (registered.statusCode !== 201) throw new Error(`register ${name}: ${registered.body}`)
  const { access_token: session, user } = registered.json() as { access_token: string; user: { id: number } }
  return {
    id: user.id,
    session,
    async call(method, url, payload) {
      const response = await gateway.inject({
        method,
        url,
        headers: { authorization: `Bearer ${session}` },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      })
      return { status: response.statusCode, body: (response.body === '' ? {} : response.json()) as Answer }
    },
  }
}
