import type { EntityManager, SecretBox } from '@parley/core'
import { secretContext } from './clients.js'
import { WidgetClient } from './entities.js'

/**
 * Seals every client secret (and a previous one still in its overlap) with the current
 * ENCRYPTION_KEY, for `parley re-encrypt-widget-clients` after a key rotation. A secret that
 * opens with no configured key is counted and kept: rotate that client's secret.
 */
export async function reencryptSecrets(
  em: EntityManager,
  box: SecretBox,
): Promise<{ resealed: number; unreadable: number }> {
  let resealed = 0
  let unreadable = 0
  for (const row of await em.find(WidgetClient, {}, { orderBy: { id: 'asc' } })) {
    const context = secretContext(row.clientId)
    for (const field of ['secretSealed', 'previousSecretSealed'] as const) {
      const sealed = row[field]
      if (!sealed || box.isCurrent(sealed)) continue
      try {
        row[field] = box.reseal(sealed, context)
        resealed++
      } catch {
        unreadable++
      }
    }
  }
  await em.flush()
  return { resealed, unreadable }
}
