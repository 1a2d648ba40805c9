import { listModels, streamChat, type ChatModel } from './chat-api.js'
import { ChatSettingsPanel } from './chat-settings.js'
import type { UploadLimits } from './chat-attach.js'
import { imagesOf, withImages } from './chat-images.js'
import { showErrorDialog } from './dialog.js'
import { element, role, text } from './dom.js'
import { History, type Conversation, type HistoryMode, type StoredMessage } from './history.js'
import { loadMarkdown, MarkdownView } from './markdown.js'
import { ApiError, loadSession } from './session.js'
import { installChatShortcuts } from './shortcuts.js'
import { streamInto } from './stream-answer.js'

/*
 * The chat page: model picker, conversation list, streaming answers with a stop button and a
 * "thinking" panel for reasoning deltas, error dialogs. Questions, reasoning and titles reach
 * the page through textContent; answers through the Markdown renderer (markdown.ts), whose
 * HTML DOMPurify has cleaned.
 */

const MODEL_KEY = 'parley.model'

export interface ChatSettings {
  readonly chat_history_mode: HistoryMode
  /** Image attachments; null (or absent) when the uploads plugin is not loaded. */
  readonly uploads?: (UploadLimits & { readonly guests: boolean }) | null
}

export async function startChat(root: HTMLElement, settings: ChatSettings): Promise<void> {
  // The answer renderer is a chunk of its own: fetch it now, while the page asks for the models.
  void loadMarkdown()
  const session = loadSession()
  // Server history (the conversations plugin) has its own controller, loaded only when used.
  if (settings.chat_history_mode === 'server' && session)
    return (await import('./chat-server.js')).startServerChat(root, { messageView, fillModels }, settings)
  const history = new History(
    settings.chat_history_mode,
    `parley.history.${session ? `user-${session.user.id}` : 'guest'}`,
  )
  const picker = role<HTMLSelectElement>(root, 'model')
  const log = role<HTMLOListElement>(root, 'log')
  const list = role<HTMLUListElement>(root, 'conversations')
  const composer = role<HTMLFormElement>(root, 'composer')
  const prompt = role<HTMLTextAreaElement>(root, 'prompt')
  const sendButton = role<HTMLButtonElement>(root, 'send')
  const stopButton = role<HTMLButtonElement>(root, 'stop')
  let current: Conversation | undefined
  let running: AbortController | undefined

  // Images attached to the next message (chat-attach.ts, a chunk of its own), when uploads are on for this caller.
  const uploads = settings.uploads
  const attachments =
    uploads && (session || uploads.guests)
      ? new (await import('./chat-attach.js')).Attachments(root, uploads, () =>
          current ? `b-${current.id}` : undefined,
        )
      : undefined

  // The chat's system prompt and temperature (chat-settings.ts), kept with the conversation.
  const tuning = new ChatSettingsPanel(root)
  tuning.onChange(() => {
    if (!current) return
    tuning.applyTo(current)
    if (current.messages.length > 0) history.save(current)
  })

  const privacy = role(root, 'privacy')
  role(privacy, 'privacy-text').textContent = history.persistent ? text('privacy_browser') : text('privacy_memory')
  privacy.hidden = false

  /** While an answer streams, each render keeps the log scrolled to its end. */
  const scrollToEnd = () => {
    if (running) log.scrollTop = log.scrollHeight
  }

  const renderList = () => {
    list.replaceChildren(
      ...history.list().map(conversation => {
        const item = element('li')
        const button = element('button', {
          className: 'chat-list-item',
          text: conversation.title,
          attributes: { type: 'button' },
        })
        if (conversation === current) button.setAttribute('aria-current', 'true')
        button.addEventListener('click', () => open(conversation))
        item.append(button)
        return item
      }),
    )
  }

  const open = (conversation: Conversation | undefined) => {
    if (running) return
    current = conversation
    tuning.show(conversation)
    log.replaceChildren(
      ...(conversation?.messages ?? []).map(message => messageView(message, regenerate, scrollToEnd).item),
    )
    if (conversation && [...picker.options].some(option => option.value === conversation.model))
      picker.value = conversation.model
    renderList()
    prompt.focus()
  }

  const setRunning = (controller: AbortController | undefined) => {
    running = controller
    sendButton.hidden = controller !== undefined
    stopButton.hidden = controller === undefined
    root.dataset.streaming = controller ? 'true' : 'false'
  }

  /** Sends `again` (a regenerated question) or what the box holds. */
  const send = async (again?: string, againImages?: string[]) => {
    const content = again ?? prompt.value.trim()
    const model = picker.value
    let images = againImages
    if (again === undefined && attachments && !attachments.empty && !running && model !== '') {
      images = await attachments.keys()
      if (!images) return
    }
    if ((content === '' && !images?.length) || running || model === '') return
    const conversation = current ?? history.create(model, content.slice(0, 60) || text('attach_image'))
    current = conversation
    conversation.model = model
    tuning.applyTo(conversation)
    const request = [
      ...(conversation.system ? [{ role: 'system' as const, content: conversation.system }] : []),
      ...conversation.messages.map(({ role: r, content: c, images: i }) => ({ role: r, content: withImages(c, i) })),
      { role: 'user' as const, content: withImages(content, images) },
    ]
    const question: StoredMessage = { role: 'user', content, ...(images?.length ? { images } : {}) }
    attachments?.clear()
    conversation.messages.push(question)
    const questionView = messageView(question, regenerate, scrollToEnd)
    log.append(questionView.item)
    if (again === undefined) prompt.value = ''
    const answer: StoredMessage = { role: 'assistant', content: '' }
    const view = messageView(answer, regenerate, scrollToEnd)
    const controller = new AbortController()
    setRunning(controller)
    try {
      const options = conversation.temperature === undefined ? {} : { temperature: conversation.temperature }
      await streamInto(log, view, answer, streamChat(model, request, controller.signal, options), error =>
        showErrorDialog(error instanceof ApiError ? error : new ApiError(0, 'client_error', String(error))),
      )
    } finally {
      setRunning(undefined)
      if (answer.content !== '' || answer.reasoning) conversation.messages.push(answer)
      else {
        // Nothing came back: drop the exchange and give the question back to the box.
        view.item.remove()
        questionView.item.remove()
        conversation.messages.pop()
        if (!prompt.value) prompt.value = content
      }
      if (conversation.messages.length > 0) history.save(conversation)
      renderList()
    }
  }

  /** Drops the last answer and asks its question again. */
  function regenerate(): void {
    const messages = current?.messages
    if (running || !messages) return
    if (messages.at(-1)?.role === 'assistant') {
      messages.pop()
      log.lastElementChild?.remove()
    }
    const question = messages.at(-1)
    if (question?.role !== 'user') return
    messages.pop()
    log.lastElementChild?.remove()
    void send(question.content, question.images)
  }

  composer.addEventListener('submit', event => {
    event.preventDefault()
    void send()
  })
  prompt.addEventListener('keydown', event => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault()
      void send()
    }
  })
  stopButton.addEventListener('click', () => running?.abort())
  root.querySelector('[data-action="new-chat"]')?.addEventListener('click', () => open(undefined))
  const shortcuts = role<HTMLDialogElement>(document, 'shortcuts')
  const help = () => {
    if (!shortcuts.open) shortcuts.showModal()
  }
  root.querySelector('[data-action="shortcuts"]')?.addEventListener('click', help)
  installChatShortcuts({
    newChat: () => open(undefined),
    focusPrompt: () => prompt.focus(),
    stop: () => {
      if (!running) return false
      running.abort()
      return true
    },
    help,
  })
  root.querySelector('[data-action="clear-all"]')?.addEventListener('click', () => {
    if (!confirm(text('confirm_clear'))) return
    history.clear()
    open(undefined)
  })
  picker.addEventListener('change', () => localStorage.setItem(MODEL_KEY, picker.value))

  renderList()
  try {
    fillModels(picker, await listModels())
  } catch (error) {
    if (error instanceof ApiError) showErrorDialog(error)
    else throw error
  }
  root.dataset.ready = 'true'
}

export function fillModels(picker: HTMLSelectElement, models: readonly ChatModel[]): void {
  picker.replaceChildren(
    ...models.map(model => {
      const label = model.display_name || model.name
      // The user's own models (My models) say so: their names are the user's, not the catalog's.
      const shown = model.personal ? `${label} · ${text('personal')}` : label
      return element('option', { text: shown, attributes: { value: model.name } })
    }),
  )
  if (models.length === 0) picker.append(element('option', { text: text('no_models'), attributes: { value: '' } }))
  // `/chat?model=…` (the models page's "Chat with it") wins over the model used last.
  const asked = new URLSearchParams(location.search).get('model')
  const remembered = localStorage.getItem(MODEL_KEY)
  const chosen = [asked, remembered].find(name => name && models.some(model => model.name === name))
  if (chosen) picker.value = chosen
  if (chosen === asked && asked) localStorage.setItem(MODEL_KEY, asked)
}

/**
 * One message in the log. `update()` shows the (growing) message: the answer is rendered at the
 * next animation frame; `finish()` renders the complete answer at once.
 */
export function messageView(
  message: StoredMessage,
  regenerate: () => void,
  rendered: () => void,
): { item: HTMLLIElement; update(): void; finish(): void } {
  const item = element('li', { className: `chat-message chat-message-${message.role}` })
  item.dataset.role = message.role === 'user' ? 'message-user' : 'message-assistant'
  item.append(
    element('span', {
      className: 'chat-message-author',
      text: message.role === 'user' ? text('you') : text('assistant'),
    }),
  )
  const thinking = element('details', { className: 'chat-thinking' })
  thinking.dataset.role = 'thinking'
  thinking.open = true
  thinking.append(element('summary', { text: text('thinking') }))
  const thoughts = element('div', { className: 'chat-thinking-text' })
  thinking.append(thoughts)
  thinking.hidden = true
  const body = element('div', { className: 'chat-message-body' })
  body.dataset.role = 'message-body'
  item.append(thinking, body)
  if (message.images?.length) item.insertBefore(imagesOf(message.images), body)
  if (message.role === 'assistant') {
    // Regenerate shows on the last answer only (portal.css).
    const actions = element('div', { className: 'chat-message-actions' })
    const copy = element('button', {
      className: 'link-button',
      text: text('copy'),
      attributes: { type: 'button', 'data-action': 'copy' },
    })
    copy.addEventListener('click', () => {
      void navigator.clipboard?.writeText(message.content).then(
        () => (copy.textContent = text('copied')),
        () => undefined,
      )
    })
    const again = element('button', {
      className: 'link-button chat-regenerate',
      text: text('regenerate_answer'),
      attributes: { type: 'button', 'data-action': 'regenerate' },
    })
    again.addEventListener('click', regenerate)
    actions.append(copy, again)
    item.append(actions)
  }
  const markdown = message.role === 'assistant' ? new MarkdownView(body, rendered) : undefined
  const update = () => {
    if (message.reasoning) {
      thinking.hidden = false
      thoughts.textContent = message.reasoning
    }
    if (markdown) markdown.set(message.content)
    else body.textContent = message.content
  }
  const finish = () => markdown?.finish(message.content)
  update()
  if (message.content !== '') finish()
  return { item, update, finish }
}
