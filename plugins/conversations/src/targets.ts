import type { Principal } from '@parley/core'
import type { PersonalUpstream } from '@parley/core'
import { conversationErrors } from './errors.js'
import type { StoredConversation } from './service.js'

/** The token of the model-configs plugin's service (plugins/model-configs/src/service.ts). */
export const MODEL_CONFIGS = Symbol.for('parley.model-configs')

/** What this plugin needs of that service; typed here so the plugin works without it. */
export interface ModelConfigResolver {
  resolve(userId: number | string, id: number): Promise<PersonalUpstream | undefined>
}

/** Where one call of a conversation goes: a catalog model, or a personal config's upstream. */
export interface CallTarget {
  /** The `model` of the request body. */
  readonly model: string
  readonly upstream?: PersonalUpstream
}

/**
 * Resolves a conversation's model or personal model config for a call. Without the model-configs
 * plugin a `model_config_id` is refused when the conversation is created, and here too (a
 * conversation created while the plugin was loaded, then the plugin removed).
 */
export class Targets {
  constructor(private readonly configs: ModelConfigResolver | undefined) {}

  get configsLoaded(): boolean {
    return this.configs !== undefined
  }

  async of(conversation: StoredConversation, principal: Principal, modelOverride?: string): Promise<CallTarget> {
    if (modelOverride) return { model: modelOverride }
    if (conversation.modelConfigId === null) return { model: conversation.model ?? '' }
    const upstream = await this.config(principal, conversation.modelConfigId)
    return { model: upstream.model, upstream }
  }

  /** The caller's own config `id`, opened for one call; refused when it is not theirs or the plugin is absent. */
  async config(principal: Principal, id: number): Promise<PersonalUpstream> {
    if (!this.configs) throw conversationErrors.PARLEY_ERR_CONVERSATION_MODEL_CONFIGS_OFF()
    const userId = principal.kind === 'user' || principal.kind === 'api_token' ? principal.userId : undefined
    const upstream = userId === undefined ? undefined : await this.configs.resolve(userId, id)
    if (!upstream) throw conversationErrors.PARLEY_ERR_CONVERSATION_MODEL_CONFIG_NOT_FOUND({ id })
    return upstream
  }
}
