import type { EntityManager } from '@mikro-orm/core'
import type { Logger } from '../logger.js'
import type { ChannelStore } from './channels.js'
import { ChannelKey } from './entities.js'

/** The `disabled_reason` of a key the gateway disabled after repeated auth refusals. */
export const AUTH_DISABLED = 'auth'

/**
 * new-api's auto-disable: a channel key the upstream keeps refusing (401/403, the
 * `key_auto_disable_after` setting counts them, per instance) is disabled with a reason the
 * console shows, and leaves routing at the next snapshot. A passing channel test of the key
 * enables it again; an admin enabling it by hand clears the reason too (channels.ts).
 */
export class KeyAutoDisable {
  /** Told of keys enabled again (the data plane forgets their failures). */
  onReenabled: ((channelId: number, keyIds: readonly number[]) => void) | undefined

  constructor(
    private readonly em: () => EntityManager,
    private readonly changed: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Disables the key if it is still enabled; true when this call did it. */
  async disable(channelId: number, keyId: number, failures: number): Promise<boolean> {
    const updated = await this.em().nativeUpdate(
      ChannelKey,
      { id: keyId, channelId, enabled: true },
      { enabled: false, disabledReason: AUTH_DISABLED, disabledAt: new Date() },
    )
    if (updated === 0) return false
    this.log.warn(
      { channel_id: channelId, key_id: keyId, failures },
      'channel key disabled: the upstream refused it repeatedly (a passing channel test enables it again)',
    )
    await this.changed()
    return true
  }

  /** Enables keys the gateway had disabled, after a channel test passed with them. */
  async reenable(channelId: number, keyIds: readonly number[]): Promise<number> {
    if (keyIds.length === 0) return 0
    const updated = await this.em().nativeUpdate(
      ChannelKey,
      { id: { $in: [...keyIds] }, channelId, disabledReason: AUTH_DISABLED },
      { enabled: true, disabledReason: null, disabledAt: null },
    )
    if (updated > 0) {
      this.log.info({ channel_id: channelId, key_ids: keyIds }, 'channel key enabled again: its channel test passed')
      this.onReenabled?.(channelId, keyIds)
      await this.changed()
    }
    return updated
  }

  /** The keys a channel test tries: the enabled ones and those the gateway disabled, opened. */
  async testable(
    em: EntityManager,
    store: ChannelStore,
    channelId: number,
  ): Promise<Array<{ id: number; key: string }>> {
    const rows = await em.find(
      ChannelKey,
      { channelId, $or: [{ enabled: true }, { disabledReason: AUTH_DISABLED }] },
      { orderBy: { id: 'asc' } },
    )
    return rows.map(row => store.openKey(row))
  }
}
