import { errors } from '../errors.js'
import type { CallOutput } from './lifecycle.js'
import { sendWhole, streamAnswer } from './answer.js'
import { control, type Attempt, type AttemptCall, type Stop } from './attempt.js'
import type { Call } from './call.js'
import { callerLanguage, endingOf, eventFailure, scrub } from './failures.js'
import type { AttemptResult } from './passthrough.js'
import type { ChatEvent, ChatProvider } from './provider.js'
import { OutputTally, Transcript } from './transcript.js'
import { usageOf, type UsageRows } from './usage-row.js'

/**
 * One attempt with a provider that speaks its own upstream's language: its normalized events
 * are written in the client's wire format, whole or as a stream. An error event before any
 * output may still fail over; one after it ends the stream with an error event.
 */
export async function translate(
  call: Call,
  provider: ChatProvider,
  providerCall: AttemptCall,
  attempt: Attempt,
  rows: UsageRows,
): Promise<AttemptResult> {
  const format = call.format
  const answer = provider.chat(format.chatRequest(call.sentBody ?? call.body, call.upstreamModel), providerCall)
  const iterator = answer[Symbol.asyncIterator]()
  const buffered: ChatEvent[] = []
  // Read up to the first output: an error before it may still fail over.
  for (;;) {
    const next = await attempt.next(iterator)
    if (next.done) break
    const event = next.value
    if (event.type === 'error') {
      await iterator.return?.(undefined)
      attempt.release()
      return { failure: eventFailure(event, providerCall.target.apiKey) }
    }
    buffered.push(event)
    if (event.type !== 'usage') break
  }
  const meta = { model: call.model, createdAt: Math.floor(Date.now() / 1000) }
  const output = call.watch?.output

  if (!call.stream) {
    const transcript = new Transcript()
    // Bound, not a closure here: that would hold this function's scope through the call (passthrough.ts).
    call.output = transcript.outputText.bind(transcript)
    for (const event of buffered) transcript.add(event)
    attempt.flowing()
    for (;;) {
      const next = await attempt.next(iterator)
      if (next.done) break
      if (next.value.type === 'error') {
        attempt.release()
        return { failure: eventFailure(next.value, providerCall.target.apiKey) }
      }
      transcript.add(next.value)
    }
    attempt.release()
    call.usage = transcript.usage
    const usage = usageOf(call, true)
    if (output) {
      if (transcript.reasoning !== '') output({ type: 'reasoning', text: transcript.reasoning })
      output({ type: 'text', text: transcript.text })
    }
    call.answering()
    control(attempt).done()
    rows.record(call, 'success', null, true)
    return { sent: sendWhole(call, Buffer.from(JSON.stringify(format.answerBody(meta, call.body, transcript, usage)))) }
  }

  const writer = format.streamWriter(meta, call.body)
  // Streamed, the answer is not kept whole: only its usage and a bounded sample of its text.
  const tally = new OutputTally()
  call.output = tally.outputText.bind(tally)
  let failed: Extract<ChatEvent, { type: 'error' }> | undefined
  const write = (event: ChatEvent): string => {
    if (failed) return ''
    tally.add(event)
    if (event.type === 'error') {
      failed = event
      return ''
    }
    if (output) {
      const piece = outputOf(event)
      if (piece) output(piece)
    }
    return writer.event(event)
  }
  const events: AsyncIterator<string> = {
    next: async () => {
      if (failed) return { done: true, value: undefined }
      const next = await attempt.next(iterator)
      if (next.done) return { done: true, value: undefined }
      return { done: false, value: write(next.value) }
    },
    return: async () => {
      await iterator.return?.(undefined)
      return { done: true, value: undefined }
    },
  }
  const first = { done: false as const, value: buffered.map(write).join('') }
  const finish = (outcome: 'done' | Stop | unknown): string => {
    call.usage = tally.usage
    if (outcome === 'done') {
      if (failed) {
        rows.record(call, 'error', 'upstream_error', true)
        const said = errors.PARLEY_ERR_UPSTREAM_STREAM_ERROR({
          message: scrub(failed.message, providerCall.target.apiKey),
        })
        return writer.fail(said.type, said.localized(callerLanguage(call.request.headers)))
      }
      rows.record(call, 'success', null, true)
      return writer.end(usageOf(call, true))
    }
    const ending = endingOf(outcome, callerLanguage(call.request.headers))
    rows.record(call, ending.status, ending.rowType, true)
    return ending.tell ? writer.fail(ending.tell.type, ending.tell.message, ending.tell.code) : ''
  }
  return { sent: streamAnswer(call, attempt, events, first, text => text, finish) }
}

function outputOf(event: ChatEvent): CallOutput | undefined {
  if (event.type === 'text' || event.type === 'reasoning')
    return event.delta === '' ? undefined : { type: event.type, text: event.delta }
  return undefined
}
