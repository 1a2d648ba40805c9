import { defineEntity } from '@mikro-orm/core'

/** Runtime settings an admin changed; absent keys use their config/env default. */
export const SystemConfig = defineEntity({
  name: 'SystemConfig',
  tableName: 'system_config',
  properties: p => ({
    /** `guest_rpm`, or `<plugin-id>.<key>` for plugin settings. */
    key: p.string().length(191).primary(),
    /** JSON text, so one column holds any setting's type and both dialects agree. */
    value: p.text(),
    /** Shown in the console; also tells an operator which instance's change won. */
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  }),
})
