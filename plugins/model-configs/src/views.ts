import { Type, type InferEntity, type PersonalParameters, type Static } from '@parley/core'
import type { ModelConfig } from './entities.js'

export type ModelConfigRow = InferEntity<typeof ModelConfig>

/** Request defaults, each bounded as OpenAI bounds it; the client's own values win at call time. */
export const Parameters = Type.Object(
  {
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    system_prompt: Type.Optional(Type.String({ maxLength: 20_000 })),
  },
  { additionalProperties: false },
)

export const ModelConfigView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  base_url: Type.String(),
  model: Type.String(),
  /** Never the key: a masked hint such as `sk-…abcd`. */
  key_hint: Type.String(),
  parameters: Parameters,
  created_at: Type.String(),
  updated_at: Type.String(),
})

export type ModelConfigWire = Static<typeof ModelConfigView>

/** What every answer says about a config: never the key, only its hint. */
export function toWire(row: ModelConfigRow): ModelConfigWire {
  return {
    id: row.id,
    name: row.name,
    base_url: row.baseUrl,
    model: row.model,
    key_hint: row.keyHint,
    parameters: parametersOf(row),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}

export function parametersOf(row: ModelConfigRow): PersonalParameters {
  try {
    return JSON.parse(row.parameters) as PersonalParameters
  } catch {
    return {}
  }
}
