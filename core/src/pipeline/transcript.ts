/**
 * What a translating provider's normalized `ChatEvent`s add up to: the whole answer
 * (`Transcript`, for a non-streamed answer), or just what the usage row needs of a streamed one
 * (`OutputTally`), and the `StreamWriter` each wire format implements (formats/).
 */
import { randomBytes } from 'node:crypto'
import { TextCollector, type TextSample } from '../usage/tokens.js'
import type { ChatEvent } from './provider.js'
import type { TokenUsage } from './stream-tap.js'

type Json = Record<string, unknown>
type FinishReason = Extract<ChatEvent, { type: 'done' }>['finishReason']

export interface ToolCall {
  id: string
  name: string
  arguments: string
}

/** Everything the events said, for a non-streamed answer, estimation and the usage row. */
export class Transcript {
  text = ''
  reasoning = ''
  readonly toolCalls = new Map<number, ToolCall>()
  finishReason: FinishReason | undefined
  usage: TokenUsage | undefined

  add(event: ChatEvent): void {
    switch (event.type) {
      case 'text':
        this.text += event.delta
        break
      case 'reasoning':
        this.reasoning += event.delta
        break
      case 'tool_call': {
        const call = this.toolCalls.get(event.index) ?? {
          id: event.id ?? `call_${randomId()}`,
          name: '',
          arguments: '',
        }
        if (event.name) call.name = event.name
        call.arguments += event.argumentsDelta
        this.toolCalls.set(event.index, call)
        break
      }
      case 'usage':
        this.usage = { promptTokens: event.promptTokens, completionTokens: event.completionTokens }
        break
      case 'done':
        this.finishReason = event.finishReason
        break
      case 'error':
        break
    }
  }

  /** The output as one string, for the tokenizer. */
  outputText(): string {
    let text = this.reasoning + this.text
    for (const call of this.toolCalls.values()) text += call.name + call.arguments
    return text
  }
}

/**
 * What a streamed answer's events say for its usage row, in bounded memory: the usage, and the
 * output text as far as an estimate reads it (`TextCollector`). A stream is written out as it
 * comes, so, unlike a `Transcript`, nothing keeps the whole answer.
 */
export class OutputTally {
  usage: TokenUsage | undefined
  readonly #text = new TextCollector()

  add(event: ChatEvent): void {
    switch (event.type) {
      case 'text':
      case 'reasoning':
        this.#text.add(event.delta)
        break
      case 'tool_call':
        if (event.name) this.#text.add(event.name)
        this.#text.add(event.argumentsDelta)
        break
      case 'usage':
        this.usage = { promptTokens: event.promptTokens, completionTokens: event.completionTokens }
        break
      case 'done':
      case 'error':
        break
    }
  }

  outputText(): TextSample {
    return this.#text.sample()
  }
}

/** Writes one streamed answer; each method returns the SSE text to send (possibly empty). */
export interface StreamWriter {
  event(event: ChatEvent): string
  /** The normal end, with the usage the row will carry. */
  end(usage: TokenUsage): string
  /** The answer broke off: an error event the SDK raises as an APIError (`code` defaults to `type`). */
  fail(type: string, message: string, code?: string): string
}

export interface AnswerMeta {
  /** The model name the client asked for. */
  readonly model: string
  readonly createdAt: number
}

/** One SSE frame of JSON data. */
export function frame(data: Json): string {
  return `data: ${JSON.stringify(data)}\n\n`
}

export function randomId(): string {
  return randomBytes(12).toString('hex')
}
