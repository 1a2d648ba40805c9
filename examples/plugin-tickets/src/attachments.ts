import { randomBytes } from 'node:crypto'
import { Type, type EntityManager, type ObjectStorage, type Static } from '@parley/core'
import { TicketAttachment } from './entities.js'
import { errors } from './errors.js'
import type { TicketOptions } from './options.js'

/** An attachment as the client sends it: the bytes in base64 inside the JSON body. */
export const AttachmentInput = Type.Object(
  {
    filename: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^/\\\\\\u0000-\\u001f]+$' }),
    content_type: Type.String({ minLength: 3, maxLength: 100 }),
    data: Type.String({ description: 'The file, base64' }),
  },
  { additionalProperties: false },
)
export type AttachmentInput = Static<typeof AttachmentInput>

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

interface Checked {
  readonly input: AttachmentInput
  readonly bytes: Buffer
}

/** Every attachment checked before anything is stored: a refusal changes nothing. */
export function checkAttachments(inputs: readonly AttachmentInput[], options: TicketOptions): Checked[] {
  if (inputs.length > options.max_attachments)
    throw errors.PARLEY_ERR_TICKETS_ATTACHMENT_COUNT({ max: options.max_attachments })
  return inputs.map(input => {
    const name = input.filename
    if (!options.attachment_types.includes(input.content_type))
      throw errors.PARLEY_ERR_TICKETS_ATTACHMENT_TYPE({ name, allowed: options.attachment_types.join(', ') })
    if (input.data.length % 4 !== 0 || !BASE64.test(input.data))
      throw errors.PARLEY_ERR_TICKETS_ATTACHMENT_DATA({ name })
    const bytes = Buffer.from(input.data, 'base64')
    if (bytes.length > options.max_attachment_bytes)
      throw errors.PARLEY_ERR_TICKETS_ATTACHMENT_SIZE({ name, max: options.max_attachment_bytes })
    return { input, bytes }
  })
}

/**
 * Writes the objects, then their rows (flushed by the caller with the message). When a write
 * fails, the objects already written are deleted again: the caller's transaction drops the rows.
 */
export async function storeAttachments(
  storage: ObjectStorage,
  em: EntityManager,
  ticketId: number,
  messageId: number,
  checked: readonly Checked[],
): Promise<void> {
  const written: string[] = []
  for (const { input, bytes } of checked) {
    const storageKey = `tickets/${ticketId}/${randomBytes(12).toString('hex')}`
    try {
      await storage.put(storageKey, bytes, { contentType: input.content_type })
    } catch (error) {
      await Promise.allSettled(written.map(key => storage.delete(key)))
      throw error
    }
    written.push(storageKey)
    em.create(TicketAttachment, {
      ticketId,
      messageId,
      storageKey,
      filename: input.filename,
      contentType: input.content_type,
      size: bytes.length,
    })
  }
}
