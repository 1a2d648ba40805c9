import { definePlugin, SecretBox, TOKENS, type ChatService } from '@parley/core'
import { IDENTITY_GROUPS, type IdentityGroups } from '@parley/identity'
import { modelConfigEntities } from './entities.js'
import { modelConfigMigrations } from './migrations/index.js'
import { personalModels } from './personal-models.js'
import { installModelConfigRoutes } from './routes.js'
import { MODEL_CONFIGS, type ModelConfigs } from './service.js'
import { ModelConfigStore } from './store.js'

export { modelConfigErrors } from './errors.js'
export { MODEL_CONFIGS, type ModelConfigs } from './service.js'

/** Personal model configs: a user's own OpenAI-compatible upstream (docs/model-configs.md). */
export default definePlugin({
  id: 'model-configs',
  version: '0.1.0',
  core: '^0.1.0',
  description: "Users' own OpenAI-compatible upstreams, used through the data plane",
  requires: ['identity'],
  setup(ctx) {
    ctx.db.entities(modelConfigEntities)
    ctx.db.migrations(modelConfigMigrations)
    const allowLoopback = ctx.config.upstream.allow_loopback
    const store = new ModelConfigStore(
      () => ctx.db.em(),
      SecretBox.fromSecrets(ctx.secrets),
      // Exactly the channels' policy: LAN by the runtime setting, loopback by the operator's config key.
      () => ({ allowPrivate: ctx.settings.get('allow_private_upstreams') === true, allowLoopback }),
      ctx.container.resolve<IdentityGroups>(IDENTITY_GROUPS),
    )
    const service: ModelConfigs = {
      resolve: (userId, id) => store.upstreamOf(Number(userId), id),
      async describe(userId, id) {
        const row = await store.find(Number(userId), id)
        return row ? { name: row.name, model: row.model } : undefined
      },
    }
    ctx.provide<ModelConfigs>(MODEL_CONFIGS, service)
    ctx.personalModels.register('model-configs', personalModels(store))
    installModelConfigRoutes(ctx.http, store, ctx.container.resolve<ChatService>(TOKENS.chat))
    // `parley re-encrypt` covers channels (core); this covers the keys this plugin stores.
    ctx.commands.register('re-encrypt-model-configs', {
      description: 'seal every personal model config key with the current ENCRYPTION_KEY',
      async run() {
        const { resealed, unreadable } = await store.reencrypt()
        process.stdout.write(`Re-encrypted ${resealed} model config key(s) with the current ENCRYPTION_KEY.\n`)
        if (unreadable > 0)
          process.stdout.write(`${unreadable} key(s) open with no configured key; their owners must save them again.\n`)
        return unreadable > 0 ? 1 : 0
      },
    })
  },
})
