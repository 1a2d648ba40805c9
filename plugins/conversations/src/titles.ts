import { randomBytes, randomUUID } from 'node:crypto'
import type { ChatService, FastifyRequest, Logger, PluginJobs, Principal } from '@parley/core'
import type { MessageContent, StoredConversation, StoredMessage } from './service.js'
import type { ConversationStore } from './store.js'
import type { Targets } from './targets.js'

export const TITLE_JOB = 'conversations.title'
/** What a title may be at most; longer answers are cut at a word. */
const TITLE_CHARS = 60
/** How much of the exchange the title model reads. */
const EXCERPT_CHARS = 1500

const PROMPT =
  'Write a title of at most six words for the conversation below, in the language of the ' +
  "user's question. Answer with the title only: no quotes, no final punctuation, no explanation."

interface TitleRun {
  readonly conversationId: number
  readonly principal: Principal
  readonly ip: string
}

/** The text of a message's content (images left out). */
export function textOf(content: MessageContent): string {
  if (typeof content === 'string') return content
  return content
    .map(part => (part.type === 'text' ? part.text : ''))
    .filter(Boolean)
    .join(' ')
}

/** The question's first words: the title until the title job has a better one, and if it fails. */
export function firstWords(content: MessageContent): string {
  const text = textOf(content).replace(/\s+/g, ' ').trim()
  if (text === '') return typeof content === 'string' ? '…' : '🖼'
  return cut(text, 40)
}

function cut(text: string, max: number): string {
  const chars = [...text]
  if (chars.length <= max) return text
  const head = chars.slice(0, max).join('')
  const space = head.lastIndexOf(' ')
  return `${(space > max / 2 ? head.slice(0, space) : head).trimEnd()}…`
}

/** Cleans what a model said into a title: one line, no quotes, no trailing period. */
export function cleanTitle(said: string): string {
  const line =
    said
      .replace(/<think>[\s\S]*?<\/think>/g, '')
      .split('\n')
      .map(part => part.trim())
      .find(part => part !== '') ?? ''
  const bare = line
    .replace(/^(title|标题)\s*[:：]\s*/i, '')
    .replace(/^["'“”‘’「」《》*#\s]+|["'“”‘’「」《》*\s]+$/g, '')
    .replace(/[.。!！]+$/, '')
    .trim()
  return cut(bare, TITLE_CHARS)
}

/**
 * The title job (`conversations.title`): after a conversation's first exchange it asks a model
 * (the `conversations.title_model` setting, else the conversation's own) through the data plane
 * for a short title, and stores it unless the owner renamed the conversation meanwhile. Runs on
 * BullMQ with Redis, in-process otherwise; one queued run per conversation (`jobId`).
 */
export class Titles {
  constructor(
    private readonly jobs: PluginJobs,
    private readonly store: ConversationStore,
    private readonly chat: () => ChatService,
    private readonly targets: Targets,
    private readonly titleModel: () => string,
    private readonly log: Logger,
  ) {}

  define(): void {
    this.jobs.define<TitleRun>({
      name: TITLE_JOB,
      attempts: 3,
      backoffMs: 2000,
      concurrency: 4,
      handler: async run => {
        const conversation = await this.store.byId(run.data.conversationId)
        // Gone, renamed by its owner, or titled already: nothing to do.
        if (!conversation || conversation.titleSource === 'user' || conversation.titleSource === 'generated') return
        const title = await this.generate(conversation, run.data.principal, run.data.ip, run.log)
        if (title === '') throw new Error('the title model answered no title')
        await this.store.retitle(conversation.id, title, 'generated', ['none', 'question'])
      },
    })
  }

  async schedule(conversation: StoredConversation, principal: Principal, ip = '127.0.0.1'): Promise<void> {
    await this.jobs.enqueue<TitleRun>(
      TITLE_JOB,
      { conversationId: conversation.id, principal, ip },
      { jobId: `conversation-title-${conversation.id}` },
    )
  }

  /** Asks the title model; '' when the exchange has no text to name. Throws when the call fails. */
  async generate(conversation: StoredConversation, principal: Principal, ip: string, log: Logger): Promise<string> {
    const messages = await this.store.allMessages(conversation.id)
    const question = messages.find(message => message.role === 'user')
    const answer = messages.find(message => message.role === 'assistant' && message.status === 'completed')
    if (!question) return ''
    const excerpt = (message: StoredMessage | undefined) =>
      [...textOf(message?.content ?? '')].slice(0, EXCERPT_CHARS).join('')
    const target = await this.targets.of(conversation, principal, this.titleModel() || undefined)
    const pieces: string[] = []
    const stop = new AbortController()
    await this.chat().detached(backgroundRequest(log, ip), {
      body: {
        model: target.model,
        stream: false,
        max_tokens: 40,
        messages: [
          { role: 'system', content: PROMPT },
          { role: 'user', content: `Question:\n${excerpt(question)}\n\nAnswer:\n${excerpt(answer)}` },
        ],
      },
      principal,
      endpoint: 'conversations.title',
      portal: true,
      ...(target.upstream ? { upstream: target.upstream } : {}),
      signal: stop.signal,
      sink: { write: piece => void pieces.push(piece), end: () => undefined },
    })
    const body = JSON.parse(pieces.join('') || '{}') as {
      choices?: Array<{ message?: { content?: string | null } }>
      error?: { type?: string }
    }
    if (body.error) throw new Error(`the title model refused: ${body.error.type ?? 'error'}`)
    return cleanTitle(body.choices?.[0]?.message?.content ?? '')
  }
}

/**
 * A stand-in for an HTTP request, for a call the gateway makes on a user's behalf with no
 * request of its own (the title job): what the data plane reads of one, nothing more.
 */
function backgroundRequest(log: Logger, ip: string): FastifyRequest {
  return {
    id: `title-${randomUUID()}`,
    ip,
    headers: {},
    log,
    parley: {
      traceId: randomBytes(16).toString('hex'),
      parentSpanId: undefined,
      startedAt: process.hrtime.bigint(),
      ip,
    },
  } as unknown as FastifyRequest
}
