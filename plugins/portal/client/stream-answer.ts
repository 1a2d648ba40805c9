import type { Delta } from './chat-api.js'
import type { StoredMessage } from './history.js'

/** The part of a message view (chat.ts `messageView`) that an answer streams into. */
interface AnswerView {
  readonly item: HTMLLIElement
  update(): void
  finish(): void
}

/**
 * Adds an answer's view to the log and shows the answer as its deltas arrive. The item's
 * `data-state` ends `done`, `stopped` (the reader was aborted) or `error` (`fail` is told);
 * it is `aria-busy` meanwhile, so screen readers wait for the finished answer, not every delta.
 * The chat page and server history (chat-server.ts) both stream through it; it never throws
 * unless `fail` does.
 */
export async function streamInto(
  log: HTMLElement,
  view: AnswerView,
  answer: StoredMessage,
  deltas: AsyncIterable<Delta>,
  fail: (error: unknown) => void,
): Promise<void> {
  view.item.dataset.state = 'streaming'
  view.item.setAttribute('aria-busy', 'true')
  log.append(view.item)
  try {
    for await (const delta of deltas) {
      if (delta.reasoning) answer.reasoning = (answer.reasoning ?? '') + delta.reasoning
      if (delta.content) answer.content += delta.content
      view.update()
    }
    view.finish()
    view.item.dataset.state = 'done'
  } catch (error) {
    view.finish()
    if (error instanceof DOMException && error.name === 'AbortError') view.item.dataset.state = 'stopped'
    else {
      view.item.dataset.state = 'error'
      fail(error)
    }
  } finally {
    view.item.removeAttribute('aria-busy')
  }
}
