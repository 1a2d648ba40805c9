import type { Agent } from 'undici'
import { createUpstreamAgent, type AddressPolicy } from './upstream-address.js'

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

  constructor(options: UpstreamAgentsOptions) {
    const agentOptions = {
      connectTimeoutMs: options.connectTimeoutMs,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      ...(options.connections > 0 ? { connections: options.connections } : {}),
    }
    const policy = (allowPrivate: boolean): AddressPolicy => ({ allowPrivate, allowLoopback: options.allowLoopback })
    this.#strict = createUpstreamAgent(policy(false), agentOptions)
    this.#private = createUpstreamAgent(policy(true), agentOptions)
  }

  for(allowPrivate: boolean): Agent {
    return allowPrivate ? this.#private : this.#strict
  }

  async close(): Promise<void> {
    await Promise.all([this.#strict.close(), this.#private.close()])
  }
}
