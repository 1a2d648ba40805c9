import { definePlugin, Type } from '@parley/core'
import { cozeProvider } from './provider.js'
import { TokenSeal } from './token-seal.js'
import { TokenStore } from './token-store.js'

export { CozeSettings } from './settings.js'

const Options = Type.Object({
  /** After a failed OAuth exchange, an instance uses the PAT (or fails) for this long before trying again. */
  oauth_retry_after_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
})

/** The `coze` provider (docs/coze.md): Coze bots as models, over OAuth JWT or a personal access token. */
export default definePlugin({
  id: 'coze',
  version: '0.1.0',
  core: '^0.1.0',
  description:
    'Coze bots as models: v3 chat translated to the OpenAI formats, OAuth JWT tokens shared across instances, PAT fallback',
  options: Options,
  setup(ctx) {
    const tokens = new TokenStore({
      kv: ctx.kv,
      seal: new TokenSeal(ctx.secrets.encryptionKey),
      log: ctx.log,
      retryAfterMs: ctx.options.oauth_retry_after_ms,
    })
    ctx.providers.register('coze', cozeProvider(tokens))
  },
})
