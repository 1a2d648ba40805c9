/**
 * An upstream's SSE events are bounded (security finding #1: one 32 MB event stalled the event
 * loop 3.9 s and took 490 MB): past SSE_EVENT_LIMIT the splitter throws a coded error and drops
 * what it held, and a long event is searched as it grows, not again and again from its start.
 */
import t from 'tap'
import { ParleyError } from '../src/errors.js'
import { SSE_EVENT_LIMIT, SseSplitter } from '../src/pipeline/sse.js'

const KIB = 1024
const MIB = 1024 * KIB

function tooLarge(error: unknown): boolean {
  return (
    error instanceof ParleyError &&
    error.code === 'PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE' &&
    error.type === 'upstream_error' &&
    error.statusCode === 502
  )
}

/** Pushes `bytes` in chunks of `size`; the events, or the error a push threw and how much was pushed by then. */
function feed(splitter: SseSplitter, bytes: Buffer, size: number): { events: number; error?: unknown; pushed: number } {
  let events = 0
  let pushed = 0
  try {
    for (let at = 0; at < bytes.length; at += size) {
      const chunk = bytes.subarray(at, at + size)
      events += splitter.push(chunk).length
      pushed += chunk.length
    }
    if (splitter.rest()) events++
  } catch (error) {
    return { events, error, pushed }
  }
  return { events, pushed }
}

/** An event of exactly `size` bytes, its blank line included. */
const event = (size: number) => Buffer.from(`data: {"content":"${'A'.repeat(size - 22)}"}\n\n`)

t.test('events up to the limit pass, whatever the chunking; one byte more is refused', async t => {
  const limit = 64 * KIB
  for (const size of [7, 1000, 16 * KIB, 200 * KIB]) {
    const fits = feed(
      new SseSplitter({ maxEventBytes: limit }),
      Buffer.concat([event(100), event(limit), event(100)]),
      size,
    )
    t.same(fits, { events: 3, pushed: 2 * 100 + limit }, `an event of exactly ${limit} bytes, chunks of ${size}`)
    const over = feed(
      new SseSplitter({ maxEventBytes: limit }),
      Buffer.concat([event(100), event(limit + 1), event(100)]),
      size,
    )
    t.ok(tooLarge(over.error), `${limit + 1} bytes: PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE (chunks of ${size})`)
  }
  t.equal(SSE_EVENT_LIMIT, 4 * MIB, 'the default: 4 MiB')
  const error = feed(new SseSplitter(), Buffer.concat([event(SSE_EVENT_LIMIT + 1)]), 64 * KIB).error as ParleyError
  t.match(error.message, /larger than 4194304 bytes/)
})

t.test('the limit counts bytes, not characters', async t => {
  const chinese = (chars: number) => Buffer.from(`data: ${'汉'.repeat(chars)}\n\n`)
  t.notOk(
    feed(new SseSplitter({ maxEventBytes: 30 * KIB }), chinese(9 * KIB), 4 * KIB).error,
    '27 KiB of 3-byte characters',
  )
  t.ok(
    tooLarge(feed(new SseSplitter({ maxEventBytes: 30 * KIB }), chinese(11 * KIB), 4 * KIB).error),
    '33 KiB in 11 Ki characters',
  )
})

t.test('an unterminated line is refused as it grows, not when it ends', async t => {
  const splitter = new SseSplitter({ maxEventBytes: MIB })
  const filler = Buffer.alloc(64 * KIB, 'A')
  let pushes = 0
  t.throws(
    () => {
      splitter.push(Buffer.from('data: '))
      for (;;) {
        splitter.push(filler)
        pushes++
      }
    },
    { code: 'PARLEY_ERR_UPSTREAM_EVENT_TOO_LARGE' },
  )
  t.equal(pushes, 15, 'the 16th chunk of 64 KiB after `data: ` passes the 1 MiB limit')
  t.equal(splitter.rest(), undefined, 'what it held is dropped')
  const tail = new SseSplitter({ maxEventBytes: MIB })
  t.same(tail.push(Buffer.from(`data: ${'A'.repeat(MIB - 6)}`)), [])
  t.equal(tail.rest()?.data.length, MIB - 6, 'a last event without its blank line, at the limit, is whole')
})

t.test('a long event is split in linear time', async t => {
  // 4 MiB less a little, in 1 KiB chunks: searching the whole event again at each chunk
  // (as before) scans about 8 GB; searching each chunk once, 4 MiB.
  const bytes = event(SSE_EVENT_LIMIT - 64)
  const started = performance.now()
  const result = feed(new SseSplitter(), bytes, KIB)
  const ms = performance.now() - started
  t.same(result, { events: 1, pushed: bytes.length })
  t.ok(
    ms < 500,
    `${(bytes.length / MIB).toFixed(1)} MiB in ${Math.ceil(bytes.length / KIB)} chunks: ${ms.toFixed(0)} ms`,
  )
  // A terminator cut between chunks, at every place, in every form.
  for (const terminator of ['\n\n', '\r\n\r\n', '\r\r', '\n\r\n']) {
    const text = Buffer.from(`data: ${'x'.repeat(40)}${terminator}data: y${terminator}`)
    for (let cut = 1; cut < text.length; cut++) {
      const splitter = new SseSplitter()
      const events = [...splitter.push(text.subarray(0, cut)), ...splitter.push(text.subarray(cut))]
      if (events.length !== 2 || events[0]?.data !== 'x'.repeat(40) || events[1]?.data !== 'y')
        t.fail(`${JSON.stringify(terminator)} cut at ${cut}: ${JSON.stringify(events)}`)
    }
  }
  t.pass('terminators cut anywhere are found')
})
