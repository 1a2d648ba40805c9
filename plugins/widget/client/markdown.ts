import DOMPurify from 'dompurify'
import MarkdownIt from 'markdown-it'

/*
 * The answer renderer, loaded when the first answer arrives (the frame shows plain text until
 * then): markdown-it with raw HTML off, then DOMPurify keeping only what markdown-it makes and
 * links to http(s) and mailto, each opening in a new tab.
 */

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false })
const SAFE_URL = /^(?:https?:|mailto:)/i
md.validateLink = url => SAFE_URL.test(url.trim())

DOMPurify.addHook('afterSanitizeAttributes', node => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer nofollow')
  }
})

export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(md.render(text), {
    ALLOWED_TAGS: [
      'p',
      'br',
      'strong',
      'em',
      'code',
      'pre',
      'ul',
      'ol',
      'li',
      'a',
      'blockquote',
      'h1',
      'h2',
      'h3',
      'h4',
      'hr',
      'table',
      'thead',
      'tbody',
      'tr',
      'th',
      'td',
      'del',
      's',
    ],
    ALLOWED_ATTR: ['href', 'target', 'rel'],
  })
}
