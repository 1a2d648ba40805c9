/**
 * Token estimates for calls whose upstream reported no usage; such rows are stored with
 * `estimated = true` (docs/usage.md).
 *
 * Counting uses OpenAI's own BPE encodings (o200k_base for current models, cl100k_base for
 * older ones) through `gpt-tokenizer`: pure JS, synchronous, exact for OpenAI models and a
 * close estimate for other families (DeepSeek, Qwen, ...).
 *
 * It runs on the event loop, so it is bounded whatever the text (security finding #1):
 *
 * - BPE costs the square of a pre-token's length (an unbroken 64 KB word took 5 s). The text
 *   is counted in segments of at most `SEGMENT` characters, cut only where the encodings'
 *   pre-tokenisation starts a new piece anyway (before the space of ` word`, at a letter or
 *   digit followed by punctuation, between letters and digits), so the sum is the exact
 *   count. A stretch of `RUN` characters with no such place (one giant word, a run of
 *   punctuation, spaces or digits) is cut after `RUN` characters: that count is then BPE's
 *   over pieces of at most `RUN` characters, off by a token or so per cut. Normal text of
 *   any language never has such a stretch.
 * - Each estimate (the prompt; the answer) gets a budget (`EstimateBudget`, 2 ms): segments
 *   are counted in order, exactly, for two thirds of it or until `EXACT_CHARS` characters
 *   were (and always until `SAMPLE_CHARS` were). Text left over is extrapolated: its length
 *   times the tokens per character of short samples spread evenly over it, counted in the
 *   last third (too few samples: of what this text had counted; none of it counted: of
 *   everything this budget counted; nothing at all: 1 token per 4 characters). An estimate so
 *   costs the budget plus one segment at most, whatever the text; texts of about 10 KB and
 *   less are counted exactly (English counts at 8 to 15 KB per ms on the 2-core reference
 *   machine), longer ones come within a few per cent (±3 % typical for prose and code, up to
 *   ±9 % seen). Being timed, such an estimate may differ a little between runs; the rows are
 *   `estimated` anyway, and for other model families than OpenAI's the tokenizer itself is
 *   only an approximation.
 * - Special-token strings (`<|endoftext|>`) in the text are counted as the plain text they
 *   are; gpt-tokenizer's default throws on them.
 */

import { createRequire } from 'node:module'

type CountTokens = (text: string, options: { disallowedSpecial: Set<string> }) => number

/**
 * The encodings are loaded on first use, each alone: together they hold about 80 MB (o200k
 * 70 MB, cl100k 40 MB of RSS), and most gateways never estimate (upstreams report usage). The
 * first estimate under an encoding waits for it to load (a few hundred ms, once per process),
 * before its budget's clock starts.
 */
const load = createRequire(import.meta.url)
const counters: Partial<Record<Encoding, CountTokens>> = {}

function counterFor(encoding: Encoding): CountTokens {
  return (counters[encoding] ??= (
    load(`gpt-tokenizer/encoding/${encoding}`) as { countTokens: CountTokens }
  ).countTokens)
}

export type Encoding = 'o200k_base' | 'cl100k_base'

/** OpenAI's chat format adds these around every message, and primes the reply with 3 more. */
const TOKENS_PER_MESSAGE = 3
const TOKENS_PER_NAME = 1
const REPLY_PRIMING = 3
/** An image part: 85 at `detail: low`; otherwise OpenAI's price for a 1024×1024 image (4 tiles). */
const IMAGE_LOW_DETAIL = 85
const IMAGE_DEFAULT = 765

/** Event-loop time one estimate (a prompt, an answer) may spend counting exactly. */
export const ESTIMATE_BUDGET_MS = 2
/** Characters one estimate counts exactly at most, however fast the machine. */
export const EXACT_CHARS = 256 * 1024
/**
 * Characters one estimate counts exactly at least, however slow the moment (a cold start, a
 * GC pause), so that the rest is extrapolated from a real sample (about 1 ms at worst).
 */
const SAMPLE_CHARS = 1024
/** The longest segment handed to BPE at once (UTF-16 code units): the time between two budget checks. */
const SEGMENT = 512
/** The longest stretch without a clean cut; past it the text is cut anyway (BPE is quadratic in it). */
const RUN = 256
/** Tokens per character when nothing was counted to calibrate on. */
const FALLBACK_RATIO = 0.25
/** The most samples taken from the rest of a text that the budget could not count in order, and their length. */
const MAX_SAMPLES = 256
const SAMPLE = 128
/** Special-token strings are plain text to an estimate (gpt-tokenizer's default throws). */
const PLAIN = { disallowedSpecial: new Set<string>() }

/** A chat message as clients send it; only what costs prompt tokens is read. */
export interface PromptMessage {
  readonly role: string
  readonly name?: string | undefined
  readonly content?: string | readonly PromptContentPart[] | null | undefined
  readonly tool_calls?:
    ReadonlyArray<{ readonly function?: { readonly name?: string; readonly arguments?: string } }> | undefined
}

export type PromptContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string; readonly detail?: string } }
  | { readonly type: string; readonly [key: string]: unknown }

/** A text known by its start: `text`, then `unseen` more characters that were not kept. */
export interface TextSample {
  readonly text: string
  readonly unseen: number
}

/**
 * The time and characters one estimate may spend on exact counts, and what it counted (to
 * extrapolate the rest from). Pass one budget to the calls that make up one estimate.
 */
export class EstimateBudget {
  #start: number | undefined
  #chars: number
  /** Characters and tokens counted exactly so far. */
  #countedChars = 0
  #countedTokens = 0

  constructor(
    private readonly ms = ESTIMATE_BUDGET_MS,
    chars = EXACT_CHARS,
  ) {
    this.#chars = chars
  }

  /** Whether the next segment in order may be counted exactly; the clock starts at the first. */
  open(): boolean {
    this.#start ??= performance.now()
    if (this.#countedChars < SAMPLE_CHARS) return true
    return this.#chars > 0 && performance.now() - this.#start < (this.ms * 2) / 3
  }

  /** Whether one more sample of an uncounted rest may be counted: the budget's last third. */
  sampling(): boolean {
    this.#start ??= performance.now()
    return performance.now() - this.#start < this.ms
  }

  spent(chars: number, tokens: number): void {
    this.#chars -= chars
    this.#countedChars += chars
    this.#countedTokens += tokens
  }

  /** Tokens per character of everything counted under this budget. */
  ratio(): number {
    return this.#countedChars === 0 ? FALLBACK_RATIO : this.#countedTokens / this.#countedChars
  }
}

/**
 * Collects an answer's text for an estimate in bounded memory: the first `EXACT_CHARS`
 * characters (more would not be counted exactly anyway) and how many came after them.
 */
export class TextCollector {
  readonly #parts: string[] = []
  #kept = 0
  #unseen = 0

  add(text: string): void {
    const room = EXACT_CHARS - this.#kept
    if (text.length <= room) {
      if (text.length === 0) return
      this.#parts.push(text)
      this.#kept += text.length
      return
    }
    if (room > 0) {
      // A copy: a slice of a long string would keep all of it alive.
      this.#parts.push(Buffer.from(text.slice(0, room)).toString())
      this.#kept = EXACT_CHARS
    }
    this.#unseen += text.length - Math.max(0, room)
  }

  sample(): TextSample {
    return { text: this.#parts.join(''), unseen: this.#unseen }
  }
}

/** The encoding a model's own tokenizer uses; models of other vendors get the newest one. */
export function encodingFor(model: string): Encoding {
  return /^(gpt-4(?!o|\.[1-9])|gpt-3\.5|text-embedding)/i.test(model) ? 'cl100k_base' : 'o200k_base'
}

/** Tokens in `text` under `model`'s encoding, within `budget` (see the top of this file). */
export function estimateTokens(text: string | TextSample, model: string, budget = new EstimateBudget()): number {
  const encoding = encodingFor(model)
  return typeof text === 'string'
    ? countTokens(text, encoding, budget, 0)
    : countTokens(text.text, encoding, budget, text.unseen)
}

/** Prompt tokens of a chat request, with OpenAI's per-message and reply-priming overhead. */
export function estimatePromptTokens(
  messages: readonly PromptMessage[],
  model: string,
  budget = new EstimateBudget(),
): number {
  const encoding = encodingFor(model)
  const count = (text: string) => countTokens(text, encoding, budget, 0)
  let total = REPLY_PRIMING
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + count(String(message.role))
    if (message.name) total += TOKENS_PER_NAME + count(String(message.name))
    if (typeof message.content === 'string') total += count(message.content)
    else if (Array.isArray(message.content))
      for (const part of message.content as readonly PromptContentPart[]) total += partTokens(part, count)
    for (const call of message.tool_calls ?? []) {
      total += count(stringOf(call.function?.name)) + count(stringOf(call.function?.arguments))
    }
  }
  return total
}

function partTokens(part: PromptContentPart, count: (text: string) => number): number {
  if (part.type === 'text' && typeof part.text === 'string') return count(part.text)
  if (part.type === 'image_url') {
    const detail = (part.image_url as { detail?: unknown } | undefined)?.detail
    return detail === 'low' ? IMAGE_LOW_DETAIL : IMAGE_DEFAULT
  }
  return 0
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

/** Exact BPE counts of `text`'s segments while the budget lasts, then the rest (and `unseen`) extrapolated. */
function countTokens(text: string, encoding: Encoding, budget: EstimateBudget, unseen: number): number {
  const length = text.length
  if (length === 0 && unseen === 0) return 0
  const bpe = counterFor(encoding)
  let tokens = 0
  let at = 0
  while (at < length && budget.open()) {
    const end = length - at <= RUN ? length : segmentEnd(text, at)
    const counted = bpe(at === 0 && end === length ? text : text.slice(at, end), PLAIN)
    budget.spent(end - at, counted)
    tokens += counted
    at = end
  }
  const rest = length - at + unseen
  if (rest === 0) return tokens
  let ratio = at >= RUN ? tokens / at : budget.ratio()
  // The start of a text may not be like the rest of it (a document's preamble, then code):
  // segments spread evenly over the rest calibrate it better.
  if (length - at > 4 * SEGMENT) {
    let sampledChars = 0
    let sampledTokens = 0
    for (let sample = 1; sample <= MAX_SAMPLES && budget.sampling(); sample++) {
      const from = cutAfter(text, at + Math.floor((length - at) * spread(sample)))
      if (from >= length) continue
      const end = segmentEnd(text, from, SAMPLE)
      const counted = bpe(text.slice(from, end), PLAIN)
      budget.spent(end - from, counted)
      sampledChars += end - from
      sampledTokens += counted
    }
    if (sampledChars >= SAMPLE_CHARS) ratio = sampledTokens / sampledChars
  }
  return tokens + Math.round(rest * ratio)
}

/** The `n`th point of the van der Corput sequence (1/2, 1/4, 3/4, 1/8, ...): any first few are spread evenly over [0, 1). */
function spread(n: number): number {
  let point = 0
  let scale = 0.5
  for (let rest = n; rest > 0; rest >>= 1, scale /= 2) if (rest & 1) point += scale
  return point
}

// ------------------------------------------------------------------ segments

/*
 * Where a text may be cut without changing its count: a place where both encodings'
 * pre-tokenisation regexes start a new piece whatever follows, and where the piece before
 * ends with a character that no trailing-whitespace rule (`\s+$`, `\s+(?!\S)`) can see:
 *
 * - a space between two non-space characters (`a| b`): ` b` is one piece, `a` ends one;
 * - punctuation or a symbol after a letter or digit (`a|,b`, `1|.`): letter pieces end at
 *   the letters (plus a `'s` suffix: the apostrophe is excluded) and digit pieces at 3 digits;
 * - a letter after a digit or a digit after a letter (`a|1`, `1|a`).
 *
 * Characters are classed by code unit (a table built once from the same
 * Unicode properties the regexes use); surrogate halves never take part in a cut.
 */
const LETTER = 1
const DIGIT = 2
const MARK = 3
const SPACE = 4
const WHITESPACE = 5
const APOSTROPHE = 6
const OTHER = 7
const SURROGATE = 8
/** Past the end of the text. */
const END = 0

/** Built at load (about 10 ms), not by the first estimate. */
const classes = classTable()

function classTable(): Uint8Array {
  const table = new Uint8Array(0x10000).fill(OTHER)
  // Every code unit but the surrogates, in one string: index i is code unit i (+0x800 past them).
  const units: string[] = []
  for (let code = 0; code < 0x10000; code++) if (code < 0xd800 || code > 0xdfff) units.push(String.fromCharCode(code))
  const all = units.join('')
  const mark = (pattern: RegExp, value: number) => {
    for (const match of all.matchAll(pattern)) {
      for (let index = match.index; index < match.index + match[0].length; index++)
        table[index < 0xd800 ? index : index + 0x800] = value
    }
  }
  mark(/\p{L}+/gu, LETTER)
  mark(/\p{N}+/gu, DIGIT)
  mark(/\p{M}+/gu, MARK)
  mark(/\s+/gu, WHITESPACE)
  table.fill(SURROGATE, 0xd800, 0xe000)
  table[0x20] = SPACE
  table[0x27] = APOSTROPHE
  return table
}

function isCut(before: number, at: number, after: number): boolean {
  if (at === SPACE)
    return before !== SPACE && before !== WHITESPACE && after !== SPACE && after !== WHITESPACE && after !== END
  if (at === OTHER) return before === LETTER || before === DIGIT
  return (before === LETTER && at === DIGIT) || (before === DIGIT && at === LETTER)
}

/**
 * The end of the segment that starts at `from`: the last clean cut within `size` characters,
 * or the end of the text; or, after `RUN` characters without a clean cut, there (`size` ≥ `RUN`
 * forces nothing; a smaller one cuts anyway, at `size`).
 */
function segmentEnd(text: string, from: number, size = SEGMENT): number {
  const table = classes
  const length = text.length
  const limit = Math.min(length, from + size)
  let cut = from
  let before = table[text.charCodeAt(from)] as number
  let at = from + 1 < length ? (table[text.charCodeAt(from + 1)] as number) : END
  for (let index = from + 1; index < limit; index++) {
    const after = index + 1 < length ? (table[text.charCodeAt(index + 1)] as number) : END
    if (isCut(before, at, after)) cut = index
    else if (index - cut >= RUN) return forcedCut(text, index)
    before = at
    at = after
  }
  if (limit === length) return length
  return cut > from ? cut : forcedCut(text, limit)
}

/** The first clean cut at or after `from` (within `RUN` characters), else `from` itself. */
function cutAfter(text: string, from: number): number {
  const table = classes
  const length = text.length
  const limit = Math.min(length - 1, from + RUN)
  if (from <= 0) return 0
  let before = table[text.charCodeAt(from - 1)] as number
  let at = table[text.charCodeAt(from)] as number
  for (let index = from; index < limit; index++) {
    const after = table[text.charCodeAt(index + 1)] as number
    if (isCut(before, at, after)) return index
    before = at
    at = after
  }
  return forcedCut(text, from)
}

/** A cut where there is no clean one: never between the halves of a surrogate pair. */
function forcedCut(text: string, index: number): number {
  const unit = text.charCodeAt(index)
  return unit >= 0xdc00 && unit <= 0xdfff ? index + 1 : index
}
