import { definePlugin } from '@parley/core'
import { openaiProvider } from './provider.js'

export { OpenAiSettings, openaiProvider } from './provider.js'

/** The `openai` provider: any upstream that speaks OpenAI's chat completions or Responses API. */
export default definePlugin({
  id: 'openai',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'OpenAI-compatible upstreams: chat completions and the Responses API, streaming and not',
  setup(ctx) {
    ctx.providers.register('openai', openaiProvider)
  },
})
