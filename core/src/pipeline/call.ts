import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../auth/principal.js'
import type { RoutableChannel } from '../catalog/snapshot.js'
import type { UsageEndpoint } from '../usage/entities.js'
import type { TextSample } from '../usage/tokens.js'
import { CallControl } from './attempt.js'
import type { Json, WireFormat } from './formats/format.js'
import type { CallObjects } from './object-delivery.js'
import type { CallEnd, CallObserver, CallOutput, CallWatch } from './lifecycle.js'
import type { PersonalUpstream } from './personal-upstream.js'
import type { TokenUsage } from './stream-tap.js'

/** One client call as a route hands it to the pipeline. */
export interface ChatCall {
  readonly format: WireFormat
  readonly body: Json
  readonly principal: Principal
  /** Portal traffic: the group's chat route applies. */
  readonly portal: boolean
  readonly endpoint: UsageEndpoint
  /** Follows this call only (a plugin's own route runs a call and keeps its answer). */
  readonly watch?: CallWatch
  /** A user's own upstream: used instead of routing (personal-upstream.ts). */
  readonly upstream?: PersonalUpstream
}

/**
 * Everything one call carries from arrival to its usage row: the request and reply, the caller,
 * the wire format, the deadline and the client's presence, and the facts gathered as it goes
 * (the channel that answered, time to first byte, usage, the answer's text for an estimate).
 */
export class Call {
  readonly format: WireFormat
  readonly body: Json
  readonly principal: Principal
  readonly portal: boolean
  readonly endpoint: UsageEndpoint
  /** The model the client asked for. */
  readonly model: string
  readonly stream: boolean
  readonly control: CallControl
  /** Observers' and the route's watches; undefined when nobody follows the call (the usual case). */
  watch: CallWatch | undefined
  /** The user's own upstream, when the call goes there instead of to the catalog. */
  readonly personal: PersonalUpstream | undefined

  channel: RoutableChannel | undefined
  upstreamModel: string
  /** The stored images the call refers to (object-delivery.ts); undefined for nearly every call. */
  objects: CallObjects | undefined
  /** The body sent upstream when it differs from the client's (stored images resolved). */
  sentBody: Json | undefined
  /** Milliseconds from arrival to the first byte sent. */
  ttfbMs: number | undefined
  usage: TokenUsage | undefined
  /** The answer's text, for an estimate when usage is missing (a sample of it, when long). */
  output: () => string | TextSample = noText
  /** The estimate, once made: the row and the answer's own usage must agree. */
  estimate: (TokenUsage & { estimated: true }) | undefined
  recorded = false
  /** The pipeline's list of running calls (running-calls.ts). */
  runningPrev: Call | undefined = undefined
  runningNext: Call | undefined = undefined

  constructor(
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    call: ChatCall,
    totalTimeoutMs: number,
  ) {
    this.format = call.format
    this.body = call.body
    this.principal = call.principal
    this.portal = call.portal
    this.endpoint = call.endpoint
    this.model = call.body.model as string
    this.upstreamModel = this.model
    this.stream = call.body.stream === true
    this.control = new CallControl(totalTimeoutMs)
    this.watch = call.watch
    this.personal = call.upstream
  }

  /** The call was admitted (within the caller's limits): observers hear of it, and of its end. */
  begin(observers: readonly CallObserver[]): void {
    if (observers.length > 0) this.watch = watchesOf(this, observers, this.watch)
  }

  get startedAt(): bigint {
    return this.request.parley.startedAt
  }

  /** The first byte goes to the client now. */
  answering(): void {
    this.ttfbMs = elapsedMs(this.startedAt)
  }
}

export function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6
}

function noText(): string {
  return ''
}

/** Asks each observer for a watch of this call; one watch stands for all of them. */
function watchesOf(call: Call, observers: readonly CallObserver[], own: CallWatch | undefined): CallWatch | undefined {
  const start = {
    requestId: call.request.id,
    principal: call.principal,
    model: call.model,
    format: call.format.name,
    endpoint: call.endpoint,
    stream: call.stream,
  }
  const watches = own ? [own] : []
  for (const observer of observers) {
    const watch = observer.started(start)
    if (watch) watches.push(watch)
  }
  if (watches.length <= 1) return watches[0]
  const outputs = watches.filter(watch => watch.output)
  return {
    ...(outputs.length > 0 ? { output: (piece: CallOutput) => outputs.forEach(watch => watch.output?.(piece)) } : {}),
    ended: (end: CallEnd) => watches.forEach(watch => watch.ended?.(end)),
  }
}
