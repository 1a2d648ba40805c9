import type { Registry as MetricsRegistry } from 'prom-client'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { groupModelsOf, tokenModelsOf, type Principal } from '../auth/principal.js'
import { candidates, type RouteCandidate } from '../catalog/routing.js'
import type { KeyAutoDisable } from '../catalog/key-disable.js'
import type { CatalogCache } from '../catalog/snapshot.js'
import type { Config } from '../config/schema.js'
import { PairCounter } from '../http/counted-series.js'
import { errors, ParleyError } from '../errors.js'
import type { Registry } from '../kernel/registry.js'
import type { Logger } from '../logger.js'
import { isPromiseLike } from '../maybe.js'
import type { SettingsRegistry } from '../settings/registry.js'
import { KeyHealth } from '../upstream/key-health.js'
import type { UpstreamAgents } from '../upstream/upstream-agents.js'
import type { UsageWriter } from '../usage/writer.js'
import { AttemptCall, Stop, type AbortReason } from './attempt.js'
import { Call, type ChatCall } from './call.js'
import { channelsBusy, checkCaller, checkChannel } from './caller-limits.js'
import { FAILURE_TYPES, thrownFailure, timeoutError, tooLarge, type Failure } from './failures.js'
import type { CallObserver } from './lifecycle.js'
import type { LimitPolicy, LimitRefusal } from './limits.js'
import type { ObjectDelivery } from './object-delivery.js'
import { relay, type AttemptResult } from './passthrough.js'
import { RunningCalls } from './running-calls.js'
import type { ChatProvider, UpstreamTarget } from './provider.js'
import { translate } from './translating.js'
import { UsageRows } from './usage-row.js'
import { personalChannel, personalKey, PERSONAL_PROVIDER, type PersonalUpstream } from './personal-upstream.js'

export type { ChatCall } from './call.js'

export interface ChatPipelineOptions {
  readonly catalog: CatalogCache
  readonly providers: Registry<ChatProvider>
  readonly limits: Registry<LimitPolicy>
  /** Plugins following every call (`ctx.calls`). */
  readonly observers?: Registry<CallObserver>
  readonly usage: UsageWriter
  readonly settings: SettingsRegistry
  readonly agents: UpstreamAgents
  readonly upstream: Config['upstream']
  readonly log: Logger
  readonly health?: KeyHealth
  /** When given, upstream attempts are counted there by channel and outcome. */
  readonly metrics?: MetricsRegistry
  /** Disables a channel key that keeps being refused (`key_auto_disable_after`); none: never. */
  readonly keys?: Pick<KeyAutoDisable, 'disable'>
  /** Resolves stored-image references (`parley-object://`) per channel; inert with no storage driver. */
  readonly objects?: ObjectDelivery
}

type Key = { readonly id: number; readonly key: string } | undefined

/**
 * The data plane's orchestration (docs/data-plane.md, "one request flows"): caller limits, the
 * group's models, routing from the in-memory snapshot, channel limits, then attempts over keys
 * and channels with failover before the first byte only. Each attempt relays the upstream's own
 * bytes (passthrough.ts) or writes a provider's events (translating.ts); every call ends in one
 * usage row (usage-row.ts).
 */
export class ChatPipeline {
  readonly health: KeyHealth
  readonly #rows: UsageRows
  readonly #attempts: PairCounter | undefined
  readonly #running = new RunningCalls<Call>()

  constructor(private readonly options: ChatPipelineOptions) {
    this.health = options.health ?? new KeyHealth()
    this.#rows = new UsageRows(options.usage)
    if (options.metrics)
      this.#attempts = PairCounter.in(
        options.metrics,
        'parley_upstream_attempts_total',
        'Upstream attempts by channel and outcome (success, auth, rate, upstream, final)',
        ['channel', 'outcome'],
      )
  }

  async handle(request: FastifyRequest, reply: FastifyReply, chat: ChatCall): Promise<unknown> {
    const call = new Call(request, reply, chat, this.options.upstream.total_timeout_ms)
    const control = call.control
    try {
      const checking = checkCaller(this.options.limits, call)
      if (isPromiseLike(checking)) await checking
    } catch (error) {
      // Refused before it began (no usage row, as ever): its deadline must not outlive it.
      control.done()
      throw error
    }
    call.begin(this.options.observers?.items() ?? [])
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) control.stop('client')
    })
    this.#running.add(call)
    control.onDone(() => this.#running.delete(call))
    try {
      // Stored images: a body is scanned only when a storage driver is loaded, and only chat's.
      const objects = this.options.objects
      if (objects?.active && call.format.name === 'chat') call.objects = objects.prepare(call)
      // A user's own upstream: their model, so no group model list and no routing.
      if (call.personal !== undefined) return await this.#attemptPersonal(call, call.personal)
      // The group's model list, when it has one: checked before routing, so a refused model
      // reaches no upstream. Passthrough too may forward only what the list names.
      const allowed = groupModelsOf(call.principal)
      if (allowed !== undefined && !allowed.includes(call.model))
        throw errors.PARLEY_ERR_ROUTE_MODEL_FORBIDDEN({ model: call.model })
      // An API token's own list, when it has one (docs/identity.md, API tokens).
      const tokenModels = tokenModelsOf(call.principal)
      if (tokenModels !== undefined && !tokenModels.includes(call.model))
        throw errors.PARLEY_ERR_ROUTE_TOKEN_MODEL_FORBIDDEN({ model: call.model })
      const plan = candidates(this.options.catalog.current(), {
        model: call.model,
        group: call.principal.group,
        chat: call.portal,
        passthrough: this.options.settings.get('model_passthrough'),
      })
      return await this.#attemptAll(call, plan)
    } catch (error) {
      control.done()
      if (error instanceof Stop) {
        this.#rows.record(call, error.reason === 'client' ? 'aborted' : 'error', stopType(error.reason), false)
        if (error.reason === 'client') return reply
        throw stopError(error.reason)
      }
      this.#rows.record(call, 'error', error instanceof ParleyError ? error.type : 'internal_error', false)
      throw error
    }
  }

  /**
   * Ends every running call now (the drain deadline of a shutdown): each stream gets a terminal
   * error event and each row says it was cut by the shutdown.
   */
  stopAll(reason: Extract<AbortReason, 'shutdown'>): void {
    for (const call of this.#running.list()) call.control.stop(reason)
  }

  get running(): number {
    return this.#running.size
  }

  /** Keys (then channels) in turn until one answers; ready keys of every channel before cooling ones. */
  async #attemptAll(call: Call, plan: readonly RouteCandidate[]): Promise<unknown> {
    const { providers, upstream, limits } = this.options
    let deferred: Array<[RouteCandidate, Key]> | undefined
    let channelRefusal: LimitRefusal | undefined
    let failure: Failure | undefined
    let tries = 0
    const more = () => tries < upstream.max_attempts && failure?.kind !== 'final'
    const attempt = async (candidate: RouteCandidate, key: Key): Promise<{ sent: unknown } | undefined> => {
      tries++
      const result = await this.#attempt(call, candidate, key)
      if ('sent' in result) return this.#answered(candidate, key, result)
      failure = this.#failed(call, candidate, key, result.failure)
      return undefined
    }
    for (const candidate of plan) {
      // A refusal about the request itself ends the search: every key would get the same answer.
      if (!more()) break
      if (!providers.get(candidate.channel.provider)) continue
      let refusal = checkChannel(limits, candidate.channel.id, candidate.channel.rpmLimit)
      if (isPromiseLike(refusal)) refusal = await refusal
      if (refusal) {
        if (!channelRefusal || refusal.retryAfterMs < channelRefusal.retryAfterMs) channelRefusal = refusal
        continue
      }
      const { ready, cooling } = this.health.order(candidate.channel.id, candidate.channel.keys)
      for (const key of cooling) (deferred ??= []).push([candidate, key])
      for (const key of candidate.channel.keys.length === 0 ? [undefined] : ready) {
        if (!more()) break
        const answered = await attempt(candidate, key)
        if (answered) return answered.sent
      }
    }
    for (const [candidate, key] of deferred ?? []) {
      if (!more()) break
      const answered = await attempt(candidate, key)
      if (answered) return answered.sent
    }
    call.control.done()
    const last = failure as Failure | undefined
    if (last) {
      this.#rows.record(call, 'error', last.rowType ?? last.error.type, false)
      throw last.error
    }
    if (channelRefusal) {
      this.#rows.record(call, 'error', 'rate_limit_exceeded', false)
      throw channelsBusy(channelRefusal)
    }
    this.#rows.record(call, 'error', 'upstream_error', false)
    throw errors.PARLEY_ERR_UPSTREAM_NO_PROVIDER({ model: call.model })
  }

  /** One attempt with the user's own upstream: no failover, no key health shared with channels. */
  async #attemptPersonal(call: Call, personal: PersonalUpstream): Promise<unknown> {
    if (!this.options.providers.get(PERSONAL_PROVIDER))
      throw errors.PARLEY_ERR_UPSTREAM_NO_PROVIDER({ model: personal.model })
    const candidate = { channel: personalChannel(personal), upstreamModel: personal.model }
    const result = await this.#attempt(call, candidate, personalKey(personal))
    if ('sent' in result) return result.sent
    const { failure } = result
    call.control.done()
    call.request.log.warn(
      { channel: personal.label, failure: failure.kind, detail: failure.detail },
      'upstream attempt failed',
    )
    this.#rows.record(call, 'error', failure.rowType ?? failure.error.type, false)
    throw failure.error
  }

  async #attempt(call: Call, candidate: RouteCandidate, key: Key): Promise<AttemptResult> {
    call.channel = candidate.channel
    call.upstreamModel = candidate.upstreamModel
    const provider = this.options.providers.get(candidate.channel.provider) as ChatProvider
    const target: UpstreamTarget = {
      channelId: candidate.channel.id,
      channelName: candidate.channel.name,
      baseUrl: candidate.channel.baseUrl.replace(/\/+$/, ''),
      apiKey: key?.key ?? '',
      keyId: key?.id,
      settings: candidate.channel.settings,
    }
    const { upstream, agents, settings } = this.options
    // Before the attempt's timers: a missing image is the client's 400, not an upstream failure.
    if (call.objects)
      call.sentBody = await (this.options.objects as ObjectDelivery).bodyFor(call, call.objects, candidate.channel)
    // A channel's own timeouts, when it has any (read from the snapshot, nothing else to pay).
    const own = candidate.channel.timeouts
    const attempt = own
      ? call.control.attempt(own.firstByteMs ?? upstream.first_byte_timeout_ms, own.idleMs ?? upstream.idle_timeout_ms)
      : call.control.attempt(upstream.first_byte_timeout_ms, upstream.idle_timeout_ms)
    const providerCall = new AttemptCall(
      target,
      userKeyOf(call.principal),
      agents.for(settings.get('allow_private_upstreams'), own?.connectMs),
      attempt,
      call.request.log,
    )
    try {
      const result = provider.passthrough?.supports(call.format.path, target)
        ? await relay(call, provider, providerCall, attempt, this.#rows)
        : await translate(call, provider, providerCall, attempt, this.#rows)
      if ('failure' in result) attempt.release()
      return result
    } catch (error) {
      attempt.release()
      if (error instanceof Stop) {
        if (error.reason === 'client' || error.reason === 'total' || error.reason === 'shutdown') throw error
        return {
          failure: {
            kind: 'upstream',
            error: stopError(error.reason),
            detail: error.reason,
            rowType: FAILURE_TYPES.timeout,
          },
        }
      }
      // A provider's SseSplitter refused an event before any output: like a broken answer.
      if (tooLarge(error))
        return { failure: { kind: 'upstream', error, detail: error.code, rowType: 'upstream_error' } }
      return { failure: thrownFailure(error) }
    }
  }

  #answered(candidate: RouteCandidate, key: Key, result: { sent: unknown }): { sent: unknown } {
    this.#attempts?.inc(candidate.channel.name, 'success')
    this.health.success(candidate.channel.id, key?.id)
    return result
  }

  #failed(call: Call, candidate: RouteCandidate, key: Key, failure: Failure): Failure {
    this.#attempts?.inc(candidate.channel.name, failure.kind)
    if (failure.kind !== 'final') {
      const refused = this.health.failure(candidate.channel.id, key?.id, failure.kind, failure.retryAfterMs)
      if (refused > 0 && key) this.#refused(candidate.channel.id, key.id, refused, call)
    }
    call.request.log.warn(
      {
        channel: candidate.channel.name,
        key_id: key?.id,
        failure: failure.kind,
        type: failure.rowType ?? failure.error.type,
        detail: failure.detail,
      },
      'upstream attempt failed',
    )
    return failure
  }

  /** A key refused `times` in a row: disabled once that reaches the setting (not awaited by the call). */
  #refused(channelId: number, keyId: number, times: number, call: Call): void {
    const after = this.options.settings.get('key_auto_disable_after')
    const keys = this.options.keys
    if (!keys || after === 0 || times < after) return
    keys
      .disable(channelId, keyId, times)
      .catch((error: unknown) =>
        call.request.log.error({ err: error, key_id: keyId }, 'could not disable a refused key'),
      )
  }
}

/** What the client gets when the call stopped before any answer. */
function stopError(reason: AbortReason): ParleyError {
  return reason === 'shutdown' ? errors.PARLEY_ERR_HTTP_SHUTTING_DOWN() : timeoutError(reason)
}

/** The usage row's error type of a stop. */
export function stopType(reason: AbortReason): string {
  return reason === 'client' ? 'client_closed' : reason === 'shutdown' ? 'shutdown' : 'timeout'
}

/** A stable id for the end user, without exposing who they are. */
function userKeyOf(principal: Principal): string {
  switch (principal.kind) {
    case 'user':
    case 'api_token':
      return `user-${principal.userId}`
    case 'guest':
      return `guest-${principal.ip}`
    case 'widget_user':
      return `widget-${principal.clientId}-${principal.externalId}`
  }
}
