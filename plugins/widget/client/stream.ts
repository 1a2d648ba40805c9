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

/**
 * The frame's session token: the one it holds, or (`expired`) a fresh one from the host page;
 * undefined when the host page has none to give.
 */
export type SessionSource = (expired: boolean) => Promise<string | undefined>

export async function ask(
  session: SessionSource,
  lang: string,
  messages: ReadonlyArray<{ role: string; content: string }>,
  on: AnswerHandlers,
): Promise<void> {
  /*
   * Sends one request with the session token. A 401 means the token expired (or the gateway
   * forgot it): the host page is asked for a fresh one and the request is sent once more. A
   * resume does the same, so an answer outliving its session still completes, never asked twice.
   */
  const authorized = async (send: (headers: Record<string, string>) => Promise<Response>) => {
    for (let refreshed = false; ; refreshed = true) {
      const token = await session(refreshed)
      if (!token) throw new RefusedError('', 401, refreshed ? 'session_expired' : 'no_session')
      const response = await send({ authorization: `Bearer ${token}`, 'accept-language': lang })
      if (response.status !== 401) return response
      await response.body?.cancel()
      if (refreshed) throw new RefusedError('', 401, 'session_expired')
    }
  }
  const response = await authorized(headers =>
    fetch('/api/widget/chat', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    }),
  )
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
      current = await authorized(headers =>
        fetch(`/api/widget/chat/${answerId}/events`, { headers: { ...headers, 'last-event-id': state.last } }),
      )
    } catch (error) {
      if (error instanceof RefusedError) throw error
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
