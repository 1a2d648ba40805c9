import type { PersonalUpstream } from '@parley/core'

/**
 * The personal model configs for other plugins (`MODEL_CONFIGS`, for plugins that list
 * `model-configs` in `requires`): a conversation with a `model_config_id` runs its calls with
 * `chat.run(..., { upstream })`.
 *
 * @example
 * const configs = ctx.container.resolve<ModelConfigs>(MODEL_CONFIGS)
 * const upstream = await configs.resolve(principal.userId, conversation.modelConfigId)
 * if (!upstream) throw notFound()
 * return chat.run(request, reply, { body, principal, endpoint: 'conversations', upstream })
 */
export interface ModelConfigs {
  /** What `chat.run` needs (the key opened for this call), or undefined when the config is not the user's. */
  resolve(userId: number | string, id: number): Promise<PersonalUpstream | undefined>
  /** The config's name and upstream model, for display; undefined when not the user's. */
  describe(userId: number | string, id: number): Promise<{ name: string; model: string } | undefined>
}

export const MODEL_CONFIGS = Symbol.for('parley.model-configs')
