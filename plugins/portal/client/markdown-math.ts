import type katexModule from 'katex'

/*
 * Math in answers: markdown-engine.ts leaves `.md-math` placeholders holding the TeX source;
 * KaTeX (a chunk of its own, with its stylesheet and fonts from the bundle folder) fills them
 * the first time an answer has math. KaTeX builds DOM nodes and sets their styles through the
 * CSSOM, which the CSP (style-src 'self') allows; no HTML string is parsed. `trust: false`
 * turns \href, \url, \includegraphics and \html… into error text.
 */

/** Set by the build (core buildClientBundle, `lazyStylesheets`): the URL of katex-<hash>.css. */
declare const PARLEY_STYLESHEETS: { readonly katex: string }

type Katex = typeof katexModule

let katex: Katex | undefined
let loading: Promise<void> | undefined

const PENDING = '.md-math:not([data-rendered])'

function typeset(element: HTMLElement, engine: Katex): void {
  const source = element.textContent ?? ''
  element.dataset.rendered = 'true'
  try {
    engine.render(source, element, {
      displayMode: element.classList.contains('md-math-display'),
      // KaTeX's own error output sets a style attribute, which the CSP refuses: errors come here.
      throwOnError: true,
      trust: false,
      // Chinese text inside \text{} and the like is fine here: no console warnings about it.
      strict: 'ignore',
      maxSize: 20,
      maxExpand: 500,
      output: 'htmlAndMathml',
    })
  } catch (error) {
    // Invalid TeX (or an answer still streaming) stays its source, marked, with KaTeX's message.
    element.textContent = source
    element.classList.add('md-math-error')
    element.title = error instanceof Error ? error.message : String(error)
  }
}

function load(): Promise<void> {
  if (loading) return loading
  // The stylesheet first (its fonts load when KaTeX uses them), so no formula shows unstyled.
  const stylesheet = new Promise<void>(resolve => {
    const link = document.createElement('link')
    link.rel = 'stylesheet'
    link.href = PARLEY_STYLESHEETS.katex
    link.addEventListener('load', () => resolve())
    link.addEventListener('error', () => resolve())
    document.head.append(link)
  })
  loading = Promise.all([import('katex'), stylesheet]).then(
    ([module]) => {
      katex = module.default
      for (const element of document.querySelectorAll<HTMLElement>(PENDING)) typeset(element, module.default)
    },
    () => {
      loading = undefined
    },
  )
  return loading
}

/** Typesets the math placeholders of `root`: now if KaTeX is here, else once it has loaded. */
export function renderPendingMath(root: ParentNode): void {
  const pending = root.querySelectorAll<HTMLElement>(PENDING)
  if (pending.length === 0) return
  if (katex) for (const element of pending) typeset(element, katex)
  else void load()
}
