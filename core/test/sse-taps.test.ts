import t from 'tap'
import { SseSplitter, wholeEvents } from '../src/pipeline/sse.js'
import { markerPattern, relayWholeEvents, type StreamTap } from '../src/pipeline/stream-tap.js'
import { framedAsObject, usageInAnswer } from '../src/pipeline/whole-answer.js'
import { chatCompletionsTap, chatUsage } from '../src/pipeline/formats/chat-completions.js'
import { responsesTap, responsesUsage } from '../src/pipeline/formats/responses.js'

/*
 * The passthrough relay's fast path (in a chunk of whole events, only the events the tap acts
 * on are decoded; the rest go on as bytes) must change nothing a client or a usage row sees:
 * same bytes out, same usage, same estimate text, same end state, whatever the chunking.
 */

interface Outcome {
  out: string
  fast: number
  result: ReturnType<StreamTap['result']>
}

function relay(chunks: readonly Buffer[], tap: StreamTap, fastPath: boolean): Outcome {
  const splitter = new SseSplitter()
  let out = ''
  let fast = 0
  for (const chunk of chunks) {
    if (fastPath && splitter.idle && wholeEvents(chunk)) {
      out += Buffer.from(relayWholeEvents(chunk, tap, splitter)).toString('utf8')
      fast++
      continue
    }
    for (const event of splitter.push(chunk)) if (tap.forward(event)) out += event.raw
  }
  const rest = splitter.rest()
  if (rest && tap.forward(rest)) out += rest.raw
  return { out, fast, result: tap.result() }
}

/** The same stream cut as the upstream wrote it (one event per chunk), whole, and every few bytes. */
function cuts(text: string): Buffer[][] {
  const events = text.split(/(?<=\n\n)/).map(part => Buffer.from(part))
  const bytes = Buffer.from(text)
  const sized = [3, 17, 64].map(size => {
    const chunks: Buffer[] = []
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
    return chunks
  })
  return [events, [bytes], ...sized]
}

const chunk = (delta: object, extra = '') =>
  `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":null}]${extra}}\n\n`

t.test('chat completions: fast and slow paths agree, with and without upstream usage', async t => {
  const withUsage = [
    chunk({ role: 'assistant', content: '' }, ',"usage":null'),
    chunk({ content: 'Hello' }, ',"usage":null'),
    chunk({ content: ' wörld 汉字' }, ',"usage":null'),
    'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}\n\n',
    'data: [DONE]\n\n',
  ].join('')
  const withoutUsage = [
    chunk({ role: 'assistant', content: '' }),
    chunk({ reasoning_content: 'think ' }),
    chunk({ content: 'Hello' }),
    chunk({ content: ' wörld' }),
    'data: [DONE]\n\n',
  ].join('')
  const mixedEndings =
    'data: {"choices":[{"delta":{"content":"x"}}]}\r\n\r\ndata: {"choices":[{"delta":{"content":"y"}}]}\r\rdata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\ndata: [DONE]\n\n'
  for (const [name, text, wantsUsage] of [
    ['usage asked', withUsage, true],
    ['usage injected', withUsage, false],
    ['no usage', withoutUsage, false],
    ['mixed line endings', mixedEndings, false],
  ] as const) {
    for (const chunks of cuts(text)) {
      const slow = relay(chunks, chatCompletionsTap(wantsUsage), false)
      const fast = relay(chunks, chatCompletionsTap(wantsUsage), true)
      t.same(fast.result, slow.result, `${name}, ${chunks.length} chunk(s): same usage, text, end`)
      t.equal(fast.out, slow.out, `${name}, ${chunks.length} chunk(s): same bytes out`)
    }
  }
  const perEvent = cuts(withoutUsage)[0] ?? []
  const run = relay(perEvent, chatCompletionsTap(false), true)
  t.equal(run.fast, perEvent.length, 'every chunk takes the fast path')
  t.equal(run.result.outputText, 'think Hello wörld', 'the estimate reads the bytes that passed unread')
  t.ok(run.result.complete)
  const dropped = relay(cuts(withUsage)[1] ?? [], chatCompletionsTap(false), true)
  t.notMatch(dropped.out, /"choices":\[\],"usage"/, 'the injected usage chunk is still dropped')
  t.same(dropped.result.usage, { promptTokens: 5, completionTokens: 3 })
})

t.test('chat completions: the fast path reads what the tap acts on, and only that', async t => {
  const read: string[] = []
  const tap = chatCompletionsTap(false)
  const watching: StreamTap = {
    forward: event => (read.push(event.data), tap.forward(event)),
    markers: tap.markers,
    skip: bytes => tap.skip(bytes),
    result: () => tap.result(),
    get ended() {
      return tap.ended
    },
    plain: bytes => tap.plain(bytes),
  }
  const usageFrame = 'data: {"choices":[],"usage": {"prompt_tokens":1,"completion_tokens":2}}\n\n'
  const text = [
    chunk({ content: 'a' }, ',"usage":null'),
    'data: {"error":{"message":"overloaded","code":"busy"}}\n\n',
    chunk({ content: 'b' }, ',"usage":null'),
    usageFrame,
    'data: [DONE]\n\n',
  ].join('')
  const out = Buffer.from(relayWholeEvents(Buffer.from(text), watching, new SseSplitter())).toString('utf8')
  t.same(
    read,
    [
      '{"error":{"message":"overloaded","code":"busy"}}',
      '{"choices":[],"usage": {"prompt_tokens":1,"completion_tokens":2}}',
      '[DONE]',
    ],
    '"usage":null frames (OpenAI sends one on every chunk) are not decoded',
  )
  t.same(tap.result().error, { message: 'overloaded', code: 'busy' })
  t.same(tap.result().usage, { promptTokens: 1, completionTokens: 2 })
  t.ok(tap.result().complete)
  t.equal(
    out,
    text.replace(usageFrame, ''),
    'the usage frame the client did not ask for is cut out, the rest byte for byte',
  )
  const plain = Buffer.from(chunk({ content: 'c' }))
  t.equal(
    relayWholeEvents(plain, chatCompletionsTap(false), new SseSplitter()),
    plain,
    'nothing to cut: the very chunk goes on, not a copy',
  )
})

t.test('responses: fast and slow paths agree', async t => {
  const event = (type: string, body: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`
  const text = [
    event('response.created', { response: { id: 'r1' } }),
    event('response.reasoning_summary_text.delta', { delta: 'hmm ' }),
    event('response.output_text.delta', { delta: 'Hi' }),
    event('response.output_text.delta', { delta: ' there' }),
    event('response.output_item.added', { item: {} }),
    event('response.completed', { response: { id: 'r1', usage: { input_tokens: 7, output_tokens: 2 } } }),
  ].join('')
  for (const chunks of cuts(text)) {
    const slow = relay(chunks, responsesTap(), false)
    const fast = relay(chunks, responsesTap(), true)
    t.same(fast.result, slow.result, `${chunks.length} chunk(s)`)
    t.equal(fast.out, slow.out)
  }
  const run = relay(cuts(text)[0] ?? [], responsesTap(), true)
  t.equal(run.result.outputText, 'hmm Hi there')
  t.same(run.result.usage, { promptTokens: 7, completionTokens: 2 })
})

t.test('the usage of a whole JSON answer is read from its own bytes, as a full parse would read it', async t => {
  const answers: Array<[string, unknown]> = [
    [
      'compact',
      {
        id: 'c',
        choices: [{ message: { role: 'assistant', content: 'hi' } }],
        usage: { prompt_tokens: 12, completion_tokens: 3 },
      },
    ],
    [
      'a quoted "usage": key inside the text',
      {
        choices: [{ message: { content: 'say "usage": {"prompt_tokens": 999, "completion_tokens": 999} {' } }],
        usage: { prompt_tokens: 5, completion_tokens: 7, completion_tokens_details: { reasoning_tokens: 2 } },
      },
    ],
    [
      'strings with braces and escapes in the usage',
      { usage: { prompt_tokens: 1, completion_tokens: 2, note: 'a } b \\" { [' } },
    ],
    ['no usage', { choices: [] }],
    ['usage null', { choices: [], usage: null }],
    ['usage without numbers', { usage: { prompt_tokens: '1', completion_tokens: 2 } }],
  ]
  for (const [name, answer] of answers) {
    for (const text of [JSON.stringify(answer), JSON.stringify(answer, null, 2)]) {
      const bytes = Buffer.from(text)
      t.ok(framedAsObject(bytes), `${name}: framed as an object`)
      const expected = chatUsage((JSON.parse(text) as { usage?: unknown }).usage)
      const read = usageInAnswer(bytes, chatUsage)
      // Undefined means "parse it whole": never a different answer than the full parse.
      if (read !== undefined) t.same(read, expected, `${name}: the same usage`)
      else t.equal(expected, undefined, `${name}: left to the full parse only when it has no usage`)
    }
  }
  const usage = Buffer.from('{"usage":{"input_tokens":4,"output_tokens":6}}')
  t.same(usageInAnswer(usage, responsesUsage), { promptTokens: 4, completionTokens: 6 }, 'a Responses object')
  t.equal(
    usageInAnswer(Buffer.from('{"usage":{"prompt_tokens":1,"completion_tokens":'), chatUsage),
    undefined,
    'a cut answer',
  )
  t.notOk(framedAsObject(Buffer.from('{"usage":{"prompt_tokens":1')), 'a cut answer is not framed')
  t.notOk(framedAsObject(Buffer.from('<html>502</html>')))
  t.notOk(framedAsObject(Buffer.from('')))
  t.ok(framedAsObject(Buffer.from(' \n{}\n')))
})

t.test('the fast path takes only chunks of what the format sends', async t => {
  // Through the formats' own taps: what each format admits is theirs to say.
  const chat = (text: string) => chatCompletionsTap(false).plain(text)
  const responses = (text: string) => responsesTap().plain(text)
  const cases: Array<[string, string, boolean]> = [
    ['JSON data, with and without the space', 'data: {"a":1}\n\ndata:{"b":2}\n\n', true],
    ['the end', 'data: {"a":1}\n\ndata: [DONE]\n\ndata:[DONE]\n\n', true],
    ['a comment and an unknown field', ': keep-alive\n\nfoo: bar\ndata: {}\n\n', true],
    ['two spaces before the JSON', 'data:  {"a":1}\n\n', false],
    ['data that is not JSON', 'data: {"a":1}\n\ndata: hello\n\n', false],
    ['an empty data line', 'data:\n\n', false],
    ['data cut at the end', 'data: {}\n\ndata:', false],
    ['an id line', 'id: 7\ndata: {}\n\n', false],
    ['a retry line after a carriage return', 'data: {}\r\rretry: 10\n\n', false],
    ['"data:" inside a value is not a line', 'data: {"t":"x data: y id: z"}\n\n', true],
  ]
  for (const [name, text, expected] of cases) t.equal(chat(text), expected, `chat completions: ${name}`)
  t.notOk(chat('event: message\ndata: {}\n\n'), 'chat completions names no events')
  t.ok(responses('event: response.created\ndata: {}\n\nevent:  error \ndata: {}\n\n'), 'Responses events')
  t.notOk(responses('event: response.created\ndata: {}\n\nevent: ping\ndata: {}\n\n'), 'an event Responses lacks')

  const markers = markerPattern(['[DONE]', 'a.b'])
  t.equal('x [DONE]'.search(markers), 2, 'markers are literal text')
  t.equal('axb a.b'.search(markers), 4, 'a dot is a dot')
})
