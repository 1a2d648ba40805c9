import type { FastifyReply } from 'fastify'

/*
 * Writing the answer to the client: the reply is taken over from Fastify once, then pieces go
 * straight to the socket, a slow client is waited for, a gone one is noticed.
 */

/** Headers of every streamed answer, besides its content type. */
export const STREAM_HEADERS: Readonly<Record<string, string>> = { 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }

/**
 * Takes the answer over from Fastify and sends status 200 with the headers set on the reply so
 * far (request id, CORS, rate limits) and these: the answer's bytes then go to the socket with
 * no stream or hook between. `onResponse` hooks still run when it finishes; `onSend` hooks do
 * not, so the one the core has (`installDrain`: while the server drains, tell the client not to
 * reuse the connection) is done here too, and so must any root `onSend` hook added later.
 */
export function commit(reply: FastifyReply, type: string, extra?: Readonly<Record<string, string>>, length?: number): FastifyReply['raw'] {
  reply.hijack()
  const headers: Record<string, string | number | string[] | undefined> = reply.getHeaders()
  headers['content-type'] = type
  if (extra) Object.assign(headers, extra)
  if (length !== undefined) headers['content-length'] = length
  if (reply.server.draining) headers.connection = 'close'
  return reply.raw.writeHead(200, headers)
}

/** One piece to the client; false when it has to be waited for. */
export function write(res: FastifyReply['raw'], piece: Uint8Array | string): boolean {
  return piece.length === 0 || res.write(piece)
}

/** Until the client took what was written, or went away. */
export function drained(res: FastifyReply['raw']): Promise<void> {
  // A write to a closed response also answers false, and no event would follow.
  if (res.destroyed) return Promise.resolve()
  return new Promise(resolve => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
