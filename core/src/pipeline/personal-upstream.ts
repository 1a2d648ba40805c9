import type { Principal } from '../auth/principal.js'
import { errors } from '../errors.js'
import type { RoutableChannel } from '../catalog/snapshot.js'
import type { Registry } from '../kernel/registry.js'
import type { Json } from './formats/format.js'

/** Request defaults a personal config carries; the client's own values win. */
export interface PersonalParameters {
  readonly temperature?: number
  readonly top_p?: number
  readonly max_tokens?: number
  /** Sent as the first system message (chat) or as `instructions` (Responses) when the client gave none. */
  readonly system_prompt?: string
}

/**
 * A user's own OpenAI-compatible upstream, used for one call instead of routing: the `openai`
 * provider, this base URL and key, no failover to catalog channels, no shared key health. The
 * call is limited, timed and logged like any other; its usage row names `label` as the channel.
 */
export interface PersonalUpstream {
  /** What the usage row's `channel_name` says, e.g. `model-config:12`; never the key. */
  readonly label: string
  /** Checked like a channel's when it was saved; connections are checked again (SSRF). */
  readonly baseUrl: string
  /** The key in plain text, opened for this call only. */
  readonly apiKey: string
  /** The model name sent upstream (and written in the usage row). */
  readonly model: string
  readonly parameters?: PersonalParameters
}

/** One personal model as the portal's picker lists it. */
export interface PersonalModelItem {
  readonly id: number
  /** The owner's name for it. */
  readonly name: string
  /** The upstream model. */
  readonly model: string
}

/**
 * Where the portal's chat finds a signed-in user's personal models (`ctx.personalModels`): the
 * model picker (`GET /api/chat/models`) lists them, and `POST /api/chat/completions` with
 * `model_config_id` runs a call through one. Both answer only the caller's own.
 *
 * @example
 * ctx.personalModels.register('configs', {
 *   list: principal => store.listFor(principal),
 *   resolve: (principal, id) => store.upstreamOf(principal, id),
 * })
 */
export interface PersonalModels {
  list(principal: Principal): Promise<readonly PersonalModelItem[]>
  /** The upstream of the caller's config `id`, or undefined when there is none of theirs. */
  resolve(principal: Principal, id: number): Promise<PersonalUpstream | undefined>
}

/** The name the picker gives a personal model: never a catalog name, so the two never mix. */
export function personalModelName(id: number): string {
  return `personal:${id}`
}

/** The first registered source's upstream for the caller's config, or a 404 that reveals nothing. */
export async function resolvePersonal(
  sources: Registry<PersonalModels>,
  principal: Principal,
  id: number,
): Promise<PersonalUpstream> {
  for (const source of sources.items()) {
    const upstream = await source.resolve(principal, id)
    if (upstream) return upstream
  }
  throw errors.PARLEY_ERR_CHAT_MODEL_CONFIG_NOT_FOUND({ id })
}

/**
 * The body as the upstream should get it: the config's model (the usage row's too, whatever
 * name the client sent) and its parameters where the client set none.
 */
export function personalBody(body: Json, format: 'chat' | 'responses', upstream: PersonalUpstream): Json {
  const out: Json = { ...body, model: upstream.model }
  const parameters = upstream.parameters
  if (!parameters) return out
  if (parameters.temperature !== undefined && out.temperature === undefined) out.temperature = parameters.temperature
  if (parameters.top_p !== undefined && out.top_p === undefined) out.top_p = parameters.top_p
  if (parameters.max_tokens !== undefined) {
    const field = format === 'responses' ? 'max_output_tokens' : 'max_tokens'
    if (out[field] === undefined && out.max_completion_tokens === undefined) out[field] = parameters.max_tokens
  }
  const prompt = parameters.system_prompt
  if (prompt) {
    if (format === 'responses') {
      if (out.instructions === undefined) out.instructions = prompt
    } else if (Array.isArray(out.messages)) {
      const messages = out.messages as Array<{ role?: unknown }>
      if (!messages.some(message => message.role === 'system' || message.role === 'developer'))
        out.messages = [{ role: 'system', content: prompt }, ...messages]
    }
  }
  return out
}

/** Personal upstreams speak the OpenAI API: the `openai` provider serves them. */
export const PERSONAL_PROVIDER = 'openai'
const NO_GROUPS: ReadonlySet<string> = new Set()
const NO_MODELS: ReadonlyMap<string, string> = new Map()

/** A one-off channel for one call: never in the snapshot, so never routed to or shared. */
export function personalChannel(upstream: PersonalUpstream): RoutableChannel {
  return {
    id: 0,
    name: upstream.label,
    provider: PERSONAL_PROVIDER,
    baseUrl: upstream.baseUrl,
    rpmLimit: 0,
    groups: NO_GROUPS,
    priority: 0,
    weight: 1,
    settings: {},
    keys: [],
    models: NO_MODELS,
  }
}

/** The attempt's key; id 0 is no catalog key's. */
export function personalKey(upstream: PersonalUpstream): { readonly id: number; readonly key: string } {
  return { id: 0, key: upstream.apiKey }
}
