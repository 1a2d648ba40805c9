/**
 * What the load generator sends, and the check each target must pass before it is measured: a
 * fast wrong answer (a 401, an empty stream) must never count as throughput.
 */
import { BENCH_MODEL } from './provision.js'
import type { Format } from './report.js'

const MESSAGES = [
  { role: 'system', content: 'You are a helpful assistant. Answer briefly.' },
  { role: 'user', content: 'In one sentence: why do ships float even though they are made of steel?' },
]

export function requestBody(format: Format): string {
  return JSON.stringify(
    format === 'json'
      ? { model: BENCH_MODEL, messages: MESSAGES }
      : { model: BENCH_MODEL, messages: MESSAGES, stream: true, stream_options: { include_usage: true } },
  )
}

/** Sends one request and throws unless the answer is a complete chat completion of the format. */
export async function verify(url: string, headers: Record<string, string>, format: Format): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers, body: requestBody(format) })
  const text = await response.text()
  const fail = (why: string) => new Error(`${url} (${format}): ${why}: HTTP ${response.status} ${text.slice(0, 300)}`)
  if (response.status !== 200) throw fail('not 200')
  if (format === 'json') {
    const body = JSON.parse(text) as {
      object?: string
      choices?: Array<{ message?: { content?: string } }>
      usage?: { total_tokens?: number }
    }
    if (
      body.object !== 'chat.completion' ||
      !body.choices?.[0]?.message?.content ||
      typeof body.usage?.total_tokens !== 'number'
    )
      throw fail('not a chat.completion with usage')
    return
  }
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) throw fail('not an event stream')
  const frames = text.split('\n\n').filter(Boolean)
  const chunks = frames
    .slice(0, -1)
    .map(frame => JSON.parse(frame.replace(/^data: /, '')) as { object?: string; choices?: unknown[]; usage?: unknown })
  if (frames.at(-1) !== 'data: [DONE]') throw fail('does not end with [DONE]')
  if (chunks.length < 3 || chunks.some(chunk => chunk.object !== 'chat.completion.chunk'))
    throw fail('not chat.completion.chunk frames')
  if (!chunks.some(chunk => chunk.choices?.length === 0 && chunk.usage)) throw fail('no usage chunk')
}
