import { setTimeout as sleep } from 'node:timers/promises'
import { definePlugin, type AnyPluginDefinition } from '../kernel/plugin.js'
import type { ChatEvent, ChatProvider, ChatRequest, UpstreamTarget } from '../pipeline/provider.js'

/** What one call of a scripted provider does. */
export interface ScriptedReply {
  /** Emitted in order; `[text 'ok', done]` by default. */
  readonly events?: readonly ChatEvent[]
  /** Wait before the first event. */
  readonly firstDelayMs?: number
  /** Wait between events. */
  readonly delayMs?: number
  /** Throw (a network failure) after this many events. */
  readonly throwAfter?: number
  /** Ignore the abort signal, as a careless third-party provider might. */
  readonly ignoreAbort?: boolean
}

export interface ScriptedCall {
  readonly request: ChatRequest
  readonly target: UpstreamTarget
  readonly userKey: string
  /** Set when the pipeline aborted the call (client gone, timeout). */
  aborted: boolean
  /** Events emitted before the call ended. */
  emitted: number
}

export interface ScriptedProvider extends ChatProvider {
  readonly calls: readonly ScriptedCall[]
  /** Queue what the next call does; calls with an empty queue get the default. */
  reply(...replies: readonly ScriptedReply[]): void
}

const DEFAULT_EVENTS: readonly ChatEvent[] = [
  { type: 'text', delta: 'ok' },
  { type: 'done', finishReason: 'stop' },
]

/**
 * A translating provider whose answers are scripted, for testing the pipeline's translating
 * path (and third-party providers' expectations of it) without any upstream.
 *
 * @example
 * const provider = scriptedProvider()
 * const gateway = await createTestGateway({ plugins: [providerPlugin('scripted', provider)] })
 * provider.reply({ events: [{ type: 'reasoning', delta: 'hmm' }, { type: 'text', delta: 'hi' }, { type: 'done', finishReason: 'stop' }] })
 */
export function scriptedProvider(): ScriptedProvider {
  const queue: ScriptedReply[] = []
  const calls: ScriptedCall[] = []
  return {
    calls,
    reply: (...replies) => void queue.push(...replies),
    async *chat(request, call) {
      const script = queue.shift() ?? {}
      const record: ScriptedCall = { request, target: call.target, userKey: call.userKey, aborted: false, emitted: 0 }
      calls.push(record)
      const signal = script.ignoreAbort ? undefined : call.signal
      call.signal.addEventListener('abort', () => (record.aborted = true), { once: true })
      const events = script.events ?? DEFAULT_EVENTS
      await sleep(script.firstDelayMs ?? 0, undefined, { signal })
      for (const [index, event] of events.entries()) {
        if (index === script.throwAfter) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
        if (index > 0 && script.delayMs) await sleep(script.delayMs, undefined, { signal })
        record.emitted++
        yield event
      }
      if (script.throwAfter !== undefined && script.throwAfter >= events.length)
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    },
  }
}

/** A plugin that registers one provider under `id`: the shortest way to put a provider in a test gateway. */
export function providerPlugin(id: string, provider: ChatProvider): AnyPluginDefinition {
  return definePlugin({
    id: `${id}-provider`,
    version: '1.0.0',
    setup(ctx) {
      ctx.providers.register(id, provider)
    },
  }) as AnyPluginDefinition
}
