/*
 * One widget answer over SSE: POST /api/widget/chat, then, if the connection drops before the
 * end, GET /api/widget/chat/<answer id>/events with Last-Event-ID until it ends. The gateway
 * runs the answer once whatever happens to the connection, so a resume never repeats it.
 */

export interface AnswerHandlers {
  /** Each piece of the answer's text. */
  text(delta: string): void
  /** The connection dropped; a resume is under way. */
  reconnecting(): void
}

export class RefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
  ) {
    super(message)
  }
}

const RETRIES = 6

export async function ask(
  token: string,
  lang: string,
  messages: ReadonlyArray<{ role: string; content: string }>,
  on: AnswerHandlers,
): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'accept-language': lang }
  const response = await fetch('/api/widget/chat', {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ messages }),
  })
  if (!response.ok) throw await refusal(response)
  const answerId = response.headers.get('x-parley-answer-id') ?? ''
  const state = { last: '', ended: false }
  let attempt = 0
  let current: Response = response
  for (;;) {
    try {
      const seen = await read(current, state, on)
      // A resume that ended with nothing new: the answer had ended already.
      if (state.ended || (attempt > 0 && seen === 0)) return
    } catch (error) {
      if (error instanceof RefusedError) throw error
    }
    // Cut before the end: resume after the last event seen.
    if (++attempt > RETRIES || !answerId) throw new RefusedError('', 0, 'broken')
    on.reconnecting()
    await new Promise(resolve => setTimeout(resolve, Math.min(4_000, 250 * 2 ** attempt)))
    try {
      current = await fetch(`/api/widget/chat/${answerId}/events`, {
        headers: { ...headers, 'last-event-id': state.last },
      })
    } catch {
      continue
    }
    if (!current.ok) throw await refusal(current)
  }
}

/** Reads events until the end or the connection drops; answers how many events it read. */
async function read(response: Response, state: { last: string; ended: boolean }, on: AnswerHandlers): Promise<number> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let seen = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return seen
    buffer += decoder.decode(value, { stream: true })
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const raw = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let id = ''
      let data = ''
      for (const line of raw.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4)
        else if (line.startsWith('data: ')) data += line.slice(6)
      }
      seen++
      if (id) state.last = id
      if (data === '[DONE]') {
        state.ended = true
        return seen
      }
      if (!data.startsWith('{')) continue
      const chunk = JSON.parse(data) as {
        choices?: Array<{ delta?: { content?: string } }>
        error?: { message?: string; type?: string }
      }
      if (chunk.error) {
        state.ended = true
        throw new RefusedError(chunk.error.message ?? '', 502, chunk.error.type ?? 'upstream_error')
      }
      const delta = chunk.choices?.[0]?.delta?.content
      if (delta) on.text(delta)
    }
  }
}

async function refusal(response: Response): Promise<RefusedError> {
  const body = (await response.json().catch(() => ({}))) as { error?: { message?: string; type?: string } }
  return new RefusedError(body.error?.message ?? '', response.status, body.error?.type ?? 'error')
}
