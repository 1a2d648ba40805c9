import type { ProviderCall } from '@parley/core'
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import type { CozeFailure } from './errors.js'
import type { CozeMessage, InlineImage } from './messages.js'

export const CHAT_PATH = '/v3/chat'
export const UPLOAD_PATH = '/v1/files/upload'

/** The largest error body read to explain a refusal. */
const ERROR_BODY_LIMIT = 64 * 1024

export interface ChatBody {
  readonly bot_id: string
  readonly user_id: string
  readonly stream: true
  readonly additional_messages: readonly CozeMessage[]
}

export type Opened =
  | { readonly ok: true; readonly body: AsyncIterable<Uint8Array> }
  | { readonly ok: false; readonly failure: CozeFailure }

/**
 * `POST /v3/chat`, always streamed: a non-streamed client call is answered from the same
 * events, which spares polling `/v3/chat/retrieve`. Coze reports most refusals with HTTP 200
 * and a JSON `{code, msg}` body instead of the event stream, so the content type decides.
 */
export async function startChat(call: ProviderCall, token: string, body: ChatBody): Promise<Opened> {
  const response = await request(`${call.target.baseUrl}${CHAT_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    dispatcher: call.dispatcher,
    signal: call.signal,
    // The pipeline owns the first-byte and idle timeouts; undici's own 300 s ones would cut it short.
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  const type = String(response.headers['content-type'] ?? '')
  if (response.statusCode >= 200 && response.statusCode < 300 && !type.includes('application/json'))
    return { ok: true, body: response.body }
  return { ok: false, failure: await failureOf(response.statusCode, response.body) }
}

/** Uploads an inline image (`POST /v1/files/upload`, multipart) and answers its file id. */
export async function uploadImage(
  call: ProviderCall,
  token: string,
  image: InlineImage,
): Promise<{ ok: true; id: string } | { ok: false; failure: CozeFailure }> {
  const extension = image.mime.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin'
  const form = multipart('file', `image.${extension}`, image)
  const response = await request(`${call.target.baseUrl}${UPLOAD_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': form.type },
    body: form.body,
    dispatcher: call.dispatcher,
    signal: call.signal,
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  const text = await readText(response.body)
  const parsed = parseObject(text) as { code?: unknown; msg?: unknown; data?: { id?: unknown } } | undefined
  if (response.statusCode < 300 && parsed?.code === 0 && typeof parsed.data?.id === 'string')
    return { ok: true, id: parsed.data.id }
  return { ok: false, failure: failureFromJson(response.statusCode, parsed) }
}

/**
 * A one-file multipart body, built by hand: the dispatcher comes from the core's copy of undici,
 * which does not recognise a FormData made by another copy.
 */
function multipart(field: string, filename: string, image: InlineImage): { type: string; body: Buffer } {
  const boundary = `----parley-coze-${randomBytes(12).toString('hex')}`
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${image.mime}\r\n\r\n`
  return {
    type: `multipart/form-data; boundary=${boundary}`,
    body: Buffer.concat([Buffer.from(head), image.bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]),
  }
}

async function failureOf(status: number, body: AsyncIterable<Uint8Array>): Promise<CozeFailure> {
  return failureFromJson(status, parseObject(await readText(body)))
}

function failureFromJson(status: number, parsed: Record<string, unknown> | undefined): CozeFailure {
  const code = typeof parsed?.code === 'number' && parsed.code !== 0 ? parsed.code : undefined
  const msg = typeof parsed?.msg === 'string' && parsed.msg !== '' ? parsed.msg : undefined
  // A 2xx without the stream and without a code is not a refusal Coze explained: count it as Coze's trouble.
  const effective = status < 300 && code === undefined ? 502 : status
  return {
    ...(effective >= 300 ? { status: effective } : {}),
    ...(code === undefined ? {} : { code }),
    ...(msg ? { msg } : {}),
  }
}

async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  let text = ''
  try {
    for await (const chunk of body) {
      text += Buffer.from(chunk).toString('utf8')
      if (text.length > ERROR_BODY_LIMIT) break
    }
  } catch {
    // What arrived explains enough.
  }
  return text
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
