/**
 * Token estimates for calls whose upstream reported no usage; such rows are stored with
 * `estimated = true` (SPEC §9).
 *
 * Counting uses OpenAI's own BPE encodings (o200k_base for current models, cl100k_base for
 * older ones) through `gpt-tokenizer`: pure JS, synchronous, exact for OpenAI models and a
 * close estimate for other families (DeepSeek, Qwen, ...).
 */

import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base'

export type Encoding = 'o200k_base' | 'cl100k_base'

/** OpenAI's chat format adds these around every message, and primes the reply with 3 more. */
const TOKENS_PER_MESSAGE = 3
const TOKENS_PER_NAME = 1
const REPLY_PRIMING = 3
/** An image part: 85 at `detail: low`; otherwise OpenAI's price for a 1024×1024 image (4 tiles). */
const IMAGE_LOW_DETAIL = 85
const IMAGE_DEFAULT = 765

/** A chat message as clients send it; only what costs prompt tokens is read. */
export interface PromptMessage {
  readonly role: string
  readonly name?: string | undefined
  readonly content?: string | readonly PromptContentPart[] | null | undefined
  readonly tool_calls?: ReadonlyArray<{ readonly function?: { readonly name?: string; readonly arguments?: string } }> | undefined
}

export type PromptContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string; readonly detail?: string } }
  | { readonly type: string; readonly [key: string]: unknown }

/** The encoding a model's own tokenizer uses; models of other vendors get the newest one. */
export function encodingFor(model: string): Encoding {
  return /^(gpt-4(?!o|\.[1-9])|gpt-3\.5|text-embedding)/i.test(model) ? 'cl100k_base' : 'o200k_base'
}

/** Tokens in `text` under `model`'s encoding. */
export function estimateTokens(text: string, model: string): number {
  return countTokens(text, encodingFor(model))
}

/** Prompt tokens of a chat request, with OpenAI's per-message and reply-priming overhead. */
export function estimatePromptTokens(messages: readonly PromptMessage[], model: string): number {
  let total = REPLY_PRIMING
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + estimateTokens(message.role, model)
    if (message.name) total += TOKENS_PER_NAME + estimateTokens(message.name, model)
    if (typeof message.content === 'string') total += estimateTokens(message.content, model)
    else for (const part of message.content ?? []) total += partTokens(part, model)
    for (const call of message.tool_calls ?? []) {
      total += estimateTokens(call.function?.name ?? '', model) + estimateTokens(call.function?.arguments ?? '', model)
    }
  }
  return total
}

function partTokens(part: PromptContentPart, model: string): number {
  if (part.type === 'text' && typeof part.text === 'string') return estimateTokens(part.text, model)
  if (part.type === 'image_url') {
    const detail = (part.image_url as { detail?: unknown } | undefined)?.detail
    return detail === 'low' ? IMAGE_LOW_DETAIL : IMAGE_DEFAULT
  }
  return 0
}

/** Exact BPE count in the encoding `encodingFor` chose. */
function countTokens(text: string, encoding: Encoding): number {
  if (text.length === 0) return 0
  return encoding === 'o200k_base' ? countO200k(text) : countCl100k(text)
}
