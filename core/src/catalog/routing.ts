import { errors } from '../errors.js'
import type { CatalogSnapshot, RoutableChannel } from './snapshot.js'

export interface RouteRequest {
  /** The model name the client asked for. */
  readonly model: string
  /** The caller's group. */
  readonly group: string
  /** Portal traffic: a chat route for the group pins it to one channel. */
  readonly chat: boolean
  /** `model_passthrough`: serve any model name a channel of the group accepts. */
  readonly passthrough?: boolean
}

export interface RouteCandidate {
  readonly channel: RoutableChannel
  /** The name to send upstream. */
  readonly upstreamModel: string
}

/**
 * The channels that may serve a request, in the order to try them: highest priority first,
 * and within one priority a weighted random order, so traffic spreads by weight and failover
 * moves on to the next. Chat-routed portal traffic gets exactly its one channel.
 */
export function candidates(
  snapshot: CatalogSnapshot,
  request: RouteRequest,
  random: () => number = Math.random,
): RouteCandidate[] {
  if (!request.passthrough && !snapshot.models.has(request.model))
    throw errors.PARLEY_ERR_ROUTE_MODEL_UNKNOWN({ model: request.model })
  if (request.chat) {
    const routed = snapshot.chatRoutes.get(request.group)
    if (routed !== undefined) {
      const channel = snapshot.channels.find(c => c.id === routed)
      if (!channel) throw errors.PARLEY_ERR_ROUTE_CHAT_CHANNEL_DOWN({ group: request.group })
      const upstream = channel.models.get(request.model) ?? (request.passthrough ? request.model : undefined)
      if (upstream === undefined)
        throw errors.PARLEY_ERR_ROUTE_MODEL_NOT_ON_CHAT_CHANNEL({ model: request.model, channel: channel.name })
      return [{ channel, upstreamModel: upstream }]
    }
  }
  const eligible: RouteCandidate[] = []
  for (const channel of snapshot.channels) {
    if (!channel.groups.has(request.group)) continue
    const upstream = channel.models.get(request.model) ?? (request.passthrough ? request.model : undefined)
    if (upstream !== undefined) eligible.push({ channel, upstreamModel: upstream })
  }
  if (eligible.length === 0) throw errors.PARLEY_ERR_ROUTE_NO_CHANNEL({ model: request.model })
  return orderByPriorityThenWeight(eligible, random)
}

function orderByPriorityThenWeight(list: RouteCandidate[], random: () => number): RouteCandidate[] {
  // One channel (the usual case) has one order: no tiers to build on every call.
  if (list.length === 1) return list
  const tiers = new Map<number, RouteCandidate[]>()
  for (const candidate of list) {
    const tier = tiers.get(candidate.channel.priority) ?? []
    tier.push(candidate)
    tiers.set(candidate.channel.priority, tier)
  }
  const ordered: RouteCandidate[] = []
  for (const priority of [...tiers.keys()].sort((a, b) => b - a))
    ordered.push(...weightedShuffle(tiers.get(priority) as RouteCandidate[], random))
  return ordered
}

/** Efraimidis–Spirakis: sort by random^(1/weight), a weighted random order in one pass. */
function weightedShuffle(tier: RouteCandidate[], random: () => number): RouteCandidate[] {
  if (tier.length < 2) return tier
  return tier
    .map(candidate => ({ candidate, key: Math.pow(random(), 1 / Math.max(1, candidate.channel.weight)) }))
    .sort((a, b) => b.key - a.key)
    .map(entry => entry.candidate)
}
