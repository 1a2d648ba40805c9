import { highlight } from './highlight.js'

/*
 * A small Markdown renderer that builds DOM nodes and never parses HTML: model output is text,
 * so `<script>` or `<img onerror>` in an answer stays visible text. Covers what chat answers
 * use: fenced code blocks (highlighted), headings, lists, paragraphs, inline code, bold,
 * italics and http(s) links (anything else, `javascript:` included, stays text).
 */

export function renderMarkdown(target: HTMLElement, source: string): void {
  const fragment = document.createDocumentFragment()
  const fence = /^```([\w+-]*)[^\n]*\n([\s\S]*?)(?:^```[ \t]*$|$(?![\s\S]))/gm
  let last = 0
  for (const match of source.matchAll(fence)) {
    blocks(fragment, source.slice(last, match.index))
    const pre = document.createElement('pre')
    const code = document.createElement('code')
    if (match[1]) code.dataset.language = match[1]
    highlight(code, (match[2] ?? '').replace(/\n$/, ''), match[1] ?? '')
    pre.append(code)
    fragment.append(pre)
    last = match.index + match[0].length
  }
  blocks(fragment, source.slice(last))
  target.replaceChildren(fragment)
}

function blocks(parent: Node, source: string): void {
  for (const block of source.split(/\n{2,}/)) {
    const lines = block.split('\n').filter(line => line.trim() !== '')
    if (lines.length === 0) continue
    const heading = /^(#{1,6})\s+(.*)$/.exec(lines[0] ?? '')
    if (heading && lines.length === 1) {
      const node = document.createElement(`h${Math.min(6, (heading[1] ?? '#').length + 2)}`)
      inline(node, heading[2] ?? '')
      parent.appendChild(node)
      continue
    }
    const bullet = /^\s*(?:[-*+]|(\d+)[.)])\s+/
    if (lines.every(line => bullet.test(line))) {
      const list = document.createElement(bullet.exec(lines[0] ?? '')?.[1] ? 'ol' : 'ul')
      for (const line of lines) {
        const item = document.createElement('li')
        inline(item, line.replace(bullet, ''))
        list.append(item)
      }
      parent.appendChild(list)
      continue
    }
    const paragraph = document.createElement('p')
    lines.forEach((line, index) => {
      if (index > 0) paragraph.append(document.createElement('br'))
      inline(paragraph, line)
    })
    parent.appendChild(paragraph)
  }
}

const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g

function inline(parent: HTMLElement, source: string): void {
  let last = 0
  for (const match of source.matchAll(INLINE)) {
    parent.append(source.slice(last, match.index))
    const [whole, code, strong, em, label, href] = match
    if (code !== undefined) parent.append(wrap('code', code))
    else if (strong !== undefined) parent.append(wrap('strong', strong))
    else if (em !== undefined) parent.append(wrap('em', em))
    else if (label !== undefined && href !== undefined && /^https?:\/\//i.test(href)) {
      const link = wrap('a', label)
      link.setAttribute('href', href)
      link.setAttribute('rel', 'noopener noreferrer nofollow')
      link.setAttribute('target', '_blank')
      parent.append(link)
    } else parent.append(whole)
    last = match.index + whole.length
  }
  parent.append(source.slice(last))
}

function wrap(tag: string, content: string): HTMLElement {
  const node = document.createElement(tag)
  node.textContent = content
  return node
}
