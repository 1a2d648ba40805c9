import type { TokenUsage } from './stream-tap.js'

/* A whole (not streamed) JSON answer of an upstream, read as little as possible. */

const USAGE_KEY = Buffer.from('"usage":')

/**
 * The usage of a whole JSON answer, read without parsing the rest of it: the last `"usage":`
 * key (OpenAI puts it after the choices or the output; inside a string its quotes would be
 * escaped) and its object. Undefined when there is none or it does not read as usage; the
 * caller then parses the answer whole.
 */
export function usageInAnswer(bytes: Buffer, read: (value: unknown) => TokenUsage | undefined): TokenUsage | undefined {
  const key = bytes.lastIndexOf(USAGE_KEY)
  if (key < 0) return undefined
  let start = key + USAGE_KEY.length
  while (isSpace(bytes[start])) start++
  if (bytes[start] !== 0x7b) return undefined
  const end = objectEnd(bytes, start)
  return end < 0 ? undefined : read(parseJson(bytes.toString('utf8', start, end)))
}

/** Whether a whole answer is framed as a JSON object: `{`…`}` around it, whitespace aside. */
export function framedAsObject(bytes: Buffer): boolean {
  let first = 0
  let last = bytes.length - 1
  while (first <= last && isSpace(bytes[first])) first++
  while (last > first && isSpace(bytes[last])) last--
  return bytes[first] === 0x7b && bytes[last] === 0x7d
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

/** Index just past the object that opens at `start`, strings and escapes respected; -1 if it never closes. */
function objectEnd(bytes: Buffer, start: number): number {
  let depth = 0
  let inString = false
  for (let index = start; index < bytes.length; index++) {
    const byte = bytes[index]
    if (inString) {
      if (byte === 0x5c) index++
      else if (byte === 0x22) inString = false
    } else if (byte === 0x22) inString = true
    else if (byte === 0x7b || byte === 0x5b) depth++
    else if ((byte === 0x7d || byte === 0x5d) && --depth === 0) return index + 1
  }
  return -1
}

export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
