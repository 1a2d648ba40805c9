import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'

/**
 * How deep a JSON body may nest. Chat requests nest about six levels, tool schemas a few dozen;
 * a body of 100,000 `[` parses, but everything that walks it recursively afterwards (the
 * validator, `JSON.stringify` for the upstream) overflows the stack. It is the client's fault:
 * refused before anything else sees the body.
 */
export const JSON_MAX_DEPTH = 128

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d

/**
 * Whether `text` nests deeper than `max`, counting brackets outside strings. Hand-written
 * rather than a reviver or a walk of the parsed value: one linear pass over the characters
 * costs about a nanosecond each (a chat body of 1 KB: ~1 µs, on every data-plane call) and
 * needs no stack of its own. Malformed text is left to `JSON.parse`, which names the problem.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === BACKSLASH) i++
      else if (code === QUOTE) inString = false
    } else if (code === QUOTE) {
      inString = true
    } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++depth > max) return true
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) {
      depth--
    }
  }
  return false
}

/**
 * Fastify's own JSON parser (secure-json-parse: `__proto__` and `constructor.prototype` refused)
 * behind the depth check. Installed on the root instance, so every plugin scope inherits it.
 */
export const jsonBody = fp(
  function jsonBody(app: FastifyInstance, _options: unknown, ready: () => void) {
    const parse = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = body as string
      if (nestsDeeperThan(text, JSON_MAX_DEPTH)) {
        done(errors.PARLEY_ERR_HTTP_TOO_DEEP({ max: JSON_MAX_DEPTH }), undefined)
        return
      }
      // A NUL reaches SQLite inside the SQL text MikroORM formats, where it ends the statement
      // (a 500). No field of any route has a use for one: refused before anything reads it.
      if (escapesNul(text)) {
        done(errors.PARLEY_ERR_HTTP_NUL({ where: 'body' }), undefined)
        return
      }
      parse(request, text, done)
    })
    ready()
  },
  { name: 'parley-json-body', fastify: '5.x', dependencies: ['parley-error-envelope'] },
)

const NUL_ESCAPE = '\\u0000'

/** Whether JSON text escapes a NUL (`\u0000` whose backslash is not itself escaped); raw NULs are not JSON. */
function escapesNul(text: string): boolean {
  for (let at = text.indexOf(NUL_ESCAPE); at >= 0; at = text.indexOf(NUL_ESCAPE, at + 1)) {
    let backslashes = 0
    while (at - backslashes - 1 >= 0 && text.charCodeAt(at - backslashes - 1) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return true
  }
  return false
}
