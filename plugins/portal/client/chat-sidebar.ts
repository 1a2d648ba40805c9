import {
  archiveConversation,
  deleteAllConversations,
  deleteConversations,
  getConversation,
  listConversations,
  renameConversation,
  type ServerConversation,
} from './conversations-api.js'
import { showErrorDialog } from './dialog.js'
import { element, role, text } from './dom.js'
import { ApiError, loadSession, send } from './session.js'

/*
 * The conversation sidebar of the chat page in `server` history mode: the signed-in user's
 * stored conversations (search, load more, rename, archive, delete, delete all, export), the
 * archived ones behind a toggle at its foot (unarchive, delete; they open and continue like any
 * other), a drawer on phones, and titles that arrive from the server's title job without a
 * reload (polled).
 */

const TITLE_POLL_MS = 1500
const TITLE_POLL_TRIES = 20

export class ConversationSidebar {
  items: ServerConversation[] = []
  #total = 0
  #page = 1
  #query = ''
  #current: number | undefined
  /** Which list shows: the active conversations (`false`) or the archived ones. */
  #archived = false
  readonly #list: HTMLUListElement
  readonly #more: HTMLButtonElement
  readonly #search: HTMLInputElement
  readonly #heading: HTMLElement
  readonly #empty: HTMLElement
  readonly #view: HTMLButtonElement

  constructor(
    private readonly root: HTMLElement,
    private readonly actions: { open(conversation: ServerConversation | undefined): void; busy(): boolean },
  ) {
    root.dataset.history = 'server'
    const sidebar = root.querySelector<HTMLElement>('.chat-sidebar') as HTMLElement
    sidebar.id = 'chat-sidebar'
    this.#list = role<HTMLUListElement>(root, 'conversations')
    this.#search = element('input', {
      className: 'chat-search',
      attributes: {
        type: 'search',
        placeholder: text('search_conversations'),
        'aria-label': text('search_conversations'),
      },
    })
    this.#search.dataset.role = 'conversation-search'
    let typing: ReturnType<typeof setTimeout> | undefined
    this.#search.addEventListener('input', () => {
      clearTimeout(typing)
      typing = setTimeout(() => void this.load(true), 250)
    })
    sidebar.querySelector('[data-action="new-chat"]')?.after(this.#search)
    this.#more = element('button', {
      className: 'btn btn-quiet chat-more',
      text: text('load_more'),
      attributes: { type: 'button', 'data-action': 'load-more' },
    })
    this.#more.hidden = true
    this.#more.addEventListener('click', () => void this.load(false))
    this.#list.after(this.#more)
    // The archived list: a heading above it, a line when it is empty, the toggle at the foot.
    this.#heading = element('h2', { className: 'chat-list-heading', text: text('archived_heading') })
    this.#heading.hidden = true
    this.#list.before(this.#heading)
    this.#empty = element('p', { className: 'chat-list-empty', text: text('archived_none') })
    this.#empty.dataset.role = 'conversations-empty'
    this.#empty.hidden = true
    this.#list.after(this.#empty)
    this.#view = element('button', {
      className: 'btn btn-quiet chat-view-toggle',
      text: text('archived'),
      attributes: { type: 'button', 'data-action': 'toggle-archived' },
    })
    this.#view.addEventListener('click', () => void this.showArchived(!this.#archived))
    this.#more.after(this.#view)

    const privacy = role(root, 'privacy')
    role(privacy, 'privacy-text').textContent = text('privacy_server')
    privacy.hidden = false
    const exports = element('div', { className: 'chat-export' })
    for (const format of ['json', 'markdown'] as const) {
      const button = element('button', {
        className: 'btn btn-quiet',
        text: text(`export_${format}`),
        attributes: { type: 'button', 'data-action': `export-${format}` },
      })
      button.addEventListener('click', () => void download(format))
      exports.append(button)
    }
    privacy.append(exports)
    // "Clear all" deletes every stored conversation (after a confirmation), not a local copy.
    privacy.querySelector('[data-action="clear-all"]')?.addEventListener('click', () => {
      if (!confirm(text('confirm_delete_all'))) return
      void deleteAllConversations().then(() => {
        this.actions.open(undefined)
        return this.load(true)
      }, fail)
    })

    // Phones: the sidebar is a drawer behind a toolbar button (portal.css).
    const toggle = element('button', {
      className: 'btn btn-quiet chat-drawer-button',
      attributes: {
        type: 'button',
        'data-action': 'toggle-conversations',
        'aria-controls': 'chat-sidebar',
        'aria-expanded': 'false',
      },
    })
    toggle.title = text('conversations')
    toggle.append(
      element('span', { text: '☰', attributes: { 'aria-hidden': 'true' } }),
      element('span', { className: 'visually-hidden', text: text('conversations') }),
    )
    toggle.addEventListener('click', () => this.drawer(root.dataset.drawer !== 'open'))
    root.querySelector('.chat-toolbar')?.prepend(toggle)
    // An open drawer closes on a tap beside it, on Escape and on "New chat".
    root.querySelector('.chat-main')?.addEventListener('click', event => {
      if (root.dataset.drawer === 'open' && !toggle.contains(event.target as Node)) this.drawer(false)
    })
    document.addEventListener('keydown', event => {
      if (event.key === 'Escape' && root.dataset.drawer === 'open') this.drawer(false)
    })
    sidebar.querySelector('[data-action="new-chat"]')?.addEventListener('click', () => this.drawer(false))
  }

  drawer(open: boolean): void {
    this.root.dataset.drawer = open ? 'open' : 'closed'
    this.root.querySelector('[data-action="toggle-conversations"]')?.setAttribute('aria-expanded', String(open))
  }

  /** Switches between the active list and the archived one (the search applies to either). */
  async showArchived(archived: boolean): Promise<void> {
    this.#archived = archived
    this.root.dataset.sidebarList = archived ? 'archived' : 'active'
    this.items = []
    this.#total = 0
    this.render()
    await this.load(true)
  }

  /** The first page again (`reset`, e.g. a new search) or the next one. */
  async load(reset: boolean): Promise<void> {
    this.#query = this.#search.value.trim()
    const page = reset ? 1 : this.#page + 1
    const archived = this.#archived
    try {
      const found = await listConversations(this.#query, page, archived)
      if (archived !== this.#archived) return // the other list was chosen meanwhile
      this.items = reset
        ? found.items
        : [...this.items, ...found.items.filter(item => !this.items.some(known => known.id === item.id))]
      this.#total = found.total
      this.#page = page
      this.render()
    } catch (error) {
      fail(error)
    }
  }

  select(id: number | undefined): void {
    this.#current = id
    this.render()
  }

  /**
   * A conversation just created or answered: first in its list. An active one while the archived
   * list shows (a new chat) brings the active list back; an archived one stays where it is.
   */
  touch(conversation: ServerConversation): void {
    if (conversation.archived !== this.#archived) {
      if (!conversation.archived) void this.showArchived(false)
      return
    }
    const known = this.items.filter(item => item.id !== conversation.id)
    if (known.length === this.items.length) this.#total++
    this.items = [conversation, ...known]
    this.render()
  }

  /** Polls the conversation until the title job has named it, then shows the new title. */
  async awaitTitle(conversation: ServerConversation): Promise<void> {
    for (let attempt = 0; attempt < TITLE_POLL_TRIES; attempt++) {
      await new Promise(resolve => setTimeout(resolve, TITLE_POLL_MS))
      const fresh = await getConversation(conversation.id).catch(() => undefined)
      if (!fresh) return
      const known = this.items.find(item => item.id === fresh.id)
      if (known && known.title !== fresh.title) {
        known.title = fresh.title
        known.title_source = fresh.title_source
        this.render()
      }
      if (fresh.title_source === 'generated' || fresh.title_source === 'user') return
    }
  }

  render(): void {
    this.#list.replaceChildren(...this.items.map(conversation => this.#item(conversation)))
    this.#more.hidden = this.items.length >= this.#total
    this.#heading.hidden = !this.#archived
    this.#empty.hidden = !this.#archived || this.items.length > 0
    this.#view.textContent = text(this.#archived ? 'back_to_conversations' : 'archived')
  }

  /** Drops a conversation from the list shown (archived, unarchived or deleted). */
  #drop(conversation: ServerConversation): void {
    this.items = this.items.filter(known => known.id !== conversation.id)
    this.#total = Math.max(0, this.#total - 1)
    this.render()
  }

  #item(conversation: ServerConversation): HTMLLIElement {
    const item = element('li', { className: 'chat-list-row' })
    item.dataset.conversationId = String(conversation.id)
    const open = element('button', {
      className: 'chat-list-item',
      text: conversation.title || text('untitled'),
      attributes: { type: 'button' },
    })
    if (conversation.id === this.#current) open.setAttribute('aria-current', 'true')
    open.addEventListener('click', () => {
      this.drawer(false)
      this.actions.open(conversation)
    })
    const rename = element('button', {
      className: 'chat-list-action',
      text: '✎',
      attributes: { type: 'button', 'data-action': 'rename', 'aria-label': text('rename'), title: text('rename') },
    })
    rename.addEventListener('click', () => {
      const title = prompt(text('rename_prompt'), conversation.title)?.trim()
      if (!title) return
      void renameConversation(conversation.id, title).then(fresh => {
        conversation.title = fresh.title
        conversation.title_source = fresh.title_source
        this.render()
      }, fail)
    })
    // Archive (or, in the archived list, unarchive); archiving the open conversation starts a new chat.
    const action = this.#archived ? 'unarchive' : 'archive'
    const archive = element('button', {
      className: 'chat-list-action',
      text: this.#archived ? '⤒' : '⤓',
      attributes: { type: 'button', 'data-action': action, 'aria-label': text(action), title: text(action) },
    })
    archive.addEventListener('click', () => {
      const archived = !this.#archived
      if (archived && conversation.id === this.#current && this.actions.busy()) return
      void archiveConversation(conversation.id, archived).then(fresh => {
        conversation.archived = fresh.archived
        if (archived && conversation.id === this.#current) this.actions.open(undefined)
        this.#drop(conversation)
      }, fail)
    })
    const remove = element('button', {
      className: 'chat-list-action',
      text: '×',
      attributes: { type: 'button', 'data-action': 'delete', 'aria-label': text('delete'), title: text('delete') },
    })
    remove.addEventListener('click', () => {
      if (this.actions.busy() || !confirm(text('confirm_delete_conversation'))) return
      void deleteConversations([conversation.id]).then(() => {
        if (conversation.id === this.#current) this.actions.open(undefined)
        this.#drop(conversation)
      }, fail)
    })
    if (this.#archived) item.append(open, archive, remove)
    else item.append(open, rename, archive, remove)
    return item
  }
}

function fail(error: unknown): void {
  showErrorDialog(error instanceof ApiError ? error : new ApiError(0, 'client_error', String(error)))
}

/** Downloads every conversation (JSON or Markdown) with the session's token, as a file. */
async function download(format: 'json' | 'markdown'): Promise<void> {
  const session = loadSession()
  if (!session) return
  try {
    const response = await send(`/api/conversations/export?format=${format}`, {
      headers: { authorization: `Bearer ${session.access_token}` },
    })
    if (!response.ok) throw new ApiError(response.status, 'export_failed', await response.text())
    const name =
      /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ??
      `conversations.${format === 'json' ? 'json' : 'md'}`
    const link = element('a', { attributes: { href: URL.createObjectURL(await response.blob()), download: name } })
    link.click()
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
  } catch (error) {
    fail(error)
  }
}
