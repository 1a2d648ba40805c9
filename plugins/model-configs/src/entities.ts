import { defineEntity } from '@parley/core'

/**
 * A user's own OpenAI-compatible upstream. The key is sealed with the gateway's ENCRYPTION_KEY
 * like a channel key, bound to the row's `uid`; only a masked hint is ever answered.
 */
export const ModelConfig = defineEntity({
  name: 'ModelConfig',
  tableName: 'model_configs',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** Random id that the sealed key is bound to (associated data), so a sealed key copied to another row fails to open. */
    uid: p.string().length(36).unique(),
    /** The owner (identity's user id); every read and write filters by it. */
    userId: p.integer(),
    /** The owner's name for it, shown in the picker. */
    name: p.string().length(100),
    /** Checked like a channel's base URL when saved (http/https, SSRF policy). */
    baseUrl: p.string().length(2048),
    /** The model name sent upstream. */
    model: p.string().length(191),
    /** SecretBox output: version, key id, nonce, ciphertext and tag. */
    sealedKey: p.text(),
    /** `sk-…abcd`: tells keys apart without revealing them. */
    keyHint: p.string().length(32),
    /** JSON of temperature, top_p, max_tokens, system_prompt (validated on save). */
    parameters: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  }),
  // The owner's list, newest first, is the only query besides lookups by id.
  indexes: [{ properties: ['userId', 'id'] }],
})

export const modelConfigEntities = [ModelConfig]
