import { Type } from '@parley/core'
import type { Paged, StoredConversation, StoredMessage } from './service.js'

/** What the wire says of a conversation (snake_case, ISO dates). */
export function conversationJson(conversation: StoredConversation) {
  return {
    id: conversation.id,
    title: conversation.title,
    title_source: conversation.titleSource,
    model: conversation.model,
    model_config_id: conversation.modelConfigId,
    archived: conversation.archived,
    created_at: conversation.createdAt.toISOString(),
    updated_at: conversation.updatedAt.toISOString(),
  }
}

export function messageJson(message: StoredMessage) {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    status: message.status,
    created_at: message.createdAt.toISOString(),
    usage: message.usage
      ? {
          prompt_tokens: message.usage.promptTokens,
          completion_tokens: message.usage.completionTokens,
          total_tokens: message.usage.promptTokens + message.usage.completionTokens,
        }
      : null,
    error_type: message.errorType,
  }
}

export function pageJson<T, J>(page: Paged<T>, item: (value: T) => J) {
  return { items: page.items.map(item), total: page.total, page: page.page, page_size: page.pageSize }
}

const Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })
export const IdParams = Type.Object({ id: Id })
export const MessageParams = Type.Object({ id: Id, message_id: Id })

export const PageQuery = {
  page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
  page_size: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
}
export const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  /** `false` (default): the active list; `true`: the archived ones. */
  archived: Type.Boolean({ default: false }),
  ...PageQuery,
})
export const MessagesQuery = Type.Object({
  ...PageQuery,
  page_size: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  /** `urls` (default): stored images as short-lived URLs; `refs`: as stored, `parley-object://<key>` (the portal asks for read URLs itself). */
  images: Type.Union([Type.Literal('urls'), Type.Literal('refs')], { default: 'urls' }),
})

export const Title = Type.String({ minLength: 1, maxLength: 255 })
export const CreateBody = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 191 })),
    model_config_id: Type.Optional(Id),
    title: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
)
export const UpdateBody = Type.Object(
  { title: Type.Optional(Title), archived: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
)
export const DeleteBody = Type.Object(
  { ids: Type.Array(Id, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false },
)

/** A content part as the portal sends it: text, or an image by reference (or an https/data URL). */
const Part = Type.Union([
  Type.Object(
    { type: Type.Literal('text'), text: Type.String({ maxLength: 200_000 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('image_url'),
      image_url: Type.Object(
        {
          url: Type.String({ minLength: 1, maxLength: 8_000_000, pattern: '^(parley-object://|https://|data:image/)' }),
          detail: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('low'), Type.Literal('high')])),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
])
export const Content = Type.Union([
  Type.String({ minLength: 1, maxLength: 200_000 }),
  Type.Array(Part, { minItems: 1, maxItems: 20 }),
])
export const SendBody = Type.Object(
  { content: Content, stream: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)
export const RepeatBody = Type.Object({ stream: Type.Optional(Type.Boolean()) }, { additionalProperties: false })
export const ExportQuery = Type.Object({
  format: Type.Union([Type.Literal('json'), Type.Literal('markdown')], { default: 'json' }),
})
