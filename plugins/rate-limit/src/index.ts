import { definePlugin, Type } from '@parley/core'
import type { WindowCounter } from './counter.js'
import { LocalCounter } from './local-counter.js'
import { registerSample } from './metrics.js'
import { RpmPolicy } from './policy.js'
import { SharedCounter } from './shared-counter.js'

export { addressKey, callerLimit, type CallerKind, type CallerLimit } from './callers.js'
export { refusalMessage } from './messages.js'

const Options = Type.Object({
  /** Default of the `rate-limit.widget_rpm` setting; an admin may change it at runtime. */
  widget_rpm: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 20 }),
})

/** Caller and channel limits (docs/limits.md): shared through Redis when configured, per instance otherwise. */
export default definePlugin({
  id: 'rate-limit',
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Requests per minute for guests, users, API tokens, widget users and channels',
  options: Options,
  setup(ctx) {
    const widgetRpm = ctx.settings.define({
      key: 'widget_rpm',
      schema: Type.Integer({ minimum: 0, maximum: 1_000_000, title: 'Widget requests per minute' }),
      default: ctx.options.widget_rpm,
      description: 'Per widget user (per external id); 0 for no limit',
      locales: { 'zh-CN': { title: '挂件用户每分钟请求数', description: '按挂件用户（外部 ID）计；0 表示不限' } },
    })
    const degraded = registerSample(ctx.metrics, {
      name: 'parley_rate_limit_degraded',
      help: '1 while Redis is unreachable and limits are counted per instance',
      type: 'gauge',
    })
    const fallbacks = registerSample(ctx.metrics, {
      name: 'parley_rate_limit_fallbacks_total',
      help: 'Limit checks counted in this instance because Redis was unreachable',
      type: 'counter',
    })
    const refusals = registerSample(ctx.metrics, {
      name: 'parley_rate_limit_refusals_total',
      help: 'Calls refused by a limit, by kind (guest, user, token, widget, channel)',
      type: 'counter',
    })

    const { url, prefix } = ctx.config.redis
    const counter: WindowCounter = url
      ? new SharedCounter({ url, prefix, log: ctx.log, degraded, fallbacks })
      : new LocalCounter()
    const rates = {
      guest: () => ctx.settings.get('guest_rpm'),
      user: () => ctx.settings.get('user_rpm'),
      widget: () => widgetRpm.get(),
    }
    ctx.limits.register('rpm', new RpmPolicy(counter, rates, refusals))
    ctx.onStart(() => counter.start())
    ctx.onStop(() => counter.close())
  },
})
