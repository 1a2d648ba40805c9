/**
 * Request and reply plumbing for the mock upstream: what it checks in a request (as the real API
 * does), what it records from it (images, words for the default usage), and how it answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { defaultError, splitPieces, type WireAnswer } from './mock-upstream-wire.js'
import type { MockAnswer, MockFailure, MockRequest } from './mock-upstream.js'

const TEXT_KEYS = new Set(['content', 'text', 'input', 'instructions'])

export function resolveAnswer(behaviour: MockAnswer, model: string, promptWords: number): WireAnswer {
  const textPieces = splitPieces(behaviour.text ?? 'ok')
  const reasoningPieces = behaviour.reasoning ? splitPieces(behaviour.reasoning) : []
  const given = behaviour.usage
  const usage =
    given === false
      ? undefined
      : given
        ? { prompt: given.prompt, completion: given.completion, reasoning: given.reasoning ?? 0 }
        : {
            prompt: Math.max(1, promptWords),
            completion: textPieces.length + reasoningPieces.length,
            reasoning: reasoningPieces.length,
          }
  return { model, textPieces, reasoningPieces, usage }
}

/** The checks the real API makes that a gateway could plausibly get wrong. */
export function validate(path: string, body: Record<string, unknown>): MockFailure | undefined {
  if (typeof body.model !== 'string' || body.model === '') {
    return { status: 400, message: 'You must provide a model parameter.', param: 'model' }
  }
  if (path === '/v1/chat/completions') {
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return {
        status: 400,
        message: "Invalid 'messages': empty array. Expected an array with minimum length 1.",
        param: 'messages',
        code: 'empty_array',
      }
    }
    if (body.stream_options !== undefined && body.stream_options !== null && body.stream !== true) {
      return {
        status: 400,
        message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        param: 'stream_options',
        code: null,
      }
    }
  }
  return undefined
}

/** Collects image parts (chat `image_url`, Responses `input_image`) and counts the words of text parts. */
export function inspect(value: unknown, found: { images: string[]; words: number }, key: string): void {
  if (typeof value === 'string') {
    if (TEXT_KEYS.has(key)) found.words += splitPieces(value).length
  } else if (Array.isArray(value)) {
    for (const item of value) inspect(item, found, key)
  } else if (typeof value === 'object' && value !== null) {
    const part = value as Record<string, unknown>
    const image =
      part.type === 'image_url'
        ? (part.image_url as { url?: unknown } | undefined)?.url
        : part.type === 'input_image'
          ? part.image_url
          : undefined
    if (typeof image === 'string') found.images.push(image)
    for (const [name, child] of Object.entries(part)) if (name !== 'image_url') inspect(child, found, name)
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export function parseObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Resolves false when the client is gone; waiting for the flush keeps a later drop from eating the frame. */
export function write(res: ServerResponse, data: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false)
  return new Promise(resolve => res.write(data, error => resolve(!error)))
}

export function sendJson(res: ServerResponse, record: MockRequest, status: number, payload: unknown): void {
  const text = JSON.stringify(payload)
  record.status = status
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

export function sendError(
  res: ServerResponse,
  record: MockRequest,
  status: number,
  fields: Partial<MockFailure> = {},
): void {
  const base = defaultError(status)
  const error = {
    message: fields.message ?? base.message,
    type: fields.type ?? base.type,
    param: fields.param !== undefined ? fields.param : base.param,
    code: fields.code !== undefined ? fields.code : base.code,
  }
  sendJson(res, record, status, { error })
}
