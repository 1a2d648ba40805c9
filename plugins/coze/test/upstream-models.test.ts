/**
 * The console's "Fetch models" for a Coze channel: Coze has no model list of its own, so the
 * provider answers the bots the channel's settings map, from the form or the saved channel.
 */
import t from 'tap'
import { BOT, bootCoze, cozeChannel, mockCoze, OTHER_BOT, pat, ROOT } from './helpers.js'

t.test("a Coze channel's models are the bots its settings map", async t => {
  const coze = await mockCoze(t, undefined)
  const { gateway } = await bootCoze(t)
  const fetchModels = (payload: Record<string, unknown>) =>
    gateway.inject({
      method: 'POST',
      url: '/api/admin/channels/upstream-models',
      headers: { authorization: `Bearer ${ROOT}` },
      payload,
    })

  const unsaved = await fetchModels({
    provider: 'coze',
    base_url: coze.url,
    key: pat(),
    settings: { bots: { writer: BOT, 'agent-b': OTHER_BOT } },
  })
  t.equal(unsaved.statusCode, 200)
  t.same(unsaved.json().items, [{ id: 'agent-b' }, { id: 'writer' }])

  const id = await cozeChannel(gateway, coze, { keys: [pat()], bots: { 'coze-bot': BOT } })
  const saved = await fetchModels({ channel_id: id })
  t.same(saved.json().items, [{ id: 'coze-bot' }], "the saved channel's bots")
  t.equal(coze.chats.length, 0, 'no chat went to Coze')
})
