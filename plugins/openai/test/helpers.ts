/**
 * Shared by the openai plugin's functional tests: a gateway with the fixture auth and the openai
 * provider and a mock upstream. The generic helpers come from the test kit.
 */
import type { Test } from 'tap'
import type { AnyPluginDefinition } from '@parley/core'
import {
  createTestGateway,
  fixtureAuth,
  startMockUpstream,
  type MockUpstream,
  type MockUpstreamOptions,
  type TestGateway,
  type TestGatewayOptions,
} from '@parley/core/testing'
import openai from '@parley/openai'

export {
  createChannel,
  createChatRoute,
  fixtureAuth,
  post,
  readSse,
  ROOT,
  sdk,
  statusOf,
  until,
  usageRows,
  waitForRows,
  type ChannelFields,
  type TimedEvent,
  type UsageRow,
} from '@parley/core/testing'

/** A listening gateway with the fixture auth and the openai provider (plus `extra`), closed at teardown. */
export async function bootGateway(
  t: Test,
  options: TestGatewayOptions & { extra?: AnyPluginDefinition[] } = {},
): Promise<TestGateway> {
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

/** Whitespace-separated words, as the mock streams them. */
export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length
}
