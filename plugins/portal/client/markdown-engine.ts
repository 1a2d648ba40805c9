import { tex } from '@mdit/plugin-tex'
import DOMPurify from 'dompurify'
import MarkdownIt from 'markdown-it'
import type Token from 'markdown-it/lib/token.mjs'
import { enhanceCode } from './markdown-code.js'
import { renderPendingMath } from './markdown-math.js'

/*
 * The answer renderer, a chunk of its own that the page loads at start without waiting for it
 * (markdown.ts shows plain text until it is there). markdown-it turns Markdown into HTML with
 * raw HTML off; DOMPurify keeps only the elements and attributes markdown-it makes, and links
 * to http(s) and mailto; code blocks get a language label, a copy button and highlight.js;
 * math becomes placeholders that KaTeX fills (both loaded lazily, see markdown-code.ts and
 * markdown-math.ts).
 *
 * While an answer streams, the blocks it has finished are rendered once and kept; each frame
 * parses and renders only the open tail (the last top-level block and whatever touches it), so
 * a long answer costs about its length, not its length times the number of chunks.
 */

/** Texts in the page language (the portal's `data-role="texts"` block). */
export interface MarkdownLabels {
  readonly copy: string
  readonly copied: string
  readonly copyFailed: string
  readonly plainCode: string
}

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false })
md.use(tex, {
  delimiters: 'all',
  // The TeX source stays the placeholder's text: readable until KaTeX is there, and what it reads.
  render: (content: string, displayMode: boolean) =>
    displayMode
      ? `<div class="md-math md-math-display">${md.utils.escapeHtml(content.trim())}</div>\n`
      : `<span class="md-math">${md.utils.escapeHtml(content)}</span>`,
})

// Links go to http(s) and mailto only; anything else (javascript:, data:, relative) stays text.
const SAFE_URL = /^(?:https?:|mailto:)/i
md.validateLink = url => SAFE_URL.test(url.trim())

// The page has its own h1 and h2: answer headings start at h3.
md.core.ruler.push('parley_headings', state => {
  for (const token of state.tokens) {
    if (token.type === 'heading_open' || token.type === 'heading_close')
      token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + 2)}`
  }
})
// Table alignment as a class: a style attribute would break the CSP (style-src 'self').
md.core.ruler.push('parley_align', state => {
  for (const token of state.tokens) {
    const style = token.attrGet('style')
    if (style === null) continue
    token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style')
    const align = /text-align:\s*(left|center|right)/.exec(style)?.[1]
    if (align) token.attrJoin('class', `md-align-${align}`)
  }
})

md.renderer.rules.link_open = (tokens, index, options, _env, self) => {
  const token = tokens[index] as Token
  token.attrSet('target', '_blank')
  token.attrSet('rel', 'noopener noreferrer nofollow')
  return self.renderToken(tokens, index, options)
}
// Images would load from anywhere (and the CSP allows none but ours): an image becomes a link to it.
md.renderer.rules.image = (tokens, index) => {
  const token = tokens[index] as Token
  const alt = md.utils.escapeHtml(token.content || token.attrGet('src') || '')
  const src = token.attrGet('src') ?? ''
  return SAFE_URL.test(src)
    ? `<a href="${md.utils.escapeHtml(src)}" target="_blank" rel="noopener noreferrer nofollow">${alt}</a>`
    : alt
}
md.renderer.rules.fence = (tokens, index) => {
  const token = tokens[index] as Token
  const language = md.utils.escapeHtml(token.info.trim().split(/\s+/)[0] ?? '')
  const attributes = language ? ` class="language-${language}" data-language="${language}"` : ''
  return `<pre><code${attributes}>${md.utils.escapeHtml(token.content.replace(/\n$/, ''))}</code></pre>\n`
}

const purify = DOMPurify(window)
const SANITIZE: Parameters<typeof purify.sanitize>[1] & { RETURN_DOM_FRAGMENT: true } = {
  ALLOWED_TAGS: [
    'a',
    'blockquote',
    'br',
    'code',
    'del',
    'div',
    'em',
    'h3',
    'h4',
    'h5',
    'h6',
    'hr',
    'li',
    'ol',
    'p',
    'pre',
    's',
    'span',
    'strong',
    'table',
    'tbody',
    'td',
    'th',
    'thead',
    'tr',
    'ul',
  ],
  ALLOWED_ATTR: ['href', 'title', 'target', 'rel', 'class', 'start', 'data-language'],
  ALLOW_DATA_ATTR: false,
  // href is checked against SAFE_URL; these are not URLs (DOMPurify would check them too).
  ADD_URI_SAFE_ATTR: ['target', 'rel', 'start', 'data-language'],
  ALLOWED_URI_REGEXP: SAFE_URL,
  RETURN_DOM_FRAGMENT: true,
}

function toFragment(html: string, labels: MarkdownLabels): DocumentFragment {
  const fragment = purify.sanitize(html, SANITIZE)
  // The line breaks markdown-it puts between blocks are no content (the body's text is the answer's).
  for (const node of [...fragment.childNodes])
    if (node.nodeType === Node.TEXT_NODE && node.textContent?.trim() === '') node.remove()
  enhanceCode(fragment, labels)
  renderPendingMath(fragment)
  return fragment
}

/** One parsed top-level block: its tokens [start, end) and source lines [first, last). */
interface Block {
  readonly start: number
  readonly end: number
  readonly lines: readonly [number, number]
}

function topLevelBlocks(tokens: readonly Token[]): Block[] {
  const blocks: Block[] = []
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as Token
    if (token.level !== 0 || token.nesting === -1 || !token.map) continue
    let end = index + 1
    if (token.nesting === 1) {
      while (end < tokens.length && !((tokens[end] as Token).level === 0 && (tokens[end] as Token).nesting === -1))
        end++
      end++
    }
    blocks.push({ start: index, end, lines: [token.map[0], token.map[1]] })
    index = end - 1
  }
  return blocks
}

/** Where line `line` of `text` starts (markdown-it counts \r\n, \r and \n as line ends). */
function lineOffset(text: string, line: number): number {
  const breaks = /\r\n?|\n/g
  for (let seen = 0; seen < line; seen++) if (!breaks.exec(text)) return text.length
  return line === 0 ? 0 : breaks.lastIndex
}

export interface RenderStats {
  /** Characters parsed in all: about the answer's length when rendering is incremental. */
  parsed: number
  /** Renders that started again from the first character of a non-empty answer. */
  restarts: number
  /** Renders in all (one per frame while streaming). */
  renders: number
}

/** Renders one answer into `target`, again and again as it grows. */
export class MarkdownRenderer {
  readonly stats: RenderStats = { parsed: 0, restarts: 0, renders: 0 }
  private source = ''
  /** Characters of `source` whose blocks are rendered for good. */
  private frozen = 0
  /** The nodes of the open tail, replaced on every render. */
  private tail: ChildNode[] = []
  private references = false

  constructor(
    private readonly target: HTMLElement,
    private readonly labels: MarkdownLabels,
  ) {}

  /**
   * Shows `source`. If it extends what was shown, only the open tail is parsed again; with
   * `final`, every block is closed (the answer is complete).
   */
  render(source: string, final = false): void {
    this.stats.renders++
    if (!source.startsWith(this.source) || this.stats.renders === 1 || this.source === '') {
      if (this.source !== '') this.stats.restarts++
      this.target.replaceChildren()
      this.tail = []
      this.frozen = 0
      this.references = false
    }
    this.source = source
    const text = source.slice(this.frozen)
    const env: { references?: Record<string, unknown> } = {}
    const tokens = md.parse(text, env)
    this.stats.parsed += text.length
    // Reference definitions reach back to earlier blocks: the final render redoes the answer whole.
    if (Object.keys(env.references ?? {}).length > 0) this.references = true
    if (final && this.references && this.frozen > 0) {
      this.stats.restarts++
      this.source = ''
      return this.render(source, true)
    }
    const blocks = topLevelBlocks(tokens)
    // Blocks followed by a blank line and another block cannot change any more; the rest stays open.
    let open = final ? blocks.length : 0
    if (!final) {
      for (let index = blocks.length - 2; index >= 0; index--) {
        if ((blocks[index] as Block).lines[1] < (blocks[index + 1] as Block).lines[0]) {
          open = index + 1
          break
        }
      }
    }
    for (const node of this.tail) node.remove()
    if (open > 0) {
      const cut = blocks[open]
      const html = md.renderer.render(tokens.slice(0, cut ? cut.start : tokens.length), md.options, env)
      this.target.append(toFragment(html, this.labels))
      this.frozen += cut ? lineOffset(text, cut.lines[0]) : text.length
    }
    const rest = blocks[open]
    if (rest) {
      const fragment = toFragment(md.renderer.render(tokens.slice(rest.start), md.options, env), this.labels)
      this.tail = [...fragment.childNodes]
      this.target.append(fragment)
    } else this.tail = []
  }
}
