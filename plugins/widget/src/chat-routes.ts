import { randomUUID } from 'node:crypto'
import {
  languageOf,
  Type,
  type ChatService,
  type Language,
  type FastifyReply,
  type FastifyRequest,
  type HttpScope,
} from '@parley/core'
import type { AnswerLog, AnswerOwner } from './answers.js'
import type { WidgetClients } from './clients.js'
import { widgetErrors } from './errors.js'
import { eventsOf, frame, resumeFrom } from './events.js'
import type { RunningAnswers } from './running-answers.js'
import type { WidgetSessions } from './sessions.js'
import type { Transcripts } from './transcripts.js'

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
}

const Message = Type.Object(
  {
    role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
    content: Type.String({ minLength: 1, maxLength: 8_000 }),
  },
  { additionalProperties: false },
)
const ChatBody = Type.Object(
  { messages: Type.Array(Message, { minItems: 1, maxItems: 50 }) },
  { additionalProperties: false },
)

export interface ChatDeps {
  readonly chat: ChatService
  readonly sessions: WidgetSessions
  readonly clients: WidgetClients
  readonly answers: AnswerLog
  readonly transcripts: Transcripts
  /** Answers running on this instance: a shutdown waits for them, then stops them. */
  readonly running: RunningAnswers
}

/**
 * `POST /api/widget/chat` runs the answer detached from the connection (it goes on if the
 * browser drops) and streams it with `id: <answer id>:<n>` on every event;
 * `GET /api/widget/chat/:answer_id/events` replays what a reconnect missed, then follows.
 */
export function installChatRoutes(http: HttpScope, deps: ChatDeps): void {
  http.post(
    '/api/widget/chat',
    {
      schema: { tags: ['widget'], summary: 'Ask the widget client model (SSE)', body: ChatBody },
      bodyLimit: 512 * 1024,
    },
    async (request, reply) => {
      const session = await deps.sessions.fromRequest(request)
      if (!session) throw widgetErrors.PARLEY_ERR_WIDGET_SESSION()
      const client = await deps.clients.find(session.clientId)
      if (!client || !client.enabled) throw widgetErrors.PARLEY_ERR_WIDGET_SESSION()
      const owner: AnswerOwner = { clientId: client.clientId, externalUserId: session.externalUserId }
      const answerId = randomUUID()
      const writer = deps.answers.begin(answerId, owner)
      const stop = new AbortController()
      const messages = request.body.messages
      const question = messages.at(-1)?.role === 'user' ? (messages.at(-1)?.content as string) : ''
      const transcript = client.transcripts ? await deps.transcripts.begin(session, client.model, question) : undefined
      let opened!: () => void
      const opening = new Promise<void>(resolve => (opened = resolve))
      // Only a shutdown stops an answer here (a browser that leaves does not): the log says so
      // before it ends, so a reconnect shows why the answer stops short.
      const language = languageOf(request.headers['accept-language'])
      const endLog = () => {
        if (stop.signal.aborted) writer.push(interrupted(language))
        writer.end(owner)
      }
      const outcome = deps.chat.detached(request, {
        body: { model: client.model, messages, stream: true },
        principal: session.principal,
        endpoint: 'widget',
        signal: stop.signal,
        ...(transcript ? { watch: transcript.watch } : {}),
        sink: {
          open: () => opened(),
          write: piece => eventsOf(piece).forEach(event => writer.push(event)),
          end: endLog,
        },
      })
      // An answer stopped before it began (a shutdown) never ends its sink: end its log here.
      // It counts as running until its last event is stored, which is what a shutdown waits for.
      const stored = outcome.finally(endLog).then(
        () => writer.settled(),
        () => writer.settled(),
      )
      deps.running.track(stop, stored)
      try {
        await Promise.race([outcome, opening])
      } catch (error) {
        transcript?.refused((error as { type?: string }).type ?? 'internal_error')
        throw error
      }
      stream(request, reply, answerId, (send, signal) => followLocal(writer, send, signal))
      return reply
    },
  )

  http.get(
    '/api/widget/chat/:answer_id/events',
    {
      schema: {
        tags: ['widget'],
        summary: 'Resume an answer after Last-Event-ID (SSE)',
        params: Type.Object({ answer_id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) }),
      },
    },
    async (request, reply) => {
      const session = await deps.sessions.fromRequest(request)
      if (!session) throw widgetErrors.PARLEY_ERR_WIDGET_SESSION()
      const id = request.params.answer_id
      const owner = await deps.answers.owner(id)
      // Another user's answer and an unknown one look the same.
      if (!owner || owner.clientId !== session.clientId || owner.externalUserId !== session.externalUserId)
        throw widgetErrors.PARLEY_ERR_WIDGET_ANSWER_NOT_FOUND({ id, seconds: Math.round(deps.answers.ttlMs / 1000) })
      const header = request.headers['last-event-id']
      const from = resumeFrom(id, typeof header === 'string' ? header : undefined)
      stream(request, reply, id, (send, signal) => deps.answers.follow(id, from, send, signal))
      return reply
    },
  )
}

function interrupted(language: Language): string {
  const error = widgetErrors.PARLEY_ERR_WIDGET_ANSWER_INTERRUPTED()
  return `data: ${JSON.stringify({ error: { type: error.type, message: error.localized(language), code: error.code } })}`
}

type Follow = (send: (event: string, n: number) => void, signal: AbortSignal) => Promise<void>

/** Takes the reply over and writes the answer's events until they end or the client leaves. */
function stream(request: FastifyRequest, reply: FastifyReply, answerId: string, follow: Follow): void {
  const gone = new AbortController()
  reply.hijack()
  const res = reply.raw
  const headers: Record<string, string | number | string[] | undefined> = reply.getHeaders()
  res.writeHead(200, { ...headers, ...STREAM_HEADERS, 'x-parley-answer-id': answerId })
  res.on('close', () => gone.abort())
  follow((event, n) => void res.write(frame(answerId, n, event)), gone.signal)
    .catch(error => request.log.warn({ err: error, answer_id: answerId }, 'widget answer stream failed'))
    .finally(() => {
      if (!res.destroyed) res.end()
    })
}

/** The connection that asked follows the answer from this instance's memory. */
function followLocal(
  writer: { events: readonly string[]; ended: boolean; listen(listener: () => void): () => void },
  send: (event: string, n: number) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise(resolve => {
    let sent = 0
    const pump = () => {
      while (sent < writer.events.length) send(writer.events[sent] as string, ++sent)
      if (writer.ended || signal.aborted) {
        stopListening()
        resolve()
      }
    }
    const stopListening = writer.listen(pump)
    signal.addEventListener('abort', pump, { once: true })
    pump()
  })
}
