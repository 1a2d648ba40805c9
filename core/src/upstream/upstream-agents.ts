import type { Agent } from 'undici'
import { createUpstreamAgent } from './upstream-address.js'

export interface UpstreamAgentsOptions {
  readonly connectTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  /** 0: no limit. */
  readonly connections: number
  /** Admits loopback upstreams: the operator's `upstream.allow_loopback` config key, never a setting. */
  readonly allowLoopback: boolean
}

/**
 * The two SSRF-safe connection pools of a gateway: one for the default policy and one that
 * admits private networks, chosen per call from the live `allow_private_upstreams` setting, so
 * flipping it never rebuilds a pool or drops warm connections.
 */
export class UpstreamAgents {
  readonly #strict: Agent
  readonly #private: Agent
  /** Pools of channels with their own connect timeout, by policy and timeout; made on first use. */
  readonly #own = new Map<string, Agent>()

  constructor(private readonly options: UpstreamAgentsOptions) {
    this.#strict = this.#create(false, options.connectTimeoutMs)
    this.#private = this.#create(true, options.connectTimeoutMs)
  }

  /** The pool for the policy; `connectTimeoutMs`: a channel's own connect timeout (a pool of its own). */
  for(allowPrivate: boolean, connectTimeoutMs?: number): Agent {
    if (connectTimeoutMs === undefined || connectTimeoutMs === this.options.connectTimeoutMs)
      return allowPrivate ? this.#private : this.#strict
    const id = `${allowPrivate ? 'private' : 'strict'}:${connectTimeoutMs}`
    let agent = this.#own.get(id)
    if (!agent) {
      agent = this.#create(allowPrivate, connectTimeoutMs)
      this.#own.set(id, agent)
    }
    return agent
  }

  async close(): Promise<void> {
    await Promise.all([this.#strict.close(), this.#private.close(), ...[...this.#own.values()].map(a => a.close())])
  }

  #create(allowPrivate: boolean, connectTimeoutMs: number): Agent {
    const { options } = this
    return createUpstreamAgent(
      { allowPrivate, allowLoopback: options.allowLoopback },
      {
        connectTimeoutMs,
        keepAliveTimeoutMs: options.keepAliveTimeoutMs,
        ...(options.connections > 0 ? { connections: options.connections } : {}),
      },
    )
  }
}
