import { text } from './dom.js'
import type * as EngineModule from './markdown-engine.js'
import type { MarkdownRenderer, RenderStats } from './markdown-engine.js'

/*
 * How an answer reaches the page. The renderer (markdown-it, DOMPurify, highlight.js core:
 * markdown-engine.ts) is a chunk of its own: the chat page starts fetching it at once but does
 * not wait, so the first paint only needs this small module. Until it is there, an answer
 * shows as plain text (textContent), then it is rendered in place.
 *
 * While an answer streams, each delta only records the text; rendering happens once per
 * animation frame, and the renderer re-parses only the open tail of the answer.
 */

type Engine = typeof EngineModule

let engine: Promise<Engine | undefined> | undefined
let loaded: Engine | undefined

/** Fetches the renderer (once); resolves to undefined if it could not be loaded. */
export function loadMarkdown(): Promise<Engine | undefined> {
  engine ??= import('./markdown-engine.js').then(
    module => (loaded = module),
    () => {
      engine = undefined
      return undefined
    },
  )
  return engine
}

function labels() {
  return {
    copy: text('copy_code'),
    copied: text('code_copied'),
    copyFailed: text('copy_failed'),
    plainCode: text('code_plain'),
  }
}

/** One answer's body, rendered from its Markdown source as it grows. */
export class MarkdownView {
  private source = ''
  private final = false
  private frame = 0
  private waiting = false
  private renderer: MarkdownRenderer | undefined

  /** `rendered` runs after each render (the chat keeps the log scrolled to the end). */
  constructor(
    private readonly target: HTMLElement,
    private readonly rendered: () => void = () => undefined,
  ) {}

  /** The answer so far: rendered at the next animation frame, however many deltas came before it. */
  set(source: string): void {
    this.source = source
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.flush())
  }

  /** The whole answer: rendered now, with every block closed. */
  finish(source = this.source): void {
    this.source = source
    this.final = true
    this.flush()
  }

  /** Renders what `set` recorded, now. */
  flush(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame)
    this.frame = 0
    if (!loaded) {
      this.target.classList.add('md-plain')
      this.target.textContent = this.source
      this.rendered()
      if (!this.waiting) {
        this.waiting = true
        void loadMarkdown().then(module => module && this.flush())
      }
      return
    }
    this.target.classList.remove('md-plain')
    this.renderer ??= new loaded.MarkdownRenderer(this.target, labels())
    this.renderer.render(this.source, this.final)
    this.rendered()
  }

  /** What rendering cost so far (the browser tests check that streaming stays linear). */
  get stats(): RenderStats | undefined {
    return this.renderer?.stats
  }
}
