/*
 * Server-sent events over fetch: the `data:` payloads of a response body, one per event, as
 * they arrive (EventSource cannot POST or send headers).
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let boundary: RegExpExecArray | null
      while ((boundary = /\r?\n\r?\n/.exec(buffer))) {
        const block = buffer.slice(0, boundary.index)
        buffer = buffer.slice(boundary.index + boundary[0].length)
        const data = dataOf(block)
        if (data !== undefined) yield data
      }
    }
    const data = dataOf(buffer + decoder.decode())
    if (data !== undefined) yield data
  } finally {
    reader.releaseLock()
  }
}

function dataOf(block: string): string | undefined {
  const lines = block.split(/\r?\n/).filter(line => line.startsWith('data:'))
  return lines.length === 0 ? undefined : lines.map(line => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n')
}
