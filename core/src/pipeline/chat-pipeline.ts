import { Counter, type Registry as MetricsRegistry } from 'prom-client'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { RouteCandidate } from '../catalog/routing.js'
import { candidates } from '../catalog/routing.js'
import type { CatalogCache, RoutableChannel } from '../catalog/snapshot.js'
import type { Config } from '../config/schema.js'
import { errors, ParleyError } from '../errors.js'
import { languageOf } from '../i18n.js'
import type { Registry } from '../kernel/registry.js'
import type { Logger } from '../logger.js'
import type { SettingsRegistry } from '../settings/registry.js'
import type { UsageEndpoint, UsageStatus } from '../usage/entities.js'
import { estimatePromptTokens, estimateTokens, type PromptMessage } from '../usage/tokens.js'
import type { UsageWriter } from '../usage/writer.js'
import { KeyHealth, type FailureKind } from '../upstream/key-health.js'
import { andThen, isPromiseLike, type MaybePromise } from '../maybe.js'
import { firstRefusal, type LimitAllowance, type LimitPolicy, type LimitRefusal } from './limits.js'
import { groupModelsOf, type Principal } from '../auth/principal.js'
import type { ChatEvent, ChatProvider, ChatRequest, Passthrough, PassthroughPath, ProviderCall, UpstreamHttpRequest, UpstreamTarget } from './provider.js'
import { bytesOf, chatCompletionsTap, chatCompletionText, chatUsage, framedAsObject, parseJson, relayWholeEvents, responsesTap, responsesUsage, responseText, SseSplitter, usageInAnswer, wholeEvents, type StreamTap, type TokenUsage } from './sse.js'
import {
  chatChunkWriter,
  chatCompletionBody,
  responseObjectBody,
  responsesEventWriter,
  responsesInputToMessages,
  responsesParameters,
  Transcript,
  type StreamWriter,
} from './translate.js'
import type { UpstreamAgents } from '../upstream/upstream-agents.js'
import { UpstreamExchange, type ExchangeWatcher, type UpstreamHead } from '../upstream/upstream-exchange.js'

type Json = Record<string, unknown>
type Format = 'chat' | 'responses'

/** The largest upstream error body read to explain a failure. */
const ERROR_BODY_LIMIT = 64 * 1024
/** The largest non-streamed answer accepted from an upstream. */
const ANSWER_LIMIT = 64 * 1024 * 1024

export interface ChatPipelineOptions {
  readonly catalog: CatalogCache
  readonly providers: Registry<ChatProvider>
  readonly limits: Registry<LimitPolicy>
  readonly usage: UsageWriter
  readonly settings: SettingsRegistry
  readonly agents: UpstreamAgents
  readonly upstream: Config['upstream']
  readonly log: Logger
  readonly health?: KeyHealth
  /** When given, upstream attempts are counted there by channel and outcome. */
  readonly metrics?: MetricsRegistry
}

/** A channel as the channel test sees it: opened from the database, enabled or not. */
export interface ProbeChannel {
  readonly channelId: number
  readonly channelName: string
  readonly provider: string
  readonly baseUrl: string
  readonly key: { readonly id: number; readonly key: string } | undefined
  readonly settings: Readonly<Record<string, unknown>>
}

export interface ProbeResult {
  readonly ok: boolean
  readonly latency_ms: number
  /** The upstream's HTTP status when it refused. */
  readonly status?: number
  readonly error?: string
  /** The start of the model's reply. */
  readonly reply?: string
}

/** One client call as the routes hand it over. */
export interface ChatCall {
  readonly format: Format
  readonly body: Json
  readonly principal: Principal
  /** Portal traffic: the group's chat route applies (seed 000). */
  readonly portal: boolean
  readonly endpoint: UsageEndpoint
}

type AbortReason = 'client' | 'first_byte' | 'idle' | 'total'

/** Why an attempt was stopped; the reason decides the error and the usage status. */
class Stop extends Error {
  constructor(readonly reason: AbortReason) {
    super(`stopped: ${reason}`)
  }
}

/** An attempt that produced nothing for the client: maybe another key or channel can do better. */
interface Failure {
  readonly kind: FailureKind | 'final'
  /** What the client sees if this was the last try. */
  readonly error: ParleyError
  readonly retryAfterMs?: number
  /** Kept for the log only: an upstream code or class, never a body. */
  readonly detail: string
  /** The usage row's error type when it differs from the client's (`timeout`). */
  readonly rowType?: string
}

/** Facts gathered for the usage row as the call goes on. */
interface CallState {
  channel: RoutableChannel | undefined
  upstreamModel: string
  /** `process.hrtime.bigint()` at arrival. */
  readonly startedAt: bigint
  /** Milliseconds from arrival to the first byte sent. */
  ttfbMs: number | undefined
  usage: TokenUsage | undefined
  outputText: () => string
  recorded: boolean
}

/**
 * The data plane (ARCHITECTURE "one request flows"): caller limits, routing from the in-memory
 * snapshot, channel limits, attempts over keys then channels with failover before the first
 * byte only, the answer relayed as it arrives (passthrough) or written from a provider's events
 * (translating), timeouts, client disconnects, and one usage row per call.
 */
export class ChatPipeline {
  readonly health: KeyHealth
  readonly #attempts: Counter | undefined

  constructor(private readonly options: ChatPipelineOptions) {
    this.health = options.health ?? new KeyHealth()
    if (options.metrics) {
      this.#attempts =
        (options.metrics.getSingleMetric('parley_upstream_attempts_total') as Counter | undefined) ??
        new Counter({ name: 'parley_upstream_attempts_total', help: 'Upstream attempts by channel and outcome (success, auth, rate, upstream, final)', labelNames: ['channel', 'outcome'], registers: [options.metrics] })
    }
  }

  async handle(request: FastifyRequest, reply: FastifyReply, call: ChatCall): Promise<unknown> {
    const checking = this.checkCaller(request, reply, call.principal)
    if (isPromiseLike(checking)) await checking
    const model = call.body.model as string
    const state: CallState = { channel: undefined, upstreamModel: model, startedAt: request.parley.startedAt, ttfbMs: undefined, usage: undefined, outputText: () => '', recorded: false }
    const record = (status: UsageStatus, errorType: string | null, produced: boolean) => this.record(request, call, state, status, errorType, produced)

    const control = new CallControl(this.options.upstream.total_timeout_ms)
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) control.stop('client')
    })
    try {
      // The group's model list, when it has one: checked before routing, so a refused model
      // reaches no upstream. Passthrough too may forward only what the list names.
      const allowed = groupModelsOf(call.principal)
      if (allowed !== undefined && !allowed.includes(model)) throw modelForbidden(request, model)
      const plan = candidates(this.options.catalog.current(), {
        model,
        group: call.principal.group,
        chat: call.portal,
        passthrough: this.options.settings.get('model_passthrough'),
      })
      return await this.attempts(request, reply, call, plan, state, control, record)
    } catch (error) {
      control.done()
      if (error instanceof Stop) {
        record(error.reason === 'client' ? 'aborted' : 'error', error.reason === 'client' ? 'client_closed' : 'timeout', false)
        if (error.reason === 'client') return reply
        throw errors.PARLEY_ERR_UPSTREAM_TIMEOUT({ phase: phaseText(error.reason) })
      }
      const type = error instanceof ParleyError ? error.type : 'internal_error'
      record('error', type, false)
      throw error
    }
  }

  /**
   * Asks every limit policy about the caller; the first refusal is the answer (thrown). A
   * promise only when a policy had to wait (a shared counter); in-memory limits cost none.
   */
  private checkCaller(request: FastifyRequest, reply: FastifyReply, principal: Principal): MaybePromise<void> {
    let tightest: LimitAllowance | undefined
    const refusal = firstRefusal(this.options.limits.items(), { kind: 'caller', principal, request }, decision => {
      if (decision.remaining !== undefined && (tightest?.remaining === undefined || decision.remaining < tightest.remaining)) tightest = decision
    })
    const settle = (refused: LimitRefusal | undefined): void => {
      if (refused) {
        rateHeaders(reply, refused.limit, 0, refused.retryAfterMs)
        const details = { retry_after: Math.max(1, Math.ceil(refused.retryAfterMs / 1000)) }
        if (refused.message === undefined) throw errors.PARLEY_ERR_LIMIT_EXCEEDED({ reason: refused.reason }, { details })
        throw new ParleyError('PARLEY_ERR_LIMIT_EXCEEDED', 429, 'rate_limit_exceeded', refused.message, { details })
      }
      if (tightest?.limit !== undefined) rateHeaders(reply, tightest.limit, tightest.remaining ?? 0, tightest.resetMs ?? 0)
    }
    return andThen(refusal, settle)
  }

  /** Keys (then channels) in turn until one answers; ready keys of every channel before cooling ones. */
  private async attempts(
    request: FastifyRequest,
    reply: FastifyReply,
    call: ChatCall,
    plan: readonly RouteCandidate[],
    state: CallState,
    control: CallControl,
    record: (status: UsageStatus, errorType: string | null, produced: boolean) => void,
  ): Promise<unknown> {
    const { providers, upstream } = this.options
    type Key = { id: number; key: string } | undefined
    let deferred: Array<[RouteCandidate, Key]> | undefined
    let channelRefusal: LimitRefusal | undefined
    let failure: Failure | undefined
    let tries = 0
    for (const candidate of plan) {
      // A refusal about the request itself ends the search: every key would get the same answer.
      if (tries >= upstream.max_attempts || failure?.kind === 'final') break
      const provider = providers.get(candidate.channel.provider)
      if (!provider) continue
      let refusal = firstRefusal(this.options.limits.items(), { kind: 'channel', channelId: String(candidate.channel.id), rpm: candidate.channel.rpmLimit })
      if (isPromiseLike(refusal)) refusal = await refusal
      if (refusal) {
        if (!channelRefusal || refusal.retryAfterMs < channelRefusal.retryAfterMs) channelRefusal = refusal
        continue
      }
      const { ready, cooling } = this.health.order(candidate.channel.id, candidate.channel.keys)
      for (const key of cooling) (deferred ??= []).push([candidate, key])
      const keys: Key[] = candidate.channel.keys.length === 0 ? [undefined] : ready
      for (const key of keys) {
        if (tries >= upstream.max_attempts || failure?.kind === 'final') break
        tries++
        const result = await this.attempt(request, reply, call, candidate, key, state, control, record)
        if ('sent' in result) return this.answered(candidate, key, result.sent)
        failure = this.failed(request, candidate, key, result.failure)
      }
    }
    for (const [candidate, key] of deferred ?? []) {
      if (tries >= upstream.max_attempts || failure?.kind === 'final') break
      tries++
      const result = await this.attempt(request, reply, call, candidate, key, state, control, record)
      if ('sent' in result) return this.answered(candidate, key, result.sent)
      failure = this.failed(request, candidate, key, result.failure)
    }
    control.done()
    if (failure) {
      record('error', failure.rowType ?? failure.error.type, false)
      throw failure.error
    }
    if (channelRefusal) {
      const retryAfter = Math.max(1, Math.ceil(channelRefusal.retryAfterMs / 1000))
      record('error', 'rate_limit_exceeded', false)
      const busy = errors.PARLEY_ERR_LIMIT_CHANNELS_BUSY({}, { details: { retry_after: retryAfter } })
      if (languageOf(request.headers['accept-language']) === 'en') throw busy
      throw new ParleyError(busy.code, busy.statusCode, busy.type, CHANNELS_BUSY_ZH, { details: { retry_after: retryAfter } })
    }
    record('error', 'upstream_error', false)
    throw errors.PARLEY_ERR_UPSTREAM_NO_PROVIDER({ model: call.body.model })
  }

  private answered(candidate: RouteCandidate, key: { id: number } | undefined, sent: unknown): unknown {
    this.#attempts?.inc({ channel: candidate.channel.name, outcome: 'success' })
    this.health.success(candidate.channel.id, key?.id)
    return sent
  }

  private failed(request: FastifyRequest, candidate: RouteCandidate, key: { id: number } | undefined, failure: Failure): Failure {
    this.#attempts?.inc({ channel: candidate.channel.name, outcome: failure.kind })
    if (failure.kind !== 'final') this.health.failure(candidate.channel.id, key?.id, failure.kind, failure.retryAfterMs)
    request.log.warn({ channel: candidate.channel.name, key_id: key?.id, failure: failure.kind, detail: failure.detail }, 'upstream attempt failed')
    return failure
  }

  private async attempt(
    request: FastifyRequest,
    reply: FastifyReply,
    call: ChatCall,
    candidate: RouteCandidate,
    key: { id: number; key: string } | undefined,
    state: CallState,
    control: CallControl,
    record: (status: UsageStatus, errorType: string | null, produced: boolean) => void,
  ): Promise<{ sent: unknown } | { failure: Failure }> {
    state.channel = candidate.channel
    state.upstreamModel = candidate.upstreamModel
    const provider = this.options.providers.get(candidate.channel.provider) as ChatProvider
    const target: UpstreamTarget = {
      channelId: candidate.channel.id,
      channelName: candidate.channel.name,
      baseUrl: candidate.channel.baseUrl.replace(/\/+$/, ''),
      apiKey: key?.key ?? '',
      keyId: key?.id,
      settings: candidate.channel.settings,
    }
    const attempt = control.attempt(this.options.upstream.first_byte_timeout_ms, this.options.upstream.idle_timeout_ms)
    const dispatcher = this.options.agents.for(this.options.settings.get('allow_private_upstreams'))
    const providerCall = new AttemptCall(target, userKeyOf(call.principal), dispatcher, attempt, request.log)
    const path: PassthroughPath = call.format === 'chat' ? '/chat/completions' : '/responses'
    const stream = call.body.stream === true
    try {
      const result = provider.passthrough?.supports(path, target)
        ? await this.passthrough(provider, path, reply, call, candidate, providerCall, attempt, state, stream, record)
        : await this.translate(provider, reply, call, candidate, providerCall, attempt, state, stream, record)
      if ('failure' in result) attempt.release()
      return result
    } catch (error) {
      attempt.release()
      if (error instanceof Stop) {
        if (error.reason === 'client' || error.reason === 'total') throw error
        return { failure: { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_TIMEOUT({ phase: phaseText(error.reason) }), detail: error.reason, rowType: 'timeout' } }
      }
      if (error instanceof ParleyError && error.code === 'PARLEY_ERR_UPSTREAM_CONNECT_FORBIDDEN') {
        return { failure: { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_UNREACHABLE(), detail: error.code } }
      }
      return { failure: { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_UNREACHABLE(), detail: describe(error) } }
    }
  }

  // ------------------------------------------------------------- passthrough

  private async passthrough(
    provider: ChatProvider,
    path: PassthroughPath,
    reply: FastifyReply,
    call: ChatCall,
    candidate: RouteCandidate,
    providerCall: ProviderCall,
    attempt: Attempt,
    state: CallState,
    stream: boolean,
    record: (status: UsageStatus, errorType: string | null, produced: boolean) => void,
  ): Promise<{ sent: unknown } | { failure: Failure }> {
    const body: Json = { ...call.body, model: candidate.upstreamModel }
    const clientWantsUsage = (call.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
    if (stream && call.format === 'chat') body.stream_options = { ...(call.body.stream_options as Json | undefined), include_usage: true }
    const prepared = (provider.passthrough as Passthrough).prepare({ path, body }, providerCall.target)
    const iterator = attempt.exchange(providerCall.dispatcher, prepared, JSON.stringify(body))
    const head = await iterator.head
    // Redirects are never followed (SSRF): a 3xx is a failure like any other non-2xx.
    if (head.status < 200 || head.status >= 300) return { failure: await this.upstreamFailure(head, iterator, attempt, providerCall.target) }

    if (!stream) {
      const bytes = await iterator.whole(ANSWER_LIMIT)
      attempt.release()
      const readUsage = call.format === 'chat' ? chatUsage : responsesUsage
      const textOf = call.format === 'chat' ? chatCompletionText : responseText
      // The usage is read from its own bytes; the answer is parsed whole only when it has none
      // (its text is then estimated), so a large answer is not parsed just to count it.
      const usage = framedAsObject(bytes) ? usageInAnswer(bytes, readUsage) : undefined
      if (usage) {
        state.usage = usage
        state.outputText = () => textOf(parseJson(bytes.toString('utf8')))
      } else {
        const parsed = parseJson(bytes.toString('utf8'))
        if (!parsed) return { failure: { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_BAD_ANSWER(), detail: 'answer is not JSON' } }
        state.usage = readUsage(parsed.usage)
        state.outputText = () => textOf(parsed)
      }
      state.ttfbMs = elapsedMs(state.startedAt)
      control(attempt).done()
      record('success', null, true)
      commit(reply, 'application/json', undefined, bytes.byteLength).end(bytes)
      return { sent: reply }
    }

    const first = await attempt.next(iterator)
    if (first.done) return { failure: { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_BAD_ANSWER(), detail: 'empty stream' } }
    const tap: StreamTap = call.format === 'chat' ? chatCompletionsTap(clientWantsUsage) : responsesTap()
    const splitter = new SseSplitter()
    const key = providerCall.target.apiKey
    const keyBytes = key.length >= 8 ? Buffer.from(key) : undefined
    const relay = (chunk: Uint8Array): Uint8Array | string => {
      // The common case: whole events, of which only those the tap acts on are decoded.
      if (splitter.idle && wholeEvents(chunk) && !(keyBytes && bytesOf(chunk).includes(keyBytes))) return relayWholeEvents(chunk, tap, splitter)
      const events = splitter.push(chunk)
      const kept = events.filter(event => tap.forward(event))
      // An upstream may quote the key in an error frame; it never reaches the client.
      const leaks = key.length >= 8 && kept.some(event => event.raw.includes(key))
      // The common case: the upstream's own bytes go on, not decoded and encoded again.
      if (!leaks && kept.length === events.length && splitter.aligned) return chunk
      let out = ''
      for (const event of kept) out += event.raw
      return leaks ? scrub(out, key, Infinity) : out
    }
    state.outputText = () => tap.result().outputText
    const finish = (outcome: 'done' | Stop | unknown): string => {
      const rest = splitter.rest()
      let tail = rest && tap.forward(rest) ? rest.raw : ''
      const result = tap.result()
      state.usage = result.usage
      if (outcome === 'done') {
        if (result.error) record('error', 'upstream_error', true)
        else if (!result.complete) {
          tail += failFrame(call.format, 'upstream_error', 'The upstream ended the answer early')
          record('error', 'upstream_error', true)
        } else record('success', null, true)
      } else if (outcome instanceof Stop && outcome.reason === 'client') record('aborted', 'client_closed', true)
      else {
        const timeout = outcome instanceof Stop
        tail += failFrame(call.format, timeout ? 'timeout' : 'upstream_error', timeout ? `The upstream ${phaseText(outcome.reason)}` : 'The upstream connection broke off mid-answer')
        record('error', timeout ? 'timeout' : 'upstream_error', true)
      }
      return tail
    }
    return { sent: this.sendStream(reply, state, attempt, iterator, first, relay, finish) }
  }

  /** A refusal or error status: read a little of its body to explain it, then classify. */
  private async upstreamFailure(head: UpstreamHead, iterator: AsyncIterator<Uint8Array>, attempt: Attempt, target: UpstreamTarget): Promise<Failure> {
    let text = ''
    try {
      for (;;) {
        const next = await attempt.next(iterator)
        if (next.done) break
        text += Buffer.from(next.value).toString('utf8')
        if (text.length > ERROR_BODY_LIMIT) {
          await iterator.return?.()
          break
        }
      }
    } catch {
      // The status alone decides.
    }
    attempt.release()
    const status = head.status
    const upstreamError = (parseJson(text)?.error ?? {}) as { message?: unknown; type?: unknown; code?: unknown; param?: unknown }
    const field = (value: unknown, max: number) => (typeof value === 'string' && value !== '' ? scrub(value, target.apiKey, max) : undefined)
    const code = field(upstreamError.code, 100)
    const detail = `HTTP ${status}${code ? ` ${code}` : ''}`
    if (status === 401 || status === 403) return { kind: 'auth', error: errors.PARLEY_ERR_UPSTREAM_CREDENTIALS(), detail }
    if (status === 429) {
      const retryAfterMs = retryAfterOf(head.header('retry-after'))
      const details = retryAfterMs === undefined ? undefined : { retry_after: Math.ceil(retryAfterMs / 1000) }
      return { kind: 'rate', error: errors.PARLEY_ERR_UPSTREAM_BUSY({}, details ? { details } : {}), ...(retryAfterMs === undefined ? {} : { retryAfterMs }), detail }
    }
    if (status >= 500 || status === 408 || status < 400) return { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_FAILED({ status }), detail }
    // 400, 404, 422...: the request itself is wrong; another key would get the same answer.
    const message = field(upstreamError.message, 500) ?? `The upstream refused the request (HTTP ${status})`
    const error = new ParleyError('PARLEY_ERR_UPSTREAM_REFUSED', status, field(upstreamError.type, 64) ?? 'invalid_request_error', message, {
      details: { param: field(upstreamError.param, 200) ?? null, code: code ?? null },
    })
    return { kind: 'final', error, detail }
  }

  // ------------------------------------------------------------- translating

  private async translate(
    provider: ChatProvider,
    reply: FastifyReply,
    call: ChatCall,
    candidate: RouteCandidate,
    providerCall: ProviderCall,
    attempt: Attempt,
    state: CallState,
    stream: boolean,
    record: (status: UsageStatus, errorType: string | null, produced: boolean) => void,
  ): Promise<{ sent: unknown } | { failure: Failure }> {
    const chatRequest = toChatRequest(call, candidate.upstreamModel)
    const iterator = provider.chat(chatRequest, providerCall)[Symbol.asyncIterator]()
    const transcript = new Transcript()
    const buffered: ChatEvent[] = []
    // Read up to the first output: an error before it may still fail over.
    for (;;) {
      const next = await attempt.next(iterator)
      if (next.done) break
      const event = next.value
      if (event.type === 'error') {
        await iterator.return?.(undefined)
        attempt.release()
        return { failure: eventFailure(event, providerCall.target.apiKey) }
      }
      buffered.push(event)
      if (event.type !== 'usage') break
    }
    const meta = { model: call.body.model as string, createdAt: Math.floor(Date.now() / 1000) }
    state.outputText = () => transcript.outputText()

    if (!stream) {
      for (const event of buffered) transcript.add(event)
      attempt.flowing()
      for (;;) {
        const next = await attempt.next(iterator)
        if (next.done) break
        if (next.value.type === 'error') {
          attempt.release()
          return { failure: eventFailure(next.value, providerCall.target.apiKey) }
        }
        transcript.add(next.value)
      }
      attempt.release()
      state.usage = transcript.usage
      const usage = this.usageOf(call, state, true)
      state.ttfbMs = elapsedMs(state.startedAt)
      control(attempt).done()
      record('success', null, true)
      const body = call.format === 'chat' ? chatCompletionBody(meta, transcript, usage) : responseObjectBody(meta, call.body, transcript, usage)
      const json = Buffer.from(JSON.stringify(body))
      commit(reply, 'application/json', undefined, json.byteLength).end(json)
      return { sent: reply }
    }

    const clientWantsUsage = (call.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
    const writer: StreamWriter = call.format === 'chat' ? chatChunkWriter(meta, clientWantsUsage) : responsesEventWriter(meta, call.body)
    let failed: Extract<ChatEvent, { type: 'error' }> | undefined
    const write = (event: ChatEvent): string => {
      if (failed) return ''
      transcript.add(event)
      if (event.type !== 'error') return writer.event(event)
      failed = event
      return ''
    }
    const eventIterator: AsyncIterator<string> = {
      next: async () => {
        if (failed) return { done: true, value: undefined }
        const next = await attempt.next(iterator)
        if (next.done) return { done: true, value: undefined }
        return { done: false, value: write(next.value) }
      },
      return: async () => {
        await iterator.return?.(undefined)
        return { done: true, value: undefined }
      },
    }
    const first = { done: false as const, value: buffered.map(write).join('') }
    const finish = (outcome: 'done' | Stop | unknown): string => {
      state.usage = transcript.usage
      if (outcome === 'done') {
        if (failed) {
          record('error', 'upstream_error', true)
          return writer.fail('upstream_error', scrub(failed.message, providerCall.target.apiKey))
        }
        record('success', null, true)
        return writer.end(this.usageOf(call, state, true))
      }
      if (outcome instanceof Stop && outcome.reason === 'client') {
        record('aborted', 'client_closed', true)
        return ''
      }
      const timeout = outcome instanceof Stop
      record('error', timeout ? 'timeout' : 'upstream_error', true)
      return writer.fail(timeout ? 'timeout' : 'upstream_error', timeout ? `The upstream ${phaseText(outcome.reason)}` : 'The upstream broke off mid-answer')
    }
    return { sent: this.sendStream(reply, state, attempt, eventIterator, first, text => text, finish) }
  }

  // ------------------------------------------------------------- streaming out

  /**
   * Commits the call: status and headers go out with the first piece, then every piece as it
   * arrives. From here on nothing fails over; a broken upstream ends the stream with an error
   * event, and a client that goes away aborts the upstream at once.
   */
  private sendStream<T>(
    reply: FastifyReply,
    state: CallState,
    attempt: Attempt,
    iterator: AsyncIterator<T>,
    first: IteratorResult<T>,
    transform: (chunk: T) => Uint8Array | string,
    finish: (outcome: 'done' | Stop | unknown) => string,
  ): FastifyReply {
    let finished = false
    const end = (outcome: 'done' | Stop | unknown): string => {
      if (finished) return ''
      finished = true
      attempt.release()
      control(attempt).done()
      return finish(outcome)
    }
    // A client gone while the upstream is silent: end the row now, the loop may never resume.
    attempt.onStop(reason => {
      if (reason === 'client') end(new Stop('client'))
    })
    state.ttfbMs = elapsedMs(state.startedAt)
    const res = commit(reply, 'text/event-stream; charset=utf-8', STREAM_HEADERS)
    // The pieces go straight to the socket, one write each; a slow client is waited for (its
    // time never counts against the upstream), a gone one ends the loop.
    const pump = async (): Promise<void> => {
      let exhausted = first.done === true
      try {
        if (first.done) return void res.end(end('done'))
        let more = write(res, transform(first.value))
        attempt.flowing()
        for (;;) {
          if (!more) await drained(res)
          if (res.destroyed) return
          const next = await attempt.next(iterator)
          if (next.done) {
            exhausted = true
            return void res.end(end('done'))
          }
          more = write(res, transform(next.value))
        }
      } catch (error) {
        const tail = end(error)
        if (!res.destroyed) res.end(tail)
      } finally {
        if (res.destroyed) {
          // The client went away (or the socket failed) before the answer was whole.
          end(new Stop('client'))
          if (!exhausted) void Promise.resolve(iterator.return?.(undefined)).catch(() => undefined)
        }
      }
    }
    void pump()
    return reply
  }

  // ------------------------------------------------------------- channel test

  /**
   * The channel test: one short real chat through the provider with this key, under the same
   * timeouts and SSRF policy as traffic. Not a call of anyone's, so no usage row.
   */
  async probe(channel: ProbeChannel, model: string, log: Logger): Promise<ProbeResult> {
    const started = performance.now()
    const took = () => Math.round(performance.now() - started)
    const provider = this.options.providers.get(channel.provider)
    if (!provider) return { ok: false, latency_ms: 0, error: `provider ${channel.provider} is not installed` }
    const { upstream } = this.options
    const control = new CallControl(upstream.total_timeout_ms)
    const attempt = control.attempt(upstream.first_byte_timeout_ms, upstream.idle_timeout_ms)
    const apiKey = channel.key?.key ?? ''
    const call: ProviderCall = {
      target: { channelId: channel.channelId, channelName: channel.channelName, baseUrl: channel.baseUrl.replace(/\/+$/, ''), apiKey, keyId: channel.key?.id, settings: channel.settings },
      signal: attempt.signal,
      log: log.child({ channel: channel.channelName }),
      userKey: 'parley-channel-test',
      dispatcher: this.options.agents.for(this.options.settings.get('allow_private_upstreams')),
    }
    const transcript = new Transcript()
    try {
      const iterator = provider.chat({ model, messages: [{ role: 'user', content: 'Reply with one word: pong' }], stream: false, parameters: {} }, call)[Symbol.asyncIterator]()
      for (;;) {
        const next = await attempt.next(iterator)
        if (next.done) break
        if (next.value.type === 'error') {
          await iterator.return?.(undefined)
          return { ok: false, latency_ms: took(), ...(next.value.status === undefined ? {} : { status: next.value.status }), error: scrub(next.value.message, apiKey) }
        }
        transcript.add(next.value)
        attempt.flowing()
      }
      return { ok: true, latency_ms: took(), reply: transcript.text.slice(0, 200) }
    } catch (error) {
      const reason =
        error instanceof Stop ? `the upstream ${phaseText(error.reason)}`
        : error instanceof ParleyError ? error.message
        : `the upstream could not be reached (${describe(error)})`
      return { ok: false, latency_ms: took(), error: scrub(reason, apiKey) }
    } finally {
      attempt.release()
      control.done()
    }
  }

  // ------------------------------------------------------------- usage

  /** The upstream's counts, or our tokenizer's. */
  private usageOf(call: ChatCall, state: CallState, produced: boolean): TokenUsage & { estimated: boolean } {
    const counted = state.usage
    if (counted) return { promptTokens: counted.promptTokens, completionTokens: counted.completionTokens, estimated: false }
    if (!produced) return { promptTokens: 0, completionTokens: 0, estimated: false }
    const model = state.upstreamModel
    const messages = (call.format === 'chat' ? call.body.messages : responsesInputToMessages(call.body)) as PromptMessage[]
    let promptTokens = 0
    try {
      promptTokens = estimatePromptTokens(Array.isArray(messages) ? messages : [], model)
    } catch {
      promptTokens = 0
    }
    return { promptTokens, completionTokens: estimateTokens(state.outputText(), model), estimated: true }
  }

  private record(request: FastifyRequest, call: ChatCall, state: CallState, status: UsageStatus, errorType: string | null, produced: boolean): void {
    if (state.recorded) return
    state.recorded = true
    const usage = this.usageOf(call, state, produced)
    const principal = call.principal
    this.options.usage.record({
      requestId: request.id,
      ip: request.parley.ip,
      principalKind: principal.kind,
      userId: 'userId' in principal ? Number(principal.userId) : null,
      username: 'name' in principal ? principal.name : null,
      tokenId: principal.kind === 'api_token' ? Number(principal.tokenId) : null,
      model: String(call.body.model),
      channelId: state.channel?.id ?? null,
      channelName: state.channel?.name ?? null,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      estimated: usage.estimated,
      status,
      errorType,
      latencyMs: elapsedMs(state.startedAt),
      ttfbMs: state.ttfbMs ?? null,
      endpoint: call.endpoint,
      stream: call.body.stream === true,
    })
  }
}


/** PARLEY_ERR_LIMIT_CHANNELS_BUSY for callers who read Chinese (SPEC §8: zh-CN or en). */
const CHANNELS_BUSY_ZH = '此模型的所有渠道都已达到速率限制，请稍后重试'

/** PARLEY_ERR_ROUTE_MODEL_FORBIDDEN, in Chinese when the caller reads Chinese. */
function modelForbidden(request: FastifyRequest, model: string): ParleyError {
  const forbidden = errors.PARLEY_ERR_ROUTE_MODEL_FORBIDDEN({ model })
  if (languageOf(request.headers['accept-language']) === 'en') return forbidden
  return new ParleyError(forbidden.code, forbidden.statusCode, forbidden.type, `你所在的分组无权使用模型 ${model}`)
}

function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6
}

/** Headers of every streamed answer, besides its content type. */
const STREAM_HEADERS: Readonly<Record<string, string>> = { 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }

/**
 * Takes the answer over from Fastify and sends status 200 with the headers set on the reply so
 * far (request id, CORS, rate limits) and these: the answer's bytes then go to the socket with
 * no stream or hook between. `onResponse` hooks still run when it finishes; `onSend` hooks do
 * not, so the one the core has (`installDrain`: while the server drains, tell the client not to
 * reuse the connection) is done here too, and so must any root `onSend` hook added later.
 */
function commit(reply: FastifyReply, type: string, extra?: Readonly<Record<string, string>>, length?: number): FastifyReply['raw'] {
  reply.hijack()
  const headers: Record<string, string | number | string[] | undefined> = reply.getHeaders()
  headers['content-type'] = type
  if (extra) Object.assign(headers, extra)
  if (length !== undefined) headers['content-length'] = length
  if (reply.server.draining) headers.connection = 'close'
  return reply.raw.writeHead(200, headers)
}

/** One piece to the client; false when it has to be waited for. */
function write(res: FastifyReply['raw'], piece: Uint8Array | string): boolean {
  return piece.length === 0 || res.write(piece)
}

/** Until the client took what was written, or went away. */
function drained(res: FastifyReply['raw']): Promise<void> {
  // A write to a closed response also answers false, and no event would follow.
  if (res.destroyed) return Promise.resolve()
  return new Promise(resolve => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/**
 * What a provider gets for one attempt. The abort signal and the child logger are made only
 * when a provider asks for them (most never do). A class, not an object literal with getters:
 * V8 (Node 20) keeps the closures of such a literal's getters alive through young-generation
 * collections, and with them everything they capture, here the whole request. Every request
 * between two collections then survived them, and each collection copied megabytes (pauses
 * of about 5 ms instead of 1.5 at one request in flight; docs/performance.md).
 */
class AttemptCall implements ProviderCall {
  #log: Logger | undefined

  constructor(
    readonly target: UpstreamTarget,
    readonly userKey: string,
    readonly dispatcher: Dispatcher,
    private readonly attempt: Attempt,
    private readonly requestLog: Logger,
  ) {}

  get signal(): AbortSignal {
    return this.attempt.signal
  }

  get log(): Logger {
    return (this.#log ??= this.requestLog.child({ channel: this.target.channelName }))
  }
}

/** The whole call's deadline and the client's presence; each attempt gets its own signal under it. */
class CallControl {
  #stopped: AbortReason | undefined
  readonly #attempts = new Set<Attempt>()
  readonly #total: NodeJS.Timeout

  constructor(totalMs: number) {
    this.#total = setTimeout(() => this.stop('total'), totalMs)
    this.#total.unref()
  }

  attempt(firstByteMs: number, idleMs: number): Attempt {
    const attempt = new Attempt(this, firstByteMs, idleMs)
    if (this.#stopped) attempt.stop(this.#stopped)
    this.#attempts.add(attempt)
    return attempt
  }

  forget(attempt: Attempt): void {
    this.#attempts.delete(attempt)
  }

  stop(reason: AbortReason): void {
    this.#stopped ??= reason
    for (const attempt of this.#attempts) attempt.stop(reason)
  }

  done(): void {
    clearTimeout(this.#total)
  }
}

function control(attempt: Attempt): CallControl {
  return attempt.parent
}

/**
 * One upstream attempt: an abort signal for the provider, and waits that give up when the
 * attempt is stopped (even if a provider ignores the signal) or its timer runs out. Until
 * output flows the timer is the first-byte deadline of the attempt; afterwards, the idle time
 * of each wait. Time spent waiting for a slow client is never counted against the upstream.
 * One timer serves every wait (re-armed, not re-created) and waits are one at a time.
 */
class Attempt implements ExchangeWatcher {
  /** Made on first use: passthrough calls are stopped through `onStop`, not a signal. */
  #controller: AbortController | undefined
  readonly #firstByteDeadline: number
  #flowing = false
  #stopped: Stop | undefined
  readonly #listeners: Array<(reason: AbortReason) => void> = []
  #timer: NodeJS.Timeout | undefined
  /** Rejects the wait in progress, if any. */
  #waiting: ((error: Error) => void) | undefined
  /** The upstream exchange of a passthrough attempt, which reports its own waits. */
  #exchange: UpstreamExchange | undefined

  constructor(
    readonly parent: CallControl,
    firstByteMs: number,
    private readonly idleMs: number,
  ) {
    this.#firstByteDeadline = performance.now() + firstByteMs
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#stopped) this.#controller.abort(this.#stopped)
    }
    return this.#controller.signal
  }

  stop(reason: AbortReason): void {
    if (this.#stopped) return
    const stopped = new Stop(reason)
    this.#stopped = stopped
    this.#clearTimer()
    this.#controller?.abort(stopped)
    this.#waiting?.(stopped)
    for (const listener of this.#listeners) listener(reason)
  }

  onStop(listener: (reason: AbortReason) => void): void {
    if (this.#stopped) listener(this.#stopped.reason)
    else this.#listeners.push(listener)
  }

  /** Output is flowing: from now on each wait may last the idle timeout. */
  flowing(): void {
    if (this.#flowing) return
    this.#flowing = true
    this.#clearTimer()
  }

  /** The attempt is over (answered or failed): the call no longer stops it. */
  release(): void {
    this.#clearTimer()
    this.parent.forget(this)
  }

  /** A provider promise that loses to the attempt being stopped or to its timer. */
  wait<T>(promise: Promise<T>): Promise<T> {
    const stopped = this.#stopped
    if (stopped) {
      promise.catch(() => undefined)
      return Promise.reject(stopped)
    }
    this.#arm()
    return new Promise<T>((resolve, reject) => {
      this.#waiting = reject
      promise.then(
        value => {
          this.#waiting = undefined
          resolve(value)
        },
        (error: unknown) => {
          this.#waiting = undefined
          reject(this.#stopped ?? error)
        },
      )
    })
  }

  next<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
    // The exchange is aborted by `stop` and reports its waits itself: no promise around its own.
    if (iterator === this.#exchange) return iterator.next()
    return this.wait(iterator.next())
  }

  /**
   * The passthrough attempt's upstream exchange: stopping the attempt aborts it, and its head
   * and reads are timed by this attempt's timer (`waiting`/`resumed`) without a promise around
   * each, so its `head` and `next()` may be awaited directly.
   */
  exchange(dispatcher: Dispatcher, request: UpstreamHttpRequest, body: string): UpstreamExchange {
    const exchange = new UpstreamExchange(dispatcher, request, body, this)
    this.#exchange = exchange
    this.onStop(reason => exchange.abort(new Stop(reason)))
    return exchange
  }

  /** The exchange waits on the upstream: the timer runs; a stop aborts the exchange (`onStop`). */
  waiting(): void {
    if (this.#stopped) return
    this.#arm()
    this.#waiting = ignore
  }

  resumed(): void {
    this.#waiting = undefined
  }

  #arm(): void {
    if (this.#timer) {
      // The first-byte deadline is fixed; an idle wait starts its own time now.
      if (this.#flowing) this.#timer.refresh()
      return
    }
    const ms = this.#flowing ? this.idleMs : Math.max(0, this.#firstByteDeadline - performance.now())
    // Unref'd: the upstream's socket keeps the process alive while it matters, a timer need not.
    this.#timer = setTimeout(() => this.#expired(), ms)
    this.#timer.unref()
  }

  #expired(): void {
    if (this.#waiting) {
      this.stop(this.#flowing ? 'idle' : 'first_byte')
      return
    }
    // Nobody waits on the upstream (the pipeline is busy with the client): the next wait re-arms
    // an idle timer as it is, or a first-byte one with what is left of the deadline (nothing).
    if (!this.#flowing) this.#timer = undefined
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

function ignore(): void {}

function toChatRequest(call: ChatCall, upstreamModel: string): ChatRequest {
  const body = call.body
  if (call.format === 'responses') {
    return { model: upstreamModel, messages: responsesInputToMessages(body), stream: body.stream === true, parameters: responsesParameters(body) }
  }
  const { model: _model, messages, stream, ...parameters } = body
  return { model: upstreamModel, messages: messages as ChatRequest['messages'], stream: stream === true, parameters }
}

function eventFailure(event: Extract<ChatEvent, { type: 'error' }>, apiKey: string): Failure {
  const status = event.status
  // A redirect is never followed, so it is the upstream's problem like a 5xx.
  const retryable = event.retryable ?? (status === undefined || status < 400 || status === 408 || status === 429 || status >= 500)
  const detail = scrub(`${status ?? 'no status'}${event.upstreamCode ? ` ${event.upstreamCode}` : ''}`, apiKey, 120)
  if (event.keyProblem) return { kind: 'auth', error: errors.PARLEY_ERR_UPSTREAM_CREDENTIALS(), detail }
  if (!retryable) {
    return { kind: 'final', error: new ParleyError('PARLEY_ERR_UPSTREAM_REFUSED', status !== undefined && status >= 400 && status < 500 ? status : 502, 'upstream_error', scrub(event.message, apiKey)), detail }
  }
  if (status === 429) return { kind: 'rate', error: errors.PARLEY_ERR_UPSTREAM_BUSY(), detail }
  return { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_FAILED({ status: status ?? 502 }), detail }
}

function failFrame(format: Format, type: string, message: string): string {
  if (format === 'chat') return `data: ${JSON.stringify({ error: { type, message, code: type, param: null } })}\n\n`
  return `event: error\ndata: ${JSON.stringify({ type: 'error', code: type, message, param: null })}\n\n`
}

function phaseText(reason: AbortReason): string {
  switch (reason) {
    case 'first_byte':
      return 'did not start answering in time'
    case 'idle':
      return 'stopped sending in the middle of the answer'
    case 'total':
      return 'took longer than the call may last'
    case 'client':
      return 'call was cancelled by the client'
  }
}

function rateHeaders(reply: FastifyReply, limit: number, remaining: number, resetMs: number): void {
  void reply.header('x-ratelimit-limit', String(limit))
  void reply.header('x-ratelimit-remaining', String(Math.max(0, remaining)))
  void reply.header('x-ratelimit-reset', String(Math.max(0, Math.ceil(resetMs / 1000))))
}

function retryAfterOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.min(date - Date.now(), 3_600_000))
}

/** Never echo a key, even if an upstream quotes it back in an error. */
function scrub(message: string, key: string, max = 500): string {
  const clipped = message.length > max ? message.slice(0, max) : message
  return key.length >= 8 ? clipped.split(key).join('***') : clipped
}

function describe(error: unknown): string {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown }
  return `${typeof name === 'string' ? name : 'Error'}${typeof code === 'string' ? ` (${code})` : ''}`
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
