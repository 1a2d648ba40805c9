import type { FastifyReply } from 'fastify'
import { control, Stop, type Attempt } from './attempt.js'
import type { Call } from './call.js'

/*
 * Writing the answer to the client: the reply is taken over from Fastify once, then pieces go
 * straight to the socket, a slow client is waited for, a gone one is noticed.
 */

/** Headers of every streamed answer, besides its content type. */
export const STREAM_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
}

/**
 * Takes the answer over from Fastify and sends status 200 with the headers set on the reply so
 * far (request id, CORS, rate limits) and these: the answer's bytes then go to the socket with
 * no stream or hook between. `onResponse` hooks still run when it finishes; `onSend` hooks do
 * not, so the one the core has (`installDrain`: while the server drains, tell the client not to
 * reuse the connection) is done here too, and so must any root `onSend` hook added later.
 */
export function commit(
  reply: FastifyReply,
  type: string,
  extra?: Readonly<Record<string, string>>,
  length?: number,
): FastifyReply['raw'] {
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

/** A whole answer (not streamed) in one write. */
export function sendWhole(call: Call, body: Uint8Array): FastifyReply {
  commit(call.reply, 'application/json', undefined, body.byteLength).end(body)
  return call.reply
}

/**
 * Commits the call and streams it: status and headers go out with the first piece, then every
 * piece as it arrives. From here on nothing fails over; a broken upstream ends the stream with
 * an error event (`finish` writes the tail), and a client that goes away aborts the upstream at
 * once. The pieces go straight to the socket, one write each; a slow client is waited for (its
 * time never counts against the upstream), a gone one ends the loop.
 */
export function streamAnswer<T>(
  call: Call,
  attempt: Attempt,
  iterator: AsyncIterator<T>,
  first: IteratorResult<T>,
  transform: (chunk: T) => Uint8Array | string,
  finish: (outcome: 'done' | Stop | unknown) => string,
): FastifyReply {
  let finished = false
  const end = (outcome: 'done' | Stop | unknown): string => {
    if (finished) return ''
    finished = true
    attempt.release()
    control(attempt).done()
    return finish(outcome)
  }
  // A client gone while the upstream is silent: end the row now, the loop may never resume.
  attempt.onStop(reason => {
    if (reason === 'client') end(new Stop('client'))
  })
  call.answering()
  const res = commit(call.reply, 'text/event-stream; charset=utf-8', STREAM_HEADERS)
  const pump = async (): Promise<void> => {
    let exhausted = first.done === true
    try {
      if (first.done) return void res.end(end('done'))
      let more = write(res, transform(first.value))
      attempt.flowing()
      for (;;) {
        if (!more) await drained(res)
        if (res.destroyed) return
        const next = await attempt.next(iterator)
        if (next.done) {
          exhausted = true
          return void res.end(end('done'))
        }
        more = write(res, transform(next.value))
      }
    } catch (error) {
      const tail = end(error)
      if (!res.destroyed) res.end(tail)
      // Failed on our side (an event past the limit) while the upstream still sends: cut it off.
      if (!exhausted && !res.destroyed) void Promise.resolve(iterator.return?.(undefined)).catch(() => undefined)
    } finally {
      if (res.destroyed) {
        // The client went away (or the socket failed) before the answer was whole.
        end(new Stop('client'))
        if (!exhausted) void Promise.resolve(iterator.return?.(undefined)).catch(() => undefined)
      }
    }
  }
  void pump()
  return call.reply
}
