import { errors } from '../errors.js'
import { sendWhole, streamAnswer } from './answer.js'
import { control, type Attempt, type AttemptCall, type Stop } from './attempt.js'
import type { Call } from './call.js'
import { callerLanguage, endingOf, scrub, upstreamFailure, type Failure } from './failures.js'
import type { Json, WireFormat } from './formats/format.js'
import type { ChatProvider, Passthrough } from './provider.js'
import { SSE_EVENT_LIMIT, SseSplitter, wholeEvents } from './sse.js'
import { latin1Of, relayWholeEvents, type TapResult } from './stream-tap.js'
import { framedAsObject, parseJson, usageInAnswer } from './whole-answer.js'
import type { UsageRows } from './usage-row.js'
import type { TextSample } from '../usage/tokens.js'

/** The largest non-streamed answer accepted from an upstream. */
const ANSWER_LIMIT = 64 * 1024 * 1024

export type AttemptResult = { readonly sent: unknown } | { readonly failure: Failure }

/**
 * One attempt with a provider whose upstream speaks the client's wire format: the request goes
 * up re-serialised (one `model`, the routed one), the answer's bytes come back to the client as
 * they are, watched on the side for usage, errors and the end (the format's tap).
 */
export async function relay(
  call: Call,
  provider: ChatProvider,
  providerCall: AttemptCall,
  attempt: Attempt,
  rows: UsageRows,
): Promise<AttemptResult> {
  const format = call.format
  const body = format.upstreamBody(call.sentBody ?? call.body, call.upstreamModel, call.stream)
  const prepared = (provider.passthrough as Passthrough).prepare({ path: format.path, body }, providerCall.target)
  const iterator = attempt.exchange(providerCall.dispatcher, prepared, JSON.stringify(body))
  const head = await iterator.head
  // Redirects are never followed (SSRF): a 3xx is a failure like any other non-2xx.
  if (head.status < 200 || head.status >= 300)
    return { failure: await upstreamFailure(head, iterator, attempt, providerCall.target) }

  if (!call.stream) {
    const bytes = await iterator.whole(ANSWER_LIMIT)
    attempt.release()
    // The usage is read from its own bytes; the answer is parsed whole only when it has none
    // (its text is then estimated), so a large answer is not parsed just to count it.
    const usage = framedAsObject(bytes) ? usageInAnswer(bytes, format.usage) : undefined
    const parsed = usage ? undefined : parseJson(bytes.toString('utf8'))
    if (!usage && !parsed)
      return {
        failure: { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_BAD_ANSWER(), detail: 'answer is not JSON' },
      }
    call.usage = usage ?? format.usage(parsed?.usage)
    call.output = wholeAnswerText(format, parsed, bytes)
    if (call.watch?.output)
      call.watch.output({ type: 'text', text: format.answerText(parsed ?? parseJson(bytes.toString('utf8'))) })
    call.answering()
    control(attempt).done()
    rows.record(call, 'success', null, true)
    return { sent: sendWhole(call, bytes) }
  }

  const first = await attempt.next(iterator)
  if (first.done)
    return { failure: { kind: 'upstream', error: errors.PARLEY_ERR_UPSTREAM_BAD_ANSWER(), detail: 'empty stream' } }
  const tap = format.tap(call.body)
  const splitter = new SseSplitter()
  const key = providerCall.target.apiKey
  // Searched for in the chunk's latin1 text, where it appears as its UTF-8 bytes read as latin1.
  const keyText = key.length >= 8 ? Buffer.from(key).toString('latin1') : undefined
  // A watch that wants the answer's text has every event decoded; nobody else pays for that.
  const output = call.watch?.output
  const relayChunk = (chunk: Uint8Array): Uint8Array | string => {
    if (tap.ended) return ''
    // The common case: whole events of the format, of which only those the tap acts on are
    // decoded. (A chunk past the event limit goes through the splitter, which measures it.)
    if (!output && splitter.idle && wholeEvents(chunk) && chunk.length <= SSE_EVENT_LIMIT) {
      const text = latin1Of(chunk)
      if (tap.plain(text) && !(keyText && text.includes(keyText))) return relayWholeEvents(chunk, tap, splitter, text)
    }
    const events = splitter.push(chunk)
    const kept = events.filter(event => tap.forward(event))
    if (output) for (const event of kept) for (const piece of format.outputOf(event)) output(piece)
    // An upstream may quote the key in an error frame; it never reaches the client.
    const leaks = key.length >= 8 && kept.some(event => event.raw.includes(key))
    // The common case: the upstream's own bytes go on, not decoded and encoded again.
    if (!leaks && kept.length === events.length && splitter.aligned) return chunk
    let out = ''
    for (const event of kept) out += event.raw
    return leaks ? scrub(out, key, Infinity) : out
  }
  const finish = (ending: 'done' | Stop | unknown): string => {
    let tail = ''
    let unterminated: unknown
    try {
      const rest = splitter.rest()
      if (rest && tap.forward(rest)) tail = rest.raw
    } catch (error) {
      // An unterminated last event past the limit.
      unterminated = error
    }
    const outcome = unterminated ?? ending
    const result = tap.result()
    call.usage = result.usage
    call.output = streamedText(result)
    if (outcome === 'done') {
      if (result.error) rows.record(call, 'error', 'upstream_error', true)
      else if (!result.complete) {
        const early = errors.PARLEY_ERR_UPSTREAM_ENDED_EARLY()
        tail += format.failFrame(early.type, early.localized(callerLanguage(call.request.headers)))
        rows.record(call, 'error', 'upstream_error', true)
      } else rows.record(call, 'success', null, true)
      return tail
    }
    const end = endingOf(outcome, callerLanguage(call.request.headers))
    if (end.tell) tail += format.failFrame(end.tell.type, end.tell.message, end.tell.code)
    rows.record(call, end.status, end.rowType, true)
    return tail
  }
  return { sent: streamAnswer(call, attempt, iterator, first, relayChunk, finish) }
}

/*
 * The answer's text for an estimate, from the few values it needs. Made here, not inside
 * `relay`: a closure made there holds relay's whole scope (the upstream exchange among it)
 * through the call object, and with it one call at a time (c=1) young collections found every
 * finished call still reachable and promoted about 4 KB of each to the old generation, where
 * only a full collection frees it (bench/NOTES.md, "A link found").
 */

function wholeAnswerText(format: WireFormat, parsed: Json | undefined, bytes: Buffer): () => string {
  return () => format.answerText(parsed ?? parseJson(bytes.toString('utf8')))
}

function streamedText(result: TapResult): () => TextSample {
  return () => ({ text: result.outputText, unseen: result.unseenChars })
}
