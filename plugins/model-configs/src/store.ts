import { randomUUID } from 'node:crypto'
import {
  checkBaseUrl,
  maskSecret,
  ParleyError,
  type AddressPolicy,
  type EntityManager,
  type PersonalParameters,
  type PersonalUpstream,
  type SecretBox,
} from '@parley/core'
import type { IdentityGroups } from '@parley/identity'
import { ModelConfig } from './entities.js'
import { modelConfigErrors } from './errors.js'
import { parametersOf, type ModelConfigRow } from './views.js'

export interface ModelConfigInput {
  readonly name: string
  readonly base_url: string
  readonly model: string
  readonly api_key: string
  readonly parameters?: PersonalParameters
}

export interface Quota {
  readonly limit: number
  readonly used: number
}

/**
 * Personal model configs, always through their owner: every query filters by the user id, so
 * another user's id reads as "none" (404) and changes nothing. The only place that seals and
 * opens their keys.
 */
export class ModelConfigStore {
  constructor(
    private readonly em: () => EntityManager,
    private readonly box: SecretBox,
    private readonly policy: () => AddressPolicy,
    private readonly groups: IdentityGroups,
  ) {}

  async list(userId: number, page: number, pageSize: number): Promise<{ rows: ModelConfigRow[]; total: number }> {
    const [rows, total] = await this.em().findAndCount(
      ModelConfig,
      { userId },
      { orderBy: { id: 'desc' }, limit: pageSize, offset: (page - 1) * pageSize },
    )
    return { rows, total }
  }

  /** The group's `model_config_limit` (identity) against the configs the user has. */
  async quota(userId: number, group: string): Promise<Quota> {
    const [limit, used] = await Promise.all([
      this.groups.modelConfigLimit(group),
      this.em().count(ModelConfig, { userId }),
    ])
    return { limit, used }
  }

  async create(userId: number, group: string, input: ModelConfigInput): Promise<ModelConfigRow> {
    const baseUrl = await this.#checkedUrl(input.base_url)
    const { limit, used } = await this.quota(userId, group)
    if (used >= limit) throw modelConfigErrors.PARLEY_ERR_MODEL_CONFIG_QUOTA({ limit, used })
    const em = this.em()
    const uid = randomUUID()
    const row = em.create(ModelConfig, {
      uid,
      userId,
      name: input.name,
      baseUrl,
      model: input.model,
      sealedKey: this.box.seal(input.api_key, keyContext(uid)),
      keyHint: maskSecret(input.api_key),
      parameters: JSON.stringify(input.parameters ?? {}),
    })
    await em.flush()
    return row
  }

  async update(userId: number, id: number, input: Partial<ModelConfigInput>): Promise<ModelConfigRow> {
    const em = this.em()
    const row = await em.findOne(ModelConfig, { id, userId })
    if (!row) throw modelConfigErrors.PARLEY_ERR_MODEL_CONFIG_NOT_FOUND({ id })
    // Checked before anything changes: a refused URL leaves the row as it was.
    const baseUrl = input.base_url === undefined ? undefined : await this.#checkedUrl(input.base_url)
    if (input.name !== undefined) row.name = input.name
    if (baseUrl !== undefined) row.baseUrl = baseUrl
    if (input.model !== undefined) row.model = input.model
    if (input.parameters !== undefined) row.parameters = JSON.stringify(input.parameters)
    if (input.api_key !== undefined) {
      row.sealedKey = this.box.seal(input.api_key, keyContext(row.uid))
      row.keyHint = maskSecret(input.api_key)
    }
    row.updatedAt = new Date()
    await em.flush()
    return row
  }

  /** Deletes those of `ids` the user owns; the others are not theirs and stay. */
  async delete(userId: number, ids: readonly number[]): Promise<number> {
    return this.em().nativeDelete(ModelConfig, { id: { $in: [...ids] }, userId })
  }

  async find(userId: number, id: number): Promise<ModelConfigRow | undefined> {
    return (await this.em().findOne(ModelConfig, { id, userId })) ?? undefined
  }

  /** What a call needs, the key opened for it; undefined when the config is not the user's. */
  async upstreamOf(userId: number, id: number): Promise<PersonalUpstream | undefined> {
    const row = await this.find(userId, id)
    return row ? this.upstream(row) : undefined
  }

  upstream(row: ModelConfigRow): PersonalUpstream {
    let apiKey: string
    try {
      apiKey = this.box.open(row.sealedKey, keyContext(row.uid))
    } catch (error) {
      if (error instanceof ParleyError) throw modelConfigErrors.PARLEY_ERR_MODEL_CONFIG_KEY_UNREADABLE()
      throw error
    }
    return {
      label: `model-config:${row.id}`,
      baseUrl: row.baseUrl.replace(/\/+$/, ''),
      apiKey,
      model: row.model,
      parameters: parametersOf(row),
    }
  }

  /**
   * Seals every stored key with the current ENCRYPTION_KEY (after a rotation, before the previous
   * key leaves ENCRYPTION_KEY_PREVIOUS). A key that opens with no configured key is counted, kept.
   */
  async reencrypt(): Promise<{ resealed: number; unreadable: number }> {
    const em = this.em()
    let resealed = 0
    let unreadable = 0
    for (const row of await em.find(ModelConfig, {}, { orderBy: { id: 'asc' } })) {
      if (this.box.isCurrent(row.sealedKey)) continue
      try {
        row.sealedKey = this.box.reseal(row.sealedKey, keyContext(row.uid))
        resealed++
      } catch {
        unreadable++
      }
    }
    await em.flush()
    return { resealed, unreadable }
  }

  async #checkedUrl(raw: string): Promise<string> {
    return (await checkBaseUrl(raw, this.policy())).toString()
  }
}

/** The associated data that binds a sealed key to its row. */
function keyContext(uid: string): string {
  return `model-config-key:${uid}`
}
