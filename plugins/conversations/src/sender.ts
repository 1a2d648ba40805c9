import type {
  CallEnd,
  ChatService,
  ChatServiceCall,
  FastifyReply,
  FastifyRequest,
  Logger,
  Principal,
} from '@parley/core'
import { ParleyError } from '@parley/core'
import { conversationErrors } from './errors.js'
import type { OneAnswer } from './one-answer.js'
import type { ConversationOwner, MessageContent, MessageStatus, StoredConversation, StoredMessage } from './service.js'
import type { ConversationStore } from './store.js'
import type { Targets } from './targets.js'
import { firstWords, type Titles } from './titles.js'

/** What a send does to the conversation before the answer: a new question, the last one again, or the last one edited. */
export type Ask =
  | { readonly kind: 'send'; readonly content: MessageContent }
  | { readonly kind: 'regenerate' }
  | { readonly kind: 'edit'; readonly messageId: number; readonly content: MessageContent }

export interface Exchange {
  readonly owner: ConversationOwner
  readonly principal: Principal
  readonly conversationId: number
  /** The caller's address: the title job's call is made for them. */
  readonly ip: string
  readonly stream: boolean
  readonly ask: Ask
}

/** An exchange ready to run: the question stored, the answer stored `in_progress`, the call built. */
export interface Prepared {
  readonly conversation: StoredConversation
  readonly question: StoredMessage
  readonly answer: StoredMessage
  readonly call: ChatServiceCall
  /** Settles once the answer's row says how it ended. */
  readonly finished: Promise<MessageStatus>
  /** Ends the answer `failed` when the call was refused before it began (no `ended` then). */
  refused(error: unknown): Promise<void>
  /** Frees the conversation for the next exchange. */
  release(): void
}

/**
 * Sends a question of a stored conversation through the data plane (docs/conversations.md):
 * the question is stored first, the answer at once as `in_progress`, and the call's watch ends
 * it `completed`, `failed` or `stopped` with its text and usage. One exchange at a time per
 * conversation: on this instance by its own map, across instances by `OneAnswer`.
 */
export class Sender {
  readonly #busy = new Map<number, () => void>()

  constructor(
    private readonly store: ConversationStore,
    private readonly chat: ChatService,
    private readonly targets: Targets,
    private readonly titles: Titles,
    private readonly oneAnswer: OneAnswer,
    private readonly log: Logger,
  ) {}

  /** Answers on the request's reply (SSE when `stream`, JSON otherwise). */
  async reply(request: FastifyRequest, reply: FastifyReply, exchange: Exchange): Promise<unknown> {
    const prepared = await this.prepare(exchange)
    reply.header('x-parley-conversation-id', String(prepared.conversation.id))
    reply.header('x-parley-question-id', String(prepared.question.id))
    reply.header('x-parley-message-id', String(prepared.answer.id))
    try {
      // A stream may go on after this resolves: the watch's `ended` frees the conversation.
      return await this.chat.run(request, reply, prepared.call)
    } catch (error) {
      await prepared.refused(error)
      throw error
    }
  }

  /** Stops this instance's running exchange of a conversation; false when none runs here. */
  stop(conversationId: number): boolean {
    const stop = this.#busy.get(conversationId)
    stop?.()
    return stop !== undefined
  }

  async prepare(exchange: Exchange, stop: () => void = () => undefined): Promise<Prepared> {
    const { owner, principal, conversationId } = exchange
    const em = this.store
    const conversation = await em.find(owner, conversationId)
    if (!conversation) throw conversationErrors.PARLEY_ERR_CONVERSATION_NOT_FOUND({ id: conversationId })
    if (this.#busy.has(conversation.id)) throw conversationErrors.PARLEY_ERR_CONVERSATION_BUSY({ id: conversation.id })
    this.#busy.set(conversation.id, stop)
    let released = false
    const release = () => {
      if (released) return
      released = true
      if (this.#busy.get(conversation.id) === stop) this.#busy.delete(conversation.id)
    }
    let unclaim: (() => Promise<void>) | undefined
    try {
      unclaim = await this.oneAnswer.claim(conversation.id)
      const target = await this.targets.of(conversation, principal)
      const { history, question } = await this.#question(conversation, exchange)
      const first = !history.some(message => message.role === 'user' && message.id !== question.id)
      if (first && (conversation.titleSource === 'none' || conversation.titleSource === 'question'))
        await this.store.retitle(conversation.id, firstWords(question.content), 'question', ['none', 'question'])
      const answer = await this.store.addMessage(owner, conversation.id, {
        role: 'assistant',
        content: '',
        status: 'in_progress',
      })
      // The answer row now says the conversation is busy, to every instance.
      await unclaim()
      const text: string[] = []
      let settle!: (status: MessageStatus) => void
      const finished = new Promise<MessageStatus>(resolve => (settle = resolve))
      const end = async (status: Exclude<MessageStatus, 'in_progress'>, fields: Partial<CallEnd>) => {
        try {
          await this.store.finishMessage(answer.id, {
            status,
            content: text.join(''),
            errorType: fields.errorType ?? null,
            ...(fields.promptTokens !== undefined
              ? { usage: { promptTokens: fields.promptTokens, completionTokens: fields.completionTokens ?? 0 } }
              : {}),
          })
          if (status === 'completed' && first) await this.titles.schedule(conversation, principal, exchange.ip)
        } catch (error) {
          this.log.error({ err: error, message_id: answer.id }, 'the answer could not be stored')
        } finally {
          release()
          settle(status)
        }
      }
      const call: ChatServiceCall = {
        body: {
          model: target.model,
          messages: [...history.filter(usable).map(chatMessage), chatMessage(question)],
          stream: exchange.stream,
          ...(exchange.stream ? { stream_options: { include_usage: true } } : {}),
        },
        principal,
        endpoint: 'conversations',
        portal: true,
        ...(target.upstream ? { upstream: target.upstream } : {}),
        watch: {
          output: piece => {
            if (piece.type === 'text') text.push(piece.text)
          },
          ended: result => void end(statusOf(result), result),
        },
      }
      return {
        conversation,
        question,
        answer,
        call,
        finished,
        release,
        refused: error =>
          end('failed', { errorType: error instanceof ParleyError ? error.type : 'internal_error' }).then(
            () => undefined,
          ),
      }
    } catch (error) {
      await unclaim?.()
      release()
      throw error
    }
  }

  /** Stores the question (or finds the last one again) and answers the history before it. */
  async #question(
    conversation: StoredConversation,
    exchange: Exchange,
  ): Promise<{ history: StoredMessage[]; question: StoredMessage }> {
    const messages = await this.store.allMessages(conversation.id)
    const { ask, owner } = exchange
    if (ask.kind === 'send') {
      const question = await this.store.addMessage(owner, conversation.id, { role: 'user', content: ask.content })
      return { history: messages, question }
    }
    const last = messages.findLast(message => message.role === 'user')
    if (ask.kind === 'regenerate') {
      if (!last) throw conversationErrors.PARLEY_ERR_CONVERSATION_NOTHING_TO_REPEAT({ id: conversation.id })
      await this.store.truncate(conversation.id, last.id + 1)
      return { history: messages.filter(message => message.id < last.id), question: last }
    }
    if (!messages.some(message => message.id === ask.messageId))
      throw conversationErrors.PARLEY_ERR_CONVERSATION_MESSAGE_NOT_FOUND({ id: ask.messageId })
    if (last?.id !== ask.messageId)
      throw conversationErrors.PARLEY_ERR_CONVERSATION_NOT_LAST_QUESTION({ id: ask.messageId })
    await this.store.truncate(conversation.id, last.id)
    const question = await this.store.addMessage(owner, conversation.id, { role: 'user', content: ask.content })
    return { history: messages.filter(message => message.id < last.id), question }
  }
}

function statusOf(end: CallEnd): Exclude<MessageStatus, 'in_progress'> {
  if (end.status === 'success') return 'completed'
  return end.status === 'aborted' ? 'stopped' : 'failed'
}

/** What of the history goes upstream: questions, and answers that said something. */
function usable(message: StoredMessage): boolean {
  if (message.role !== 'assistant') return true
  return message.status !== 'in_progress' && message.status !== 'failed' && message.content !== ''
}

function chatMessage(message: StoredMessage): { role: string; content: MessageContent } {
  return { role: message.role, content: message.content }
}
