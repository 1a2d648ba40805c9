import { listModels, type ChatModel } from './chat-api.js'
import { Attachments } from './chat-attach.js'
import { withImages } from './chat-images.js'
import type { ChatSettings } from './chat.js'
import { ConversationSidebar } from './chat-sidebar.js'
import {
  allMessages,
  createConversation,
  getConversation,
  imagesIn,
  modelOf,
  streamSend,
  type Send,
  type ServerConversation,
  type ServerMessage,
  textOf,
} from './conversations-api.js'
import { showErrorDialog } from './dialog.js'
import { element, role, text } from './dom.js'
import type { StoredMessage } from './history.js'
import { ApiError } from './session.js'
import { installChatShortcuts } from './shortcuts.js'
import { streamInto } from './stream-answer.js'

/*
 * The chat page in `server` history mode (docs/portal.md, docs/conversations.md): what the page
 * shows is what the server stored, so the same history is on every device. Sends go to the
 * conversations API, which stores the question before the answer streams; stopping leaves a
 * `stopped` answer; regenerate and edit-and-resend act on the last question.
 */

type View = { item: HTMLLIElement; update(): void; finish(): void }

/** What chat.ts lends this module (passed in, so the two never import each other). */
export interface ChatParts {
  messageView(message: StoredMessage, regenerate: () => void, rendered: () => void): View
  fillModels(picker: HTMLSelectElement, models: readonly ChatModel[]): void
}

export async function startServerChat(root: HTMLElement, parts: ChatParts, settings: ChatSettings): Promise<void> {
  const picker = role<HTMLSelectElement>(root, 'model')
  const log = role<HTMLOListElement>(root, 'log')
  const composer = role<HTMLFormElement>(root, 'composer')
  const prompt = role<HTMLTextAreaElement>(root, 'prompt')
  const sendButton = role<HTMLButtonElement>(root, 'send')
  const stopButton = role<HTMLButtonElement>(root, 'stop')
  let current: ServerConversation | undefined
  let running: AbortController | undefined
  /** The last question's id (edit and resend), once the server has said it. */
  let lastQuestion: { id: number; content: string; item: HTMLLIElement } | undefined
  let editing: number | undefined
  /**
   * The open conversation's history while it loads: a question sent meanwhile waits for it, or
   * the history, arriving after, would replace the log and the answer streaming into it.
   */
  let loading: Promise<void> | undefined
  // Images attached to the next question (chat-attach.ts), filed under the conversation's id.
  const attachments = settings.uploads
    ? new Attachments(root, settings.uploads, () => (current ? String(current.id) : undefined))
    : undefined
  // A chat's own system prompt and temperature are not stored on the server: no popover here.
  root.querySelector<HTMLElement>('.chat-settings')?.setAttribute('hidden', '')

  const sidebar = new ConversationSidebar(root, {
    open: conversation => void open(conversation),
    busy: () => !!running,
  })
  const scrollToEnd = () => {
    if (running) log.scrollTop = log.scrollHeight
  }
  const setRunning = (controller: AbortController | undefined) => {
    running = controller
    sendButton.hidden = controller !== undefined
    stopButton.hidden = controller === undefined
    root.dataset.streaming = controller ? 'true' : 'false'
  }

  /** The edit button lives on the last question only. */
  const markLastQuestion = () => {
    for (const button of log.querySelectorAll('[data-action="edit"]')) button.remove()
    if (!lastQuestion) return
    const edit = element('button', {
      className: 'link-button chat-edit',
      text: text('edit_question'),
      attributes: { type: 'button', 'data-action': 'edit' },
    })
    const question = lastQuestion
    edit.addEventListener('click', () => {
      if (running) return
      editing = question.id
      prompt.value = question.content
      root.dataset.editing = 'true'
      prompt.focus()
    })
    question.item.append(edit)
  }

  const render = (messages: readonly ServerMessage[]) => {
    lastQuestion = undefined
    log.replaceChildren(
      ...messages
        .filter(message => message.role !== 'system')
        .map(message => {
          const content = textOf(message.content)
          const images = imagesIn(message.content)
          const view = parts.messageView(
            { role: message.role as 'user' | 'assistant', content, ...(images ? { images } : {}) },
            regenerate,
            scrollToEnd,
          )
          if (message.role === 'assistant' && message.status !== 'completed') view.item.dataset.state = message.status
          if (message.role === 'user') lastQuestion = { id: message.id, content, item: view.item }
          return view.item
        }),
    )
    markLastQuestion()
  }

  async function open(conversation: ServerConversation | undefined): Promise<void> {
    if (running) return
    current = conversation
    editing = undefined
    delete root.dataset.editing
    sidebar.select(conversation?.id)
    const url = conversation ? `/chat?c=${conversation.id}` : '/chat'
    if (location.pathname + location.search !== url) history.replaceState(null, '', url)
    if (!conversation) {
      lastQuestion = undefined
      log.replaceChildren()
      prompt.focus()
      return
    }
    const model = modelOf(conversation)
    if ([...picker.options].some(option => option.value === model)) picker.value = model
    const load = (async () => {
      try {
        const messages = await allMessages(conversation.id)
        // Another conversation opened meanwhile: its view is not this history's.
        if (current === conversation) render(messages)
      } catch (error) {
        fail(error)
      }
    })()
    loading = load
    await load
    if (loading === load) loading = undefined
    prompt.focus()
  }

  async function exchange(what: Send, question: string | undefined, images?: string[]): Promise<void> {
    if (running) return
    const controller = new AbortController()
    setRunning(controller)
    try {
      await loading
      if (!current) {
        current = await createConversation(picker.value)
        sidebar.touch(current)
        sidebar.select(current.id)
        history.replaceState(null, '', `/chat?c=${current.id}`)
      }
      const conversation = current
      const first = conversation.title_source === 'none'
      if (what.kind === 'edit' && lastQuestion) {
        // The edited question and everything after it are replaced.
        while (log.lastElementChild && log.lastElementChild !== lastQuestion.item) log.lastElementChild.remove()
        lastQuestion.item.remove()
      }
      if (what.kind === 'regenerate' && log.lastElementChild?.getAttribute('data-role') === 'message-assistant')
        log.lastElementChild.remove()
      if (question !== undefined) {
        const view = parts.messageView(
          { role: 'user', content: question, ...(images?.length ? { images } : {}) },
          regenerate,
          scrollToEnd,
        )
        log.append(view.item)
      }
      const answer: StoredMessage = { role: 'assistant', content: '' }
      const view = parts.messageView(answer, regenerate, scrollToEnd)
      await streamInto(log, view, answer, streamSend(conversation.id, what, controller.signal), fail)
      // The server's view of the exchange: its ids (edit), its title (first words, then the job's).
      const [fresh, messages] = await Promise.all([getConversation(conversation.id), allMessages(conversation.id)])
      Object.assign(conversation, fresh)
      sidebar.touch(conversation)
      const last = messages.findLast(message => message.role === 'user')
      const items = log.querySelectorAll<HTMLLIElement>('[data-role="message-user"]')
      lastQuestion =
        last && items.length > 0
          ? { id: last.id, content: textOf(last.content), item: items[items.length - 1] as HTMLLIElement }
          : undefined
      markLastQuestion()
      if (first || fresh.title_source === 'question') void sidebar.awaitTitle(conversation)
    } catch (error) {
      fail(error)
    } finally {
      setRunning(undefined)
    }
  }

  const submit = async () => {
    const text = prompt.value.trim()
    if (running || picker.value === '') return
    let images: string[] | undefined
    if (attachments && !attachments.empty) {
      images = await attachments.keys()
      if (!images) return
    }
    if (text === '' && !images?.length) return
    const content = withImages(text, images)
    prompt.value = ''
    attachments?.clear()
    const edited = editing
    editing = undefined
    delete root.dataset.editing
    await exchange(
      edited !== undefined ? { kind: 'edit', messageId: edited, content } : { kind: 'send', content },
      text,
      images,
    )
  }

  function regenerate(): void {
    if (!running && current && lastQuestion) void exchange({ kind: 'regenerate' }, undefined)
  }

  composer.addEventListener('submit', event => {
    event.preventDefault()
    void submit()
  })
  prompt.addEventListener('keydown', event => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      void submit()
    }
  })
  stopButton.addEventListener('click', () => running?.abort())
  root.querySelector('[data-action="new-chat"]')?.addEventListener('click', () => void open(undefined))
  const shortcuts = role<HTMLDialogElement>(document, 'shortcuts')
  const help = () => {
    if (!shortcuts.open) shortcuts.showModal()
  }
  root.querySelector('[data-action="shortcuts"]')?.addEventListener('click', help)
  installChatShortcuts({
    newChat: () => void open(undefined),
    focusPrompt: () => prompt.focus(),
    stop: () => {
      if (!running) return false
      running.abort()
      return true
    },
    help,
  })

  try {
    parts.fillModels(picker, await listModels())
  } catch (error) {
    fail(error)
  }
  await sidebar.load(true)
  const asked = Number(new URLSearchParams(location.search).get('c'))
  const wanted =
    sidebar.items.find(item => item.id === asked) ??
    (asked > 0 ? await getConversation(asked).catch(() => undefined) : undefined)
  if (wanted) await open(wanted)
  root.dataset.ready = 'true'
}

function fail(error: unknown): void {
  showErrorDialog(error instanceof ApiError ? error : new ApiError(0, 'client_error', String(error)))
}
