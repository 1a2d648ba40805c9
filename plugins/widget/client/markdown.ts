import { Lexer, Tokenizer, type Token, type Tokens } from 'marked'

/*
 * The answer renderer, loaded when the panel first opens (the frame shows plain text until
 * then). marked's lexer turns the text into tokens and this file turns the tokens into DOM
 * nodes with createElement and textContent: no HTML string is ever parsed, so nothing a model
 * writes can become markup, a handler or a script. Raw HTML is not even tokenized (it stays
 * text), images become links (nothing is loaded), and a link keeps its href only for http(s)
 * and mailto; any other link stays the text it was written as.
 */

/** Raw HTML is text: with these two, `<b>` and `<div>` go on through the ordinary rules. */
class NoHtml extends Tokenizer {
  override html(): undefined {
    return undefined
  }
  override tag(): undefined {
    return undefined
  }
}

const SAFE_URL = /^(?:https?:|mailto:)/i
const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }
const ENTITY = /&(?:#(\d{1,7})|#[xX]([\da-fA-F]{1,6})|(\w+));/g

/** marked leaves character references to the browser's HTML parser; with none, they are decoded here. */
function decode(text: string): string {
  return text.replace(ENTITY, (whole, dec?: string, hex?: string, name?: string) => {
    if (name !== undefined) return ENTITIES[name] ?? whole
    const code = dec !== undefined ? Number(dec) : parseInt(hex as string, 16)
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : '\ufffd'
  })
}

/** One answer (complete or still streaming) as nodes to put in its bubble. */
export function renderMarkdown(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment()
  const tokens = new Lexer({ gfm: true, breaks: true, tokenizer: new NoHtml() }).lex(text)
  blocks(fragment, tokens)
  return fragment
}

function blocks(parent: Node, tokens: readonly Token[]): void {
  for (const token of tokens) parent.appendChild(block(token))
}

function block(token: Token): Node {
  switch (token.type) {
    case 'paragraph':
      return inline(element('p'), (token as Tokens.Paragraph).tokens)
    case 'heading': {
      const { depth, tokens } = token as Tokens.Heading
      return inline(element(`h${Math.min(Math.max(depth, 1), 6)}` as 'h1'), tokens)
    }
    case 'code': {
      const pre = element('pre')
      pre.appendChild(element('code')).textContent = (token as Tokens.Code).text
      return pre
    }
    case 'blockquote': {
      const quote = element('blockquote')
      blocks(quote, (token as Tokens.Blockquote).tokens)
      return quote
    }
    case 'list':
      return list(token as Tokens.List)
    case 'table':
      return table(token as Tokens.Table)
    case 'hr':
      return element('hr')
    case 'text':
      // A tight list item's text: inline tokens without a paragraph around them.
      return span(token)
    case 'space':
    case 'def':
      return document.createDocumentFragment()
    default:
      return document.createTextNode(token.raw)
  }
}

function list(token: Tokens.List): HTMLElement {
  const node = element(token.ordered ? 'ol' : 'ul')
  if (token.ordered && typeof token.start === 'number' && token.start !== 1)
    node.setAttribute('start', String(token.start))
  for (const item of token.items) {
    const li = node.appendChild(element('li'))
    blocks(li, item.tokens)
  }
  return node
}

function table(token: Tokens.Table): HTMLElement {
  const node = element('table')
  const row = (parent: HTMLElement, cells: readonly Tokens.TableCell[], tag: 'th' | 'td') => {
    const tr = parent.appendChild(element('tr'))
    for (const cell of cells) {
      const td = inline(tr.appendChild(element(tag)), cell.tokens)
      if (cell.align) td.style.textAlign = cell.align
    }
  }
  row(node.appendChild(element('thead')), token.header, 'th')
  if (token.rows.length > 0) {
    const body = node.appendChild(element('tbody'))
    for (const cells of token.rows) row(body, cells, 'td')
  }
  return node
}

function inline<T extends Node>(parent: T, tokens: readonly Token[]): T {
  for (const token of tokens) parent.appendChild(span(token))
  return parent
}

function span(token: Token): Node {
  switch (token.type) {
    case 'text': {
      const { tokens, text } = token as Tokens.Text
      return tokens ? inline(document.createDocumentFragment(), tokens) : document.createTextNode(decode(text))
    }
    case 'escape':
      return document.createTextNode((token as Tokens.Escape).text)
    case 'strong':
    case 'em':
    case 'del':
      return inline(element(token.type), (token as Tokens.Strong).tokens)
    case 'codespan':
      return text(element('code'), (token as Tokens.Codespan).text)
    case 'br':
      return element('br')
    case 'link':
    case 'image':
      return link(token as Tokens.Link | Tokens.Image)
    case 'checkbox':
      return document.createTextNode((token as Tokens.Checkbox).checked ? '☑ ' : '☐ ')
    default:
      return document.createTextNode(token.raw)
  }
}

function link(token: Tokens.Link | Tokens.Image): Node {
  const href = decode(token.href).trim()
  if (!SAFE_URL.test(href)) return document.createTextNode(token.raw)
  const a = element('a')
  a.setAttribute('href', href)
  a.setAttribute('target', '_blank')
  a.setAttribute('rel', 'noopener noreferrer nofollow')
  if (token.title) a.setAttribute('title', decode(token.title))
  // An image is shown as a link to it: an answer loads nothing by itself (no tracking pixel).
  if (token.type === 'image') return text(a, decode(token.text) || href)
  return inline(a, token.tokens)
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K): HTMLElementTagNameMap[K] {
  return document.createElement(tag)
}

function text<T extends Node>(node: T, content: string): T {
  node.textContent = content
  return node
}
