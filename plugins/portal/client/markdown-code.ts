import DOMPurify from 'dompurify'
import hljs from 'highlight.js/lib/core'
import type { LanguageFn } from 'highlight.js'
import type { MarkdownLabels } from './markdown-engine.js'

/*
 * Code blocks in answers: a header with the language and a copy button, and highlight.js. Only
 * its core is in the renderer's chunk; each language below is a chunk of its own, fetched the
 * first time an answer uses it (then the blocks waiting for it are highlighted).
 */

type Loader = () => Promise<{ default: LanguageFn }>

const LANGUAGES: Readonly<Record<string, Loader>> = {
  bash: () => import('highlight.js/lib/languages/bash'),
  c: () => import('highlight.js/lib/languages/c'),
  cpp: () => import('highlight.js/lib/languages/cpp'),
  csharp: () => import('highlight.js/lib/languages/csharp'),
  css: () => import('highlight.js/lib/languages/css'),
  diff: () => import('highlight.js/lib/languages/diff'),
  dockerfile: () => import('highlight.js/lib/languages/dockerfile'),
  go: () => import('highlight.js/lib/languages/go'),
  graphql: () => import('highlight.js/lib/languages/graphql'),
  ini: () => import('highlight.js/lib/languages/ini'),
  java: () => import('highlight.js/lib/languages/java'),
  javascript: () => import('highlight.js/lib/languages/javascript'),
  json: () => import('highlight.js/lib/languages/json'),
  kotlin: () => import('highlight.js/lib/languages/kotlin'),
  lua: () => import('highlight.js/lib/languages/lua'),
  makefile: () => import('highlight.js/lib/languages/makefile'),
  markdown: () => import('highlight.js/lib/languages/markdown'),
  php: () => import('highlight.js/lib/languages/php'),
  powershell: () => import('highlight.js/lib/languages/powershell'),
  python: () => import('highlight.js/lib/languages/python'),
  r: () => import('highlight.js/lib/languages/r'),
  ruby: () => import('highlight.js/lib/languages/ruby'),
  rust: () => import('highlight.js/lib/languages/rust'),
  scss: () => import('highlight.js/lib/languages/scss'),
  shell: () => import('highlight.js/lib/languages/shell'),
  sql: () => import('highlight.js/lib/languages/sql'),
  swift: () => import('highlight.js/lib/languages/swift'),
  typescript: () => import('highlight.js/lib/languages/typescript'),
  xml: () => import('highlight.js/lib/languages/xml'),
  yaml: () => import('highlight.js/lib/languages/yaml'),
}

/** What answers write after ``` → the language above (highlight.js knows these aliases once a language is loaded). */
const ALIASES: Readonly<Record<string, string>> = {
  sh: 'bash',
  zsh: 'bash',
  shellscript: 'bash',
  console: 'shell',
  shellsession: 'shell',
  h: 'c',
  'c++': 'cpp',
  cc: 'cpp',
  cxx: 'cpp',
  hpp: 'cpp',
  cs: 'csharp',
  'c#': 'csharp',
  patch: 'diff',
  docker: 'dockerfile',
  golang: 'go',
  gql: 'graphql',
  toml: 'ini',
  conf: 'ini',
  jsx: 'javascript',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  node: 'javascript',
  jsonc: 'json',
  json5: 'json',
  kt: 'kotlin',
  kts: 'kotlin',
  make: 'makefile',
  mk: 'makefile',
  md: 'markdown',
  ps: 'powershell',
  ps1: 'powershell',
  pwsh: 'powershell',
  py: 'python',
  python3: 'python',
  rb: 'ruby',
  rs: 'rust',
  sass: 'scss',
  mysql: 'sql',
  postgres: 'sql',
  postgresql: 'sql',
  sqlite: 'sql',
  plsql: 'sql',
  ts: 'typescript',
  tsx: 'typescript',
  mts: 'typescript',
  html: 'xml',
  xhtml: 'xml',
  svg: 'xml',
  vue: 'xml',
  yml: 'yaml',
}

const loading = new Map<string, Promise<void>>()
const purify = DOMPurify(window)

function languageOf(name: string): string | undefined {
  const lower = name.toLowerCase()
  const id = ALIASES[lower] ?? lower
  return id in LANGUAGES ? id : undefined
}

function highlight(code: HTMLElement, language: string): void {
  const html = hljs.highlight(code.textContent ?? '', { language, ignoreIllegals: true }).value
  // highlight.js escapes the code and adds only <span class="hljs-…">; sanitised all the same.
  code.replaceChildren(
    purify.sanitize(html, { ALLOWED_TAGS: ['span'], ALLOWED_ATTR: ['class'], RETURN_DOM_FRAGMENT: true }),
  )
  code.classList.add('hljs')
  delete code.dataset.highlight
}

function load(language: string): void {
  if (loading.has(language)) return
  const loader = LANGUAGES[language]
  if (!loader) return
  loading.set(
    language,
    loader().then(
      module => {
        hljs.registerLanguage(language, module.default)
        for (const code of document.querySelectorAll<HTMLElement>(`code[data-highlight="${language}"]`))
          highlight(code, language)
      },
      () => {
        loading.delete(language)
      },
    ),
  )
}

/** Wraps each code block of `root` in its header, and highlights it (now, or when its language arrives). */
export function enhanceCode(root: ParentNode, labels: MarkdownLabels): void {
  for (const code of root.querySelectorAll<HTMLElement>('pre > code')) {
    const pre = code.parentElement as HTMLElement
    const name = code.dataset.language ?? ''
    const figure = document.createElement('div')
    figure.className = 'md-code'
    const header = document.createElement('div')
    header.className = 'md-code-header'
    const label = document.createElement('span')
    label.className = 'md-code-language'
    label.textContent = name || labels.plainCode
    const copy = document.createElement('button')
    copy.type = 'button'
    copy.className = 'md-code-copy'
    copy.dataset.action = 'copy-code'
    copy.textContent = labels.copy
    let reset: ReturnType<typeof setTimeout> | undefined
    copy.addEventListener('click', () => {
      const done = (feedback: string) => {
        copy.textContent = feedback
        clearTimeout(reset)
        reset = setTimeout(() => (copy.textContent = labels.copy), 2000)
      }
      const write = navigator.clipboard?.writeText(code.textContent ?? '')
      if (!write) return done(labels.copyFailed)
      write.then(
        () => done(labels.copied),
        () => done(labels.copyFailed),
      )
    })
    header.append(label, copy)
    pre.replaceWith(figure)
    figure.append(header, pre)

    const language = languageOf(name)
    if (!language) continue
    if (hljs.getLanguage(language)) highlight(code, language)
    else {
      code.dataset.highlight = language
      load(language)
    }
  }
}
