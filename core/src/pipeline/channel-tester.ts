import type { ChannelTester, ProbeChannel, ProbeResult } from '../catalog/channel-test.js'
import type { Config } from '../config/schema.js'
import { errors, ParleyError } from '../errors.js'
import type { Registry } from '../kernel/registry.js'
import type { Logger } from '../logger.js'
import type { SettingsRegistry } from '../settings/registry.js'
import type { UpstreamAgents } from '../upstream/upstream-agents.js'
import { CallControl, phaseText, Stop, type Attempt } from './attempt.js'
import { describe, scrub } from './failures.js'
import type { ChatProvider, ProviderCall } from './provider.js'
import { Transcript } from './transcript.js'

export interface ChannelTesterOptions {
  readonly providers: Registry<ChatProvider>
  readonly agents: UpstreamAgents
  readonly settings: SettingsRegistry
  readonly upstream: Config['upstream']
}

/**
 * The channel test of the catalog's admin API: one short real chat through the provider with
 * this key, under the same timeouts (the channel's own, if it has them) and SSRF policy as
 * traffic. Not a call of anyone's, so no usage row. Also the upstream's model list, for the
 * console to pick from.
 */
export class ProviderChannelTester implements ChannelTester {
  constructor(private readonly options: ChannelTesterOptions) {}

  async probe(channel: ProbeChannel, model: string, log: Logger): Promise<ProbeResult> {
    const started = performance.now()
    const took = () => Math.round(performance.now() - started)
    const provider = this.options.providers.get(channel.provider)
    if (!provider) return { ok: false, latency_ms: 0, error: `provider ${channel.provider} is not installed` }
    const { control, attempt, call } = this.#call(channel, log)
    const apiKey = call.target.apiKey
    const transcript = new Transcript()
    try {
      const ping = {
        model,
        messages: [{ role: 'user' as const, content: 'Reply with one word: pong' }],
        stream: false,
        parameters: {},
      }
      const iterator = provider.chat(ping, call)[Symbol.asyncIterator]()
      for (;;) {
        const next = await attempt.next(iterator)
        if (next.done) break
        if (next.value.type === 'error') {
          await iterator.return?.(undefined)
          return {
            ok: false,
            latency_ms: took(),
            ...(next.value.status === undefined ? {} : { status: next.value.status }),
            error: scrub(next.value.message, apiKey),
          }
        }
        transcript.add(next.value)
        attempt.flowing()
      }
      return { ok: true, latency_ms: took(), reply: transcript.text.slice(0, 200) }
    } catch (error) {
      return { ok: false, latency_ms: took(), error: scrub(reasonOf(error), apiKey) }
    } finally {
      attempt.release()
      control.done()
    }
  }

  async listModels(channel: ProbeChannel, log: Logger): Promise<string[]> {
    const provider = this.options.providers.get(channel.provider)
    if (!provider?.listModels) throw errors.PARLEY_ERR_CATALOG_MODELS_UNSUPPORTED({ provider: channel.provider })
    const { control, attempt, call } = this.#call(channel, log)
    try {
      const ids = await attempt.wait(provider.listModels(call))
      return [...new Set(ids)].sort()
    } catch (error) {
      throw errors.PARLEY_ERR_CATALOG_MODELS_FETCH_FAILED({ reason: scrub(reasonOf(error), call.target.apiKey, 300) })
    } finally {
      attempt.release()
      control.done()
    }
  }

  #call(channel: ProbeChannel, log: Logger): { control: CallControl; attempt: Attempt; call: ProviderCall } {
    const { upstream } = this.options
    const own = channel.timeouts
    const control = new CallControl(upstream.total_timeout_ms)
    const attempt = control.attempt(
      own?.firstByteMs ?? upstream.first_byte_timeout_ms,
      own?.idleMs ?? upstream.idle_timeout_ms,
    )
    const call: ProviderCall = {
      target: {
        channelId: channel.channelId,
        channelName: channel.channelName,
        baseUrl: channel.baseUrl.replace(/\/+$/, ''),
        apiKey: channel.key?.key ?? '',
        keyId: channel.key?.id,
        settings: channel.settings,
      },
      signal: attempt.signal,
      log: log.child({ channel: channel.channelName }),
      userKey: 'parley-channel-test',
      dispatcher: this.options.agents.for(this.options.settings.get('allow_private_upstreams'), own?.connectMs),
    }
    return { control, attempt, call }
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Stop
    ? `the upstream ${phaseText(error.reason)}`
    : error instanceof ParleyError
      ? error.message
      : error instanceof Error && error.constructor === Error
        ? error.message
        : `the upstream could not be reached (${describe(error)})`
}
