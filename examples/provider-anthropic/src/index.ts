import { definePlugin } from '@parley/core'
import { anthropicProvider } from './provider.js'

export { AnthropicSettings } from './provider.js'

/** Channels with `provider: anthropic` talk to Anthropic's Messages API (examples/provider-anthropic/README.md). */
export default definePlugin({
  id: 'anthropic',
  version: '0.1.0',
  core: '^0.1.0',
  description: "Anthropic's Messages API as a Parley provider, translated to the OpenAI formats",
  setup(ctx) {
    ctx.providers.register('anthropic', anthropicProvider)
  },
})
