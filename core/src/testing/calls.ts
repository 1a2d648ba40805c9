import OpenAI from 'openai'
import type { TestGateway } from './gateway.js'

/** An official SDK client on the gateway; `path` is `/v1` for the API, `/api` for the portal (the SDK appends /chat/completions). */
export function sdk(
  gateway: TestGateway,
  apiKey: string,
  options: { path?: string; headers?: Record<string, string> } = {},
): OpenAI {
  return new OpenAI({
    apiKey,
    baseURL: `${gateway.url}${options.path ?? '/v1'}`,
    maxRetries: 0,
    timeout: 10_000,
    defaultHeaders: options.headers ?? {},
  })
}

/** One server-sent event with the time it was read. */
export interface TimedEvent {
  readonly event: string | undefined
  readonly data: string
  readonly at: number
}

/** Reads a fetch response's SSE body to its end, splitting on blank lines. */
export async function readSse(response: Response): Promise<TimedEvent[]> {
  const events: TimedEvent[] = []
  const decoder = new TextDecoder()
  let buffer = ''
  const take = () => {
    for (let end = buffer.search(/\r?\n\r?\n/); end >= 0; end = buffer.search(/\r?\n\r?\n/)) {
      const raw = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      let event: string | undefined
      const data: string[] = []
      for (const line of raw.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5))
      }
      if (event !== undefined || data.length > 0) events.push({ event, data: data.join('\n'), at: Date.now() })
    }
  }
  if (!response.body) return events
  // Node's web streams are async iterable; the DOM typings of the browser tests do not say so.
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    take()
  }
  buffer += `${decoder.decode()}\n\n`
  take()
  return events
}

/** POSTs JSON to the gateway over its real socket (for streams and raw status checks). */
export function post(
  gateway: TestGateway,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

/** The HTTP status a promise of an SDK call ends with: 200, or the APIError's status. */
export function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  return promise.then(
    () => 200,
    (error: { status?: number }) => error.status,
  )
}
