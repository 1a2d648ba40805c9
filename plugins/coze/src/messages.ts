import type { ChatContentPart, ChatMessage } from '@parley/core'

/** One entry of `additional_messages` in `POST /v3/chat`. */
export interface CozeMessage {
  readonly role: 'user' | 'assistant'
  readonly type: 'question' | 'answer'
  readonly content: string
  readonly content_type: 'text' | 'object_string'
}

/** An item of a multimodal (`object_string`) message. */
type ObjectItem =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image'; readonly file_url: string }
  | { readonly type: 'image'; readonly file_id: string }

/** An image sent inline as a data URL: Coze wants a public URL or a file it holds, so it is uploaded. */
export interface InlineImage {
  readonly mime: string
  readonly bytes: Buffer
}

/** Uploads an inline image to Coze and answers the file id. */
export type Uploader = (image: InlineImage) => Promise<string>

/** The conversation cannot be put in Coze's form; the message says why, for the client. */
export class MessageError extends Error {}

const DATA_URL = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)((?:;[a-z0-9.+-]+=[^;,]*)*);base64,/i

/**
 * The whole conversation as Coze `additional_messages`, in order, assistant turns included:
 * user turns as questions (text, or `object_string` when they carry images), assistant turns as
 * answers (their text; reasoning and tool calls are not replayed). Coze has no system role:
 * system and developer messages become user messages where they stood, or are dropped. Tool
 * results have no Coze form and are left out, as are messages left without content.
 */
export async function toCozeMessages(
  messages: readonly ChatMessage[],
  systemMessages: 'user' | 'drop',
  upload: Uploader,
): Promise<CozeMessage[]> {
  const uploads = new Map<string, Promise<string>>()
  const uploadOnce = (url: string): Promise<string> => {
    let id = uploads.get(url)
    if (!id) {
      id = upload(inlineImage(url))
      uploads.set(url, id)
    }
    return id
  }
  const out: CozeMessage[] = []
  for (const message of messages) {
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content)
        if (systemMessages === 'user' && text !== '')
          out.push({ role: 'user', type: 'question', content: text, content_type: 'text' })
        break
      }
      case 'assistant': {
        const text = textOf(message.content)
        if (text !== '') out.push({ role: 'assistant', type: 'answer', content: text, content_type: 'text' })
        break
      }
      case 'user': {
        const next = await userMessage(message.content, uploadOnce)
        if (next) out.push(next)
        break
      }
      case 'tool':
        break
    }
  }
  if (!out.some(message => message.role === 'user'))
    throw new MessageError('The conversation has no user message to send to the Coze bot')
  return out
}

async function userMessage(
  content: ChatMessage['content'],
  upload: (url: string) => Promise<string>,
): Promise<CozeMessage | undefined> {
  if (!Array.isArray(content)) {
    const text = textOf(content)
    return text === '' ? undefined : { role: 'user', type: 'question', content: text, content_type: 'text' }
  }
  const parts = content as readonly ChatContentPart[]
  if (!parts.some(part => part.type === 'image_url')) {
    const text = textOf(parts)
    return text === '' ? undefined : { role: 'user', type: 'question', content: text, content_type: 'text' }
  }
  const items: ObjectItem[] = []
  for (const part of parts) {
    if (part.type === 'text') {
      if (part.text !== '') items.push({ type: 'text', text: part.text })
      continue
    }
    const url = part.image_url.url
    if (/^https?:\/\//i.test(url)) items.push({ type: 'image', file_url: url })
    else if (/^data:/i.test(url)) items.push({ type: 'image', file_id: await upload(url) })
    else throw new MessageError('An image must be an http(s) URL or a base64 data URL')
  }
  return { role: 'user', type: 'question', content: JSON.stringify(items), content_type: 'object_string' }
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return (content as readonly ChatContentPart[])
    .filter((part): part is Extract<ChatContentPart, { type: 'text' }> => part.type === 'text')
    .map(part => part.text)
    .join('\n')
}

function inlineImage(url: string): InlineImage {
  const match = DATA_URL.exec(url)
  const mime = match?.[1]?.toLowerCase()
  if (!match || !mime?.startsWith('image/'))
    throw new MessageError('An inline image must be a base64 data URL of an image (data:image/…;base64,…)')
  const bytes = Buffer.from(url.slice(match[0].length), 'base64')
  if (bytes.length === 0) throw new MessageError('An inline image is empty')
  return { mime, bytes }
}
