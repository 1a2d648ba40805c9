/*
 * Code highlighting for answers: a small tokenizer (comments, strings, numbers, keywords of
 * the common languages) that wraps tokens in <span class="tok-…"> built with textContent, so
 * highlighting can never turn code into markup. Good enough for reading; not a parser.
 */

const HASH_COMMENTS = new Set(['py', 'python', 'sh', 'bash', 'shell', 'zsh', 'yaml', 'yml', 'toml', 'rb', 'ruby', 'r', 'perl', 'dockerfile', 'makefile', 'ini', 'conf'])
const KEYWORDS = new Set(
  (
    'abstract as async await break case catch class const continue def default defer del do elif else enum export extends ' +
    'false final finally fn for from func function go if impl import in interface let loop match mod module mut new nil None ' +
    'not null or package pass private protected pub public raise return self select static struct super switch this throw ' +
    'trait True true False try type typeof use var void where while with yield lambda and is elif echo fi then done esac'
  ).split(' '),
)

type Rule = readonly [kind: string, pattern: RegExp]

function rulesFor(language: string): Rule[] {
  const comment = HASH_COMMENTS.has(language.toLowerCase()) ? /#[^\n]*/y : /\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|<!--[\s\S]*?(?:-->|$)/y
  return [
    ['comment', comment],
    ['string', /"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`(?:[^`\\]|\\.)*`?/y],
    ['number', /\b(?:0x[\da-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?)\b/iy],
    ['word', /[A-Za-z_$][\w$]*/y],
  ]
}

/** Fills `code` with `source`, tokens wrapped in spans. */
export function highlight(code: HTMLElement, source: string, language: string): void {
  const rules = rulesFor(language)
  const fragment = document.createDocumentFragment()
  let plain = ''
  let position = 0
  const flush = () => {
    if (plain) fragment.append(plain)
    plain = ''
  }
  outer: while (position < source.length) {
    for (const [kind, pattern] of rules) {
      pattern.lastIndex = position
      const match = pattern.exec(source)
      if (!match || match[0] === '') continue
      const token = match[0]
      position += token.length
      if (kind === 'word' && !KEYWORDS.has(token)) {
        plain += token
        continue outer
      }
      flush()
      const span = document.createElement('span')
      span.className = `tok-${kind === 'word' ? 'keyword' : kind}`
      span.textContent = token
      fragment.append(span)
      continue outer
    }
    plain += source[position]
    position++
  }
  flush()
  code.replaceChildren(fragment)
}
